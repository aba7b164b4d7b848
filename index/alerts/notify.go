package alerts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
)

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

// depth is how many levels an org path has below the group ("" is 0).
func depth(org string) int {
	if org == "" {
		return 0
	}
	return strings.Count(org, "/") + 1
}

func orgName(node string) string {
	if node == "" {
		return "the group"
	}
	return node
}
