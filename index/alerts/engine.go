package alerts

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/index"
	"dongting/index/store"
)

// maxSkew is how far ahead of the engine's clock a record may be dated and
// still be evaluated now: the skew ingest allows (analyzer.MaxClockSkew),
// so nothing ingest accepts waits unevaluated. Ingest refuses later times;
// this guards records stored before it did.
var maxSkew = analyzer.MaxClockSkew

// Options configure an engine.
type Options struct {
	Config *Config // nil: the stored configuration, else the default must be given
	Log    *slog.Logger
	Now    func() time.Time
	Client *http.Client // webhook client; nil: 10 s timeout
	// Tick is how often escalations and due deliveries are checked (1 s).
	Tick time.Duration
	// MaxAttempts before a delivery is moved to the dead letters (15).
	MaxAttempts int
	// Backoff is the first retry delay, doubled per attempt up to an hour (1 s).
	Backoff time.Duration
}

// Engine evaluates, stores and delivers alerts.
type Engine struct {
	db   *store.Store
	loc  *time.Location
	opt  Options
	mu   sync.RWMutex
	cfg  *Config
	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}

	statsMu sync.Mutex
	stats   Stats

	// days counts records per org node × scene × day over the spike
	// baseline window: derived (from the rollups at open), kept in memory
	// because a durable counter cost a third of the alert evaluation.
	dayMu sync.Mutex
	days  map[string]dayState
}

// Stats count what the engine did since start (metrics).
type Stats struct {
	Raised    map[string]int64 `json:"raised"` // new alerts by source
	Delivered int64            `json:"delivered"`
	Failed    int64            `json:"failed_attempts"`
	Unrouted  int64            `json:"unrouted"` // notifications for a node no receiver manages
	EvalTime  time.Duration    `json:"-"`        // spent evaluating inside commits
}

// Open attaches an engine to a corpus: it registers the evaluation on
// every commit (call before the first write) and starts the escalation
// and delivery loop. defaults is used when no configuration is stored.
func Open(c *index.Corpus, defaults *Config, opt Options) (*Engine, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Tick <= 0 {
		opt.Tick = time.Second
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 15
	}
	if opt.Backoff <= 0 {
		opt.Backoff = time.Second
	}
	e := &Engine{db: c.Store(), loc: c.Location(), opt: opt, kick: make(chan struct{}, 1), done: make(chan struct{}),
		stats: Stats{Raised: map[string]int64{}}}
	err := e.db.Update(func(tx *bolt.Tx) error {
		if err := ensureSchema(tx); err != nil {
			return err
		}
		if v := tx.Bucket(bucketAlertMT).Get(keyConfig); v != nil {
			var cfg Config
			if err := json.Unmarshal(v, &cfg); err != nil {
				return fmt.Errorf("stored routing: %w", err)
			}
			e.cfg = &cfg
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: open: %w", err)
	}
	if opt.Config != nil {
		e.cfg = opt.Config
	}
	if e.cfg == nil {
		e.cfg = defaults
	}
	if e.cfg == nil {
		return nil, errors.New("alerts: no routing configuration")
	}
	if err := e.cfg.Validate(); err != nil {
		return nil, err
	}
	if err := e.loadDays(c); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	c.Store().OnCommit(e.evaluate)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	go e.run(ctx)
	return e, nil
}

// Close stops the loop; undelivered notifications stay in the outbox.
func (e *Engine) Close() {
	e.stop()
	<-e.done
}

// Config is the routing in force, secrets hidden.
func (e *Engine) Config() *Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg.redacted()
}

// SetConfig validates and stores a new routing. A receiver whose secret is
// the redacted placeholder keeps its current secret.
func (e *Engine) SetConfig(c *Config, by string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, r := range c.Receivers {
		if r.Secret == "********" {
			if old, ok := e.cfg.receiver(r.ID); ok {
				c.Receivers[i].Secret = old.Secret
			}
		}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	err := e.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAlertMT).Put(keyConfig, c.marshal()) })
	if err != nil {
		return fmt.Errorf("alerts: store routing: %w", err)
	}
	e.cfg = c
	e.opt.Log.Info("alert routing changed", "by", by)
	return nil
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	out := e.stats
	out.Raised = make(map[string]int64, len(e.stats.Raised))
	for k, v := range e.stats.Raised {
		out.Raised[k] = v
	}
	return out
}

// evaluate runs inside each record commit.
func (e *Engine) evaluate(tx *bolt.Tx, changes []store.Change) error {
	start := time.Now()
	e.mu.RLock()
	cfg := e.cfg
	e.mu.RUnlock()
	now := e.opt.Now().UTC()
	raised := map[string]int64{}
	staged := &dayStage{counts: map[string]uint64{}, thresholds: map[string]uint64{}}
	tx.OnCommit(func() { e.publish(staged) })
	// The days a record within max_age is compared against reach
	// baseline_days further back.
	oldest := now.AddDate(0, 0, -dayWindow(cfg))
	for _, ch := range changes {
		st := ch.New
		if st == nil || st.Deleted || st.Analysis == nil || ch.Retag {
			continue
		}
		at, err := time.Parse(time.RFC3339, st.Record.OccurredAt)
		if err != nil || at.Before(oldest) {
			continue // history: counted in rollups, no alert
		}
		if at.After(now.Add(maxSkew)) {
			continue // dated in the future: neither news now nor part of a day yet
		}
		var spikes []spikeKey
		if ch.Old == nil && st.Record.Org != "" { // a re-send is not another record of the day
			spikes = e.countDay(st, at, staged)
		}
		if now.Sub(at) > time.Duration(cfg.MaxAge) {
			continue // counted into the spike baseline only
		}
		sigs, err := e.signals(tx, cfg, st, at, spikes, staged)
		if err != nil {
			return err
		}
		for _, s := range sigs {
			if _, ok := cfg.Sources[s.source]; !ok {
				continue // source switched off
			}
			recKey := key(st.Record.ID, s.source, s.org)
			if tx.Bucket(bucketByRec).Get(recKey) != nil {
				continue // a re-send of a record that already raised this
			}
			seq, isNew, err := e.raise(tx, cfg, st, s, now)
			if err != nil {
				return err
			}
			if isNew {
				raised[s.source]++
			}
			if err := tx.Bucket(bucketByRec).Put(recKey, store.SeqKey(seq)); err != nil {
				return err
			}
		}
	}
	e.statsMu.Lock()
	for k, v := range raised {
		e.stats.Raised[k] += v
	}
	e.stats.EvalTime += time.Since(start)
	e.statsMu.Unlock()
	if len(raised) > 0 {
		e.wake()
	}
	return nil
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// depth is how many levels an org path has below the group ("" is 0).
func depth(org string) int {
	if org == "" {
		return 0
	}
	return strings.Count(org, "/") + 1
}

// raise adds a record to the open alert of its group, or opens one and
// queues its notifications.
func (e *Engine) raise(tx *bolt.Tx, cfg *Config, st *store.Stored, s signal, now time.Time) (uint64, bool, error) {
	route := cfg.Sources[s.source]
	org := st.Record.Org
	if s.org != "" {
		org = s.org
	}
	gk := key(s.source, org, s.scene)
	alerts, groups := tx.Bucket(bucketAlerts), tx.Bucket(bucketGroups)
	// The group entry is removed when its alert is resolved or closed.
	if seq, ok := liveGroup(groups, gk, now); ok {
		if s.source == "spike" {
			return seq, false, nil // one spike alert per window, not one per record
		}
		n, err := addMember(tx, seq, st.Record.ID, now)
		if err != nil {
			return 0, false, err
		}
		if route.Severity != "P1" && !route.Updates {
			return seq, false, nil
		}
		return seq, false, e.tellUpdate(tx, cfg, route, seq, n, st.Record.ID, now)
	}
	seq, err := alerts.NextSequence()
	if err != nil {
		return 0, false, err
	}
	al := &Alert{ID: alertID(seq), Seq: seq, Source: s.source, Severity: route.Severity, Org: org, Scene: s.scene,
		Title: s.title, Redline: st.Analysis.Redline, Count: 1, RecordIDs: []string{st.Record.ID}, Status: StatusOpen,
		Notified: []Notice{}, FirstAt: now, LastAt: now, GroupUntil: now.Add(time.Duration(cfg.Window))}
	if s.source != "redline" {
		al.Redline = nil
	}
	al.History = append(al.History, Event{At: now, By: "dongting", Action: "opened"})
	if len(route.Escalate) > 0 {
		t := now.Add(time.Duration(route.Escalate[0].After))
		al.NextEscalation = &t
	}
	told := map[int]bool{}
	for _, l := range route.Notify {
		if lv := levelOn(al.Org, l); !told[lv] {
			told[lv] = true
			if err := e.notify(tx, cfg, al, notice{event: "alert.opened", level: l}, now); err != nil {
				return 0, false, err
			}
		}
	}
	if err := putAlert(tx, al); err != nil {
		return 0, false, err
	}
	if _, err := addMember(tx, seq, st.Record.ID, now); err != nil {
		return 0, false, err
	}
	entry := append(store.SeqKey(seq), store.SeqKey(uint64(al.GroupUntil.UnixNano()))...)
	if s.source == "spike" {
		// One burst, one alert, at the most specific node that spiked:
		// while it is open, the same scene's spikes on the node's
		// ancestors join it instead of raising their own (signals puts the
		// deepest node first). An ancestor whose own alert is open keeps it.
		prefixes := analyzer.OrgPrefixes(org)
		for _, anc := range prefixes[:len(prefixes)-1] {
			ak := key(s.source, anc, s.scene)
			if _, ok := liveGroup(groups, ak, now); ok {
				continue
			}
			if err := groups.Put(ak, entry); err != nil {
				return 0, false, err
			}
		}
	}
	return seq, true, groups.Put(gk, entry)
}

// liveGroup is the alert a group key points to while its window lasts.
func liveGroup(groups *bolt.Bucket, gk []byte, now time.Time) (uint64, bool) {
	v := groups.Get(gk)
	if len(v) != 16 || now.UnixNano() >= int64(binary.BigEndian.Uint64(v[8:])) {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// tellUpdate sends alert.updated for a record that joined alert seq (its
// n-th) to every level told of the alert so far: the first notification
// and the escalation steps run.
func (e *Engine) tellUpdate(tx *bolt.Tx, cfg *Config, route Route, seq uint64, n uint64, record string, now time.Time) error {
	al, err := getAlert(tx, seq)
	if err != nil {
		return err
	}
	levels := slices.Clone(route.Notify)
	for i := 0; i < al.Step && i < len(route.Escalate); i++ {
		levels = append(levels, route.Escalate[i].Level)
	}
	told := map[int]bool{}
	for _, l := range levels {
		if lv := levelOn(al.Org, l); !told[lv] {
			told[lv] = true
			if err := e.notify(tx, cfg, al, notice{event: "alert.updated", level: l, n: int(n), record: record}, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// schedule moves an alert's entry in the escalation index from prev to its
// current next escalation (none unless it is open).
func schedule(tx *bolt.Tx, al *Alert, prev *time.Time) error {
	due := tx.Bucket(bucketDue)
	if prev != nil {
		if err := due.Delete(dueKey(*prev, al.Seq)); err != nil {
			return err
		}
	}
	if al.Status == StatusOpen && al.NextEscalation != nil {
		return due.Put(dueKey(*al.NextEscalation, al.Seq), nil)
	}
	return nil
}

// Delivery is one webhook call waiting in the outbox.
type Delivery struct {
	// Key is the idempotency key: alert, event (with the escalation step or
	// the update's number), level and receiver; the same on every retry.
	Key       string    `json:"key"`
	Receiver  string    `json:"receiver"`
	Event     string    `json:"event"`
	Alert     string    `json:"alert,omitempty"` // the alert's id ("" in outboxes of earlier releases: read from Key)
	Level     int       `json:"level"`           // the level it is sent for
	Payload   []byte    `json:"payload"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
}

// Payload is what a receiver gets. It names records by id: their words
// stay in Dongting, behind its API.
type Payload struct {
	Event   string    `json:"event"` // alert.opened, alert.escalated, alert.updated
	Level   int       `json:"level"` // the level it is sent for (see levelOn)
	Alert   *Alert    `json:"alert"`
	SentFor string    `json:"sent_for"`         // the org node whose manager this is for
	Record  string    `json:"record,omitempty"` // alert.updated: the record that joined
	At      time.Time `json:"at"`
}

// notice is one notification to queue: event for a level as configured.
type notice struct {
	event  string
	level  int
	n      int    // escalation step (from 1) or update number (the alert's count); 0 for alert.opened
	record string // alert.updated: the record that joined
}

// levelOn is the level a notification for level reaches on the node org:
// the level itself, or, where the node has no such level above it (a
// region has no city), the node's own level, the nearest that exists.
func levelOn(org string, level int) int { return min(level, depth(org)) }

// nodeAt is org's ancestor (or org itself) at level; "" is the group.
func nodeAt(org string, level int) string {
	if level <= 0 || org == "" {
		return ""
	}
	parts := strings.Split(org, "/")
	return strings.Join(parts[:min(level, len(parts))], "/")
}

// notify queues one delivery per receiver of the level n is for (see
// levelOn) and, for the opening and escalations, notes in the alert's
// history whom it was sent to, or that no receiver manages the node.
func (e *Engine) notify(tx *bolt.Tx, cfg *Config, al *Alert, n notice, now time.Time) error {
	level := levelOn(al.Org, n.level)
	node := nodeAt(al.Org, level)
	rs := cfg.receiversFor(node)
	if action, ok := map[string]string{"alert.opened": "notified", "alert.escalated": "escalated"}[n.event]; ok {
		note := "no receiver manages " + orgName(node)
		if len(rs) > 0 {
			ids := make([]string, len(rs))
			for i, r := range rs {
				ids[i] = r.ID
			}
			note = "queued for " + strings.Join(ids, ", ")
		}
		lv := level
		al.History = append(al.History, Event{At: now, By: "dongting", Action: action, Level: &lv, Note: note})
	}
	if len(rs) == 0 {
		e.statsMu.Lock()
		e.stats.Unrouted++
		e.statsMu.Unlock()
		return nil
	}
	snapshot := *al
	snapshot.History = nil
	body, err := json.Marshal(Payload{Event: n.event, Level: level, Alert: &snapshot, SentFor: node, Record: n.record, At: now})
	if err != nil {
		return err
	}
	event := n.event
	if n.n > 0 {
		event = fmt.Sprintf("%s#%d", n.event, n.n)
	}
	out := tx.Bucket(bucketOutbox)
	for _, r := range rs {
		seq, err := out.NextSequence()
		if err != nil {
			return err
		}
		d := Delivery{Key: fmt.Sprintf("%s:%s:%d:%s", al.ID, event, level, r.ID), Receiver: r.ID, Event: n.event,
			Alert: al.ID, Level: level, Payload: body, NextAt: now, Created: now}
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := out.Put(store.SeqKey(seq), b); err != nil {
			return err
		}
	}
	return nil
}

func orgName(node string) string {
	if node == "" {
		return "the group"
	}
	return node
}
