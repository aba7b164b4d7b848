package alerts

import (
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/index/store"
)

// Statuses of an alert's lifecycle.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
	StatusClosed       = "closed"
)

// ListQuery filters alerts.
type ListQuery struct {
	Status, Source, Severity []string
	Org                      string // subtree
	Scene                    string
	Before                   string // an alert id: list older ones (paging)
	Limit                    int
}

// List returns alerts newest first.
func (e *Engine) List(q ListQuery) ([]*Alert, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	var before uint64
	if q.Before != "" {
		seq, ok := parseID(q.Before)
		if !ok {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "before", Reason: "not an alert id"}
		}
		before = seq
	}
	var out []*Alert
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAlerts).Cursor()
		k, v := c.Last()
		if q.Before != "" {
			// Seek lands on the first id ≥ before; the one before it is
			// the newest older alert.
			if k, v = c.Seek(store.SeqKey(before)); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil && len(out) < q.Limit; k, v = c.Prev() {
			al, err := decodeAlert(k, v)
			if err != nil {
				return err
			}
			fillMembers(tx, al)
			if matches(al, &q) {
				out = append(out, al)
			}
		}
		return nil
	})
	return out, err
}

func matches(al *Alert, q *ListQuery) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(q.Status, al.Status) && in(q.Source, al.Source) && in(q.Severity, al.Severity) &&
		(q.Scene == "" || al.Scene == q.Scene) &&
		analyzer.InScope(al.Org, q.Org)
}

// Get fetches one alert.
func (e *Engine) Get(id string) (*Alert, error) {
	seq, ok := parseID(id)
	if !ok {
		return nil, store.ErrNotFound
	}
	var al *Alert
	err := e.db.View(func(tx *bolt.Tx) error {
		var err error
		al, err = getAlert(tx, seq)
		return err
	})
	return al, err
}

// ErrTransition is an action the alert's status does not allow.
var ErrTransition = errors.New("alerts: not allowed in this status")

// transitions: action → statuses it may start from, and where it leads.
var transitions = map[string]struct {
	from []string
	to   string
}{
	"acknowledge": {[]string{StatusOpen}, StatusAcknowledged},
	"resolve":     {[]string{StatusOpen, StatusAcknowledged}, StatusResolved},
	"close":       {[]string{StatusOpen, StatusAcknowledged, StatusResolved}, StatusClosed},
	"reopen":      {[]string{StatusResolved}, StatusOpen},
}

// Actions are the lifecycle actions.
var Actions = []string{"acknowledge", "resolve", "close", "reopen"}

// Act moves an alert through its lifecycle, recording who, when and why.
// Acknowledging stops the escalation; resolving or closing ends the group,
// so the next record opens a fresh alert.
func (e *Engine) Act(id, action, by, note string) (*Alert, error) {
	t, ok := transitions[action]
	if !ok {
		return nil, fmt.Errorf("alerts: unknown action %q", action)
	}
	seq, ok := parseID(id)
	if !ok {
		return nil, store.ErrNotFound
	}
	now := e.opt.Now().UTC()
	var al *Alert
	err := e.db.Update(func(tx *bolt.Tx) error {
		var err error
		if al, err = getAlert(tx, seq); err != nil {
			return err
		}
		if !slices.Contains(t.from, al.Status) {
			return fmt.Errorf("%w: %s an alert that is %s", ErrTransition, action, al.Status)
		}
		al.Status = t.to
		al.History = append(al.History, Event{At: now, By: by, Action: map[string]string{
			"acknowledge": "acknowledged", "resolve": "resolved", "close": "closed", "reopen": "reopened"}[action], Note: note})
		if t.to != StatusOpen {
			al.NextEscalation = nil
		}
		if t.to == StatusResolved || t.to == StatusClosed {
			if err := endGroup(tx, al); err != nil {
				return err
			}
		}
		return putAlert(tx, al)
	})
	return al, err
}
