package alerts

import (
	"encoding/binary"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/index/store"
)

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
		// ancestors join it instead of raising their own (spikeSignals
		// puts the deepest node first). An ancestor whose own alert is
		// open keeps it.
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

// endGroup ends an alert's group, where its entries still point at the
// alert: the next record of the source, node and scene opens a fresh
// alert. A spike alert's ancestors point at it too (raise), and are freed
// with it.
func endGroup(tx *bolt.Tx, al *Alert) error {
	g := tx.Bucket(bucketGroups)
	orgs := []string{al.Org}
	if al.Source == "spike" {
		orgs = analyzer.OrgPrefixes(al.Org)
	}
	for _, org := range orgs {
		gk := key(al.Source, org, al.Scene)
		if v := g.Get(gk); len(v) == 16 && binary.BigEndian.Uint64(v) == al.Seq {
			if err := g.Delete(gk); err != nil {
				return err
			}
		}
	}
	return nil
}
