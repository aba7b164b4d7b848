package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
)

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

// Sign is the signature header of a payload: t=<unix seconds>,v1=<hex of
// HMAC-SHA256(secret, "<t>.<body>")>. Receivers recompute it and reject
// stale timestamps, as with Stripe's webhooks.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against a body.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, p := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)).Abs(); d > tolerance {
		return errors.New("signature timestamp outside the tolerance")
	}
	if !hmac.Equal([]byte(mac(secret, ts, body)), []byte(sig)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// Deliver sends every due delivery once: success removes it from the
// outbox, failure schedules a retry with exponential backoff and jitter,
// and the last failed attempt moves it to the dead letters.
func (e *Engine) Deliver(ctx context.Context) {
	now := e.opt.Now().UTC()
	type item struct {
		seq uint64
		d   Delivery
	}
	var due []item
	_ = e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(due) < 200; k, v = c.Next() {
			var d Delivery
			if json.Unmarshal(v, &d) == nil && !d.NextAt.After(now) {
				due = append(due, item{binary.BigEndian.Uint64(k), d})
			}
		}
		return nil
	})
	e.mu.RLock()
	cfg := e.cfg
	e.mu.RUnlock()
	for _, it := range due {
		if ctx.Err() != nil {
			return
		}
		d := it.d
		r, ok := cfg.receiver(d.Receiver)
		var err error
		if !ok {
			err = fmt.Errorf("receiver %q is no longer configured", d.Receiver)
			d.Attempts = e.opt.MaxAttempts // nowhere to retry
		} else {
			err = e.post(ctx, r, &d)
		}
		uerr := e.db.Update(func(tx *bolt.Tx) error {
			out := tx.Bucket(bucketOutbox)
			if err == nil {
				if err := out.Delete(store.SeqKey(it.seq)); err != nil {
					return err
				}
				return delivered(tx, &d, now)
			}
			d.Attempts++
			d.LastError = err.Error()
			if d.Attempts >= e.opt.MaxAttempts {
				b, _ := json.Marshal(d)
				if err := tx.Bucket(bucketDead).Put(store.SeqKey(it.seq), b); err != nil {
					return err
				}
				if err := out.Delete(store.SeqKey(it.seq)); err != nil {
					return err
				}
				return undelivered(tx, &d, now)
			}
			backoff := min(e.opt.Backoff<<min(d.Attempts-1, 20), time.Hour)
			backoff += time.Duration(rand.Int64N(int64(backoff)/5 + 1)) // jitter: receivers that come back are not stampeded
			d.NextAt = now.Add(backoff)
			b, _ := json.Marshal(d)
			return out.Put(store.SeqKey(it.seq), b)
		})
		if uerr != nil {
			e.opt.Log.Error("alerts: outbox", "key", d.Key, "err", uerr)
		}
		e.statsMu.Lock()
		if err == nil {
			e.stats.Delivered++
		} else {
			e.stats.Failed++
			e.opt.Log.Warn("alerts: webhook delivery failed", "receiver", d.Receiver, "key", d.Key, "attempts", d.Attempts, "err", err)
		}
		e.statsMu.Unlock()
	}
}

// deliveryAlert is the alert a delivery is for and the level it was sent
// for; an outbox entry of an earlier release has them only in its key
// (alert:event:level:receiver).
func deliveryAlert(tx *bolt.Tx, d *Delivery) (*Alert, int, error) {
	id, level := d.Alert, d.Level
	if id == "" {
		parts := strings.SplitN(d.Key, ":", 4)
		if len(parts) < 4 {
			return nil, 0, nil
		}
		id = parts[0]
		if _, err := fmt.Sscanf(parts[2], "%d", &level); err != nil {
			return nil, 0, nil
		}
	}
	seq, ok := parseID(id)
	if !ok {
		return nil, 0, nil
	}
	al, err := getAlert(tx, seq)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	return al, level, err
}

// delivered adds a delivery the receiver took to its alert's notified
// list, one entry per receiver, level and event (the latest).
func delivered(tx *bolt.Tx, d *Delivery, now time.Time) error {
	al, level, err := deliveryAlert(tx, d)
	if al == nil || err != nil {
		return err
	}
	n := Notice{Receiver: d.Receiver, Level: level, Event: d.Event, At: now}
	i := slices.IndexFunc(al.Notified, func(o Notice) bool {
		return o.Receiver == n.Receiver && o.Level == n.Level && o.Event == n.Event
	})
	if i >= 0 {
		al.Notified[i] = n
	} else {
		al.Notified = append(al.Notified, n)
	}
	return putAlert(tx, al)
}

// undelivered notes in the alert's history a delivery given up on.
func undelivered(tx *bolt.Tx, d *Delivery, now time.Time) error {
	al, level, err := deliveryAlert(tx, d)
	if al == nil || err != nil {
		return err
	}
	al.History = append(al.History, Event{At: now, By: "dongting", Action: "undelivered", Level: &level,
		Note: fmt.Sprintf("%s to %s: gave up after %d attempts", d.Event, d.Receiver, d.Attempts)})
	return putAlert(tx, al)
}

func (e *Engine) post(ctx context.Context, r Receiver, d *Delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", d.Key)
	req.Header.Set("X-Dongting-Event", d.Event)
	req.Header.Set("X-Dongting-Signature", Sign(r.Secret, e.opt.Now(), d.Payload))
	resp, err := e.opt.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// Outbox counts deliveries waiting and dead, and lists the dead ones.
type Outbox struct {
	Pending int        `json:"pending"`
	Dead    int        `json:"dead"`
	DeadOld []Delivery `json:"dead_letters,omitempty"`
}

// Outbox reads the outbox state.
func (e *Engine) Outbox() (Outbox, error) {
	var o Outbox
	err := e.db.View(func(tx *bolt.Tx) error {
		o.Pending = tx.Bucket(bucketOutbox).Stats().KeyN
		o.Dead = tx.Bucket(bucketDead).Stats().KeyN
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.Last(); k != nil && len(o.DeadOld) < 50; k, v = c.Prev() {
			var d Delivery
			if json.Unmarshal(v, &d) == nil {
				d.Payload = nil
				o.DeadOld = append(o.DeadOld, d)
			}
		}
		return nil
	})
	return o, err
}
