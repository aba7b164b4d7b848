package alerts

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/index/store"
)

// signal is one reason a record raises an alert.
type signal struct {
	source       string // the source's name in the table (set by signals)
	scene, title string
	org          string // the node a spike is on; "" = the record's org
}

// candidate is a record inside its commit, as the sources see it.
type candidate struct {
	e      *Engine // its spike day counts
	tx     *bolt.Tx
	cfg    *Config
	st     *store.Stored
	at     time.Time  // when it occurred
	scene  string     // its first scene: the one its own alerts are filed under
	spikes []spikeKey // the day counts it went into (none for a re-send)
	staged *dayStage
}

// source is one reason for alerts: check names the alerts a record raises
// for it, each filed under the source's name.
type source struct {
	name  string
	check func(c *candidate) ([]signal, error)
}

// sources in the order a record's alerts are raised. Each is checked
// even when the routing switches it off (evaluate drops those alerts):
// the state a source keeps (repeat's last complaints, spike's thresholds)
// is updated either way.
var sources = []source{
	{"redline", redlineSignals},
	{"severe", severeSignals},
	{"detractor", detractorSignals},
	{"praise", praiseSignals},
	{"repeat", repeatSignals},
	{"spike", spikeSignals},
}

// signals lists the alert sources a record triggers, updating the repeat
// and spike state as it goes. Titles name red lines, cues and scenes as
// the rules and the taxonomy name them (Chinese), never by id.
func (e *Engine) signals(tx *bolt.Tx, cfg *Config, st *store.Stored, at time.Time, spikes []spikeKey, staged *dayStage) ([]signal, error) {
	c := &candidate{e: e, tx: tx, cfg: cfg, st: st, at: at, scene: firstScene(st), spikes: spikes, staged: staged}
	var out []signal
	for _, src := range sources {
		sigs, err := src.check(c)
		if err != nil {
			return nil, err
		}
		for _, s := range sigs {
			s.source = src.name
			out = append(out, s)
		}
	}
	return out, nil
}

func redlineSignals(c *candidate) ([]signal, error) {
	if c.st.Analysis.Severity != "P1" {
		return nil, nil
	}
	return []signal{{scene: c.scene, title: titled("红线", redlineNames(c.st.Analysis)...)}}, nil
}

func severeSignals(c *candidate) ([]signal, error) {
	if c.st.Analysis.Severity != "P2" {
		return nil, nil
	}
	names := signalNames(c.st.Analysis, func(s analyzer.Signal) bool { return s.Severity == "P2" })
	return []signal{{scene: c.scene, title: titled("严重不满", names...)}}, nil
}

func detractorSignals(c *candidate) ([]signal, error) {
	nps := c.st.Record.NPS
	if nps == nil || *nps > 6 || c.st.Analysis.Sentiment.Label != "negative" {
		return nil, nil
	}
	return []signal{{scene: c.scene, title: titled(fmt.Sprintf("贬损者 NPS %d", *nps), sceneName(c.st, c.scene))}}, nil
}

func praiseSignals(c *candidate) ([]signal, error) {
	if !c.st.Analysis.Praise {
		return nil, nil
	}
	return []signal{{scene: c.scene, title: titled("表扬", sceneName(c.st, c.scene))}}, nil
}

// repeatSignals: the same customer (or household) about the same scene
// within repeat_days. Every negative record becomes the last one seen for
// its scenes.
func repeatSignals(c *candidate) ([]signal, error) {
	r, a := &c.st.Record, c.st.Analysis
	who := r.Customer
	if who == "" {
		for _, k := range []string{"household", "house", "room", "房号"} {
			if v := r.Meta[k]; v != "" && r.Org != "" {
				who = "h:" + r.Org + "/" + v
				break
			}
		}
	}
	if who == "" || a.Sentiment.Label != "negative" {
		return nil, nil
	}
	var out []signal
	seen := c.tx.Bucket(bucketSeen)
	for _, sc := range recordScenes(c.st) {
		k := key(who, sc)
		// value: unix seconds (8 bytes) then the record id
		if v := seen.Get(k); len(v) > 8 && string(v[8:]) != r.ID {
			prev := time.Unix(int64(binary.BigEndian.Uint64(v)), 0)
			if c.at.Sub(prev).Abs() <= time.Duration(c.cfg.RepeatDays)*24*time.Hour {
				out = append(out, signal{scene: sc, title: titled("重复投诉", sceneName(c.st, sc))})
			}
		}
		if err := seen.Put(k, append(store.SeqKey(uint64(c.at.Unix())), r.ID...)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// titled is "kind: name、name" (or kind alone without names).
func titled(kind string, names ...string) string {
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	if len(names) == 0 {
		return kind
	}
	return kind + ": " + strings.Join(slices.Compact(names), "、")
}

func suffixed(s, sep string) string {
	if s == "" {
		return ""
	}
	return s + sep
}

// redlineNames names the record's red lines as their rules do (电梯困人),
// falling back to the id of one whose rule has no name.
func redlineNames(a *analyzer.Analysis) []string {
	var out []string
	for _, id := range a.Redline {
		name := id
		for _, s := range a.Signals {
			if s.Kind == "redline" && s.ID == id && s.Name != "" {
				name = s.Name
				break
			}
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func signalNames(a *analyzer.Analysis, keep func(analyzer.Signal) bool) []string {
	var out []string
	for _, s := range a.Signals {
		if keep(s) && s.Name != "" && !slices.Contains(out, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// sceneName is the scene's name as the record was tagged with it (the
// first name of a tag's path).
func sceneName(st *store.Stored, scene string) string {
	for _, t := range st.Analysis.Tags {
		if t.Scene == scene && len(t.Path) > 0 {
			return t.Path[0]
		}
	}
	return ""
}

func recordScenes(st *store.Stored) []string {
	var scenes []string
	for _, t := range st.Analysis.Tags {
		if t.Scene != "" && !slices.Contains(scenes, t.Scene) {
			scenes = append(scenes, t.Scene)
		}
	}
	return scenes
}

func firstScene(st *store.Stored) string {
	for _, t := range st.Analysis.Tags {
		if t.Scene != "" {
			return t.Scene
		}
	}
	return ""
}
