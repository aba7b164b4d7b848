package alerts

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
)

// Event is one entry of an alert's history.
type Event struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"` // opened, notified, escalated, undelivered, acknowledged, resolved, closed, reopened
	Level  *int      `json:"level,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// Alert is one alert: possibly many records of the same source, org node
// and scene within the grouping window.
type Alert struct {
	ID        string   `json:"id"`
	Seq       uint64   `json:"-"`
	Source    string   `json:"source"`
	Severity  string   `json:"severity"`
	Org       string   `json:"org"`
	Scene     string   `json:"scene,omitempty"`
	Title     string   `json:"title"`
	Redline   []string `json:"redline,omitempty"`
	Count     int      `json:"count"`
	RecordIDs []string `json:"record_ids"` // the first maxRecordIDs
	Status    string   `json:"status"`
	// Notified are the deliveries made: a receiver answered 2xx. Step is
	// how many escalation steps have run; NextEscalation is when the next
	// one is due (absent once acknowledged or when none is left).
	Notified       []Notice   `json:"notified"`
	Step           int        `json:"step"`
	NextEscalation *time.Time `json:"next_escalation,omitempty"`
	FirstAt        time.Time  `json:"first_at"`
	LastAt         time.Time  `json:"last_at"`
	GroupUntil     time.Time  `json:"group_until"`
	History        []Event    `json:"history"`
}

const maxRecordIDs = 100

// Notice is one delivery made: receiver got event, sent for level, at At.
// A receiver keeps one entry per level and event (the latest alert.updated).
type Notice struct {
	Receiver string    `json:"receiver"`
	Level    int       `json:"level"`
	Event    string    `json:"event"`
	At       time.Time `json:"at"`
}

// UnmarshalJSON also reads the bare levels alerts of earlier releases
// listed; those were levels due, not deliveries, and decodeAlert drops
// them.
func (n *Notice) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '{' {
		*n = Notice{}
		return json.Unmarshal(b, &n.Level)
	}
	type plain Notice
	return json.Unmarshal(b, (*plain)(n))
}

// decodeAlert reads a stored alert (not its count and members).
func decodeAlert(k, v []byte) (*Alert, error) {
	al := new(Alert)
	if err := json.Unmarshal(v, al); err != nil {
		return nil, fmt.Errorf("alerts: alert %x: %w", k, err)
	}
	al.Seq = binary.BigEndian.Uint64(k)
	// Bare levels from earlier releases said what was due, not who got it.
	al.Notified = slices.DeleteFunc(al.Notified, func(n Notice) bool { return n.Receiver == "" })
	if al.Notified == nil {
		al.Notified = []Notice{}
	}
	return al, nil
}

func getAlert(tx *bolt.Tx, seq uint64) (*Alert, error) {
	k := store.SeqKey(seq)
	v := tx.Bucket(bucketAlerts).Get(k)
	if v == nil {
		return nil, store.ErrNotFound
	}
	al, err := decodeAlert(k, v)
	if err != nil {
		return nil, err
	}
	fillMembers(tx, al)
	return al, nil
}

// putAlert stores an alert and keeps the escalation index in step with
// its status and next escalation.
func putAlert(tx *bolt.Tx, al *Alert) error {
	var prev *time.Time
	if v := tx.Bucket(bucketAlerts).Get(store.SeqKey(al.Seq)); v != nil {
		var old struct {
			Status         string     `json:"status"`
			NextEscalation *time.Time `json:"next_escalation"`
		}
		if err := json.Unmarshal(v, &old); err != nil {
			return err
		}
		if old.Status == StatusOpen {
			prev = old.NextEscalation
		}
	}
	// The count, last time and record ids live beside the alert
	// (alert_counts, alert_members) and are filled in when it is read.
	stored := *al
	stored.Count, stored.RecordIDs, stored.LastAt = 0, nil, time.Time{}
	b, err := json.Marshal(&stored)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketAlerts).Put(store.SeqKey(al.Seq), b); err != nil {
		return err
	}
	return schedule(tx, al, prev)
}

// addMember counts a record into an alert without rewriting the alert:
// a group of thousands costs one small write per record. It returns the
// alert's count with the record.
func addMember(tx *bolt.Tx, seq uint64, id string, now time.Time) (uint64, error) {
	counts := tx.Bucket(bucketCounts)
	var n uint64
	if v := counts.Get(store.SeqKey(seq)); len(v) == 16 {
		n = binary.BigEndian.Uint64(v)
	}
	if n < maxRecordIDs {
		if err := tx.Bucket(bucketMembers).Put(binary.BigEndian.AppendUint32(store.SeqKey(seq), uint32(n)), []byte(id)); err != nil {
			return 0, err
		}
	}
	return n + 1, counts.Put(store.SeqKey(seq), append(store.SeqKey(n+1), store.SeqKey(uint64(now.UnixNano()))...))
}

// fillMembers sets the count, last time and record ids kept beside the alert.
func fillMembers(tx *bolt.Tx, al *Alert) {
	if v := tx.Bucket(bucketCounts).Get(store.SeqKey(al.Seq)); len(v) == 16 {
		al.Count = int(binary.BigEndian.Uint64(v))
		al.LastAt = time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))).UTC()
	}
	al.RecordIDs = al.RecordIDs[:0]
	c := tx.Bucket(bucketMembers).Cursor()
	prefix := store.SeqKey(al.Seq)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		al.RecordIDs = append(al.RecordIDs, string(v))
	}
}
