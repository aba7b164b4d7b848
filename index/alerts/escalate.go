package alerts

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Escalate tells the next level about every open alert whose
// acknowledgement is overdue.
func (e *Engine) Escalate() error {
	now := e.opt.Now().UTC()
	e.mu.RLock()
	cfg := e.cfg
	e.mu.RUnlock()
	// The escalation index is ordered by time: read only what is due.
	var due []uint64
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) <= now.UnixNano(); k, _ = c.Next() {
			due = append(due, binary.BigEndian.Uint64(k[8:]))
		}
		return nil
	})
	if err != nil || len(due) == 0 {
		return err
	}
	err = e.db.Update(func(tx *bolt.Tx) error {
		for _, seq := range due {
			al, err := getAlert(tx, seq)
			if err != nil {
				return err
			}
			if al.Status != StatusOpen || al.NextEscalation == nil || al.NextEscalation.After(now) {
				continue // acknowledged, or escalated by a concurrent call, since the scan
			}
			route, ok := cfg.Sources[al.Source]
			if !ok || al.Step >= len(route.Escalate) {
				al.NextEscalation = nil
				if err := putAlert(tx, al); err != nil {
					return err
				}
				continue
			}
			// The payload shows the step being run and when the next is
			// due: after first_at as configured or, when that has passed
			// already (the engine was down), the gap between the steps
			// from now.
			step := route.Escalate[al.Step]
			al.Step++
			al.NextEscalation = nil
			if al.Step < len(route.Escalate) {
				next := route.Escalate[al.Step].After
				t := al.FirstAt.Add(time.Duration(next))
				if !t.After(now) {
					t = now.Add(time.Duration(next - step.After))
				}
				al.NextEscalation = &t
			}
			if err := e.notify(tx, cfg, al, notice{event: "alert.escalated", level: step.Level, n: al.Step}, now); err != nil {
				return err
			}
			if err := putAlert(tx, al); err != nil {
				return err
			}
		}
		return nil
	})
	e.wake()
	return err
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
