package store

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WriteWatch says whether bbolt's one writer lock is being held too long.
type WriteWatch struct {
	// Stalls counts the times a probe waited longer than the threshold.
	Stalls int64 `json:"stalls"`
	// Waiting is how long the current probe has been waiting (0: the lock
	// is free, or the watchdog is off).
	Waiting time.Duration `json:"waiting"`
}

// Watchdog probes the writer lock: every interval it opens a write
// transaction and rolls it back at once (no I/O). Every write in the
// process (records, alerts, audit entries, keys) waits for the same lock,
// so a probe that waits longer than the threshold means a transaction
// has held it that long, whoever opened it.
type Watchdog struct {
	db        *bolt.DB
	threshold time.Duration
	log       *slog.Logger
	stalls    atomic.Int64
	since     atomic.Int64 // unix ns the waiting probe started; 0 when none waits
}

// NewWatchdog watches s's writer lock; a wait over threshold is a stall.
func NewWatchdog(s *Store, threshold time.Duration, log *slog.Logger) *Watchdog {
	return &Watchdog{db: s.db, threshold: threshold, log: log}
}

// State is the watchdog's counts.
func (w *Watchdog) State() WriteWatch {
	out := WriteWatch{Stalls: w.stalls.Load()}
	if s := w.since.Load(); s != 0 {
		out.Waiting = time.Since(time.Unix(0, s))
	}
	return out
}

// Run probes until ctx ends, then closes done. A stall is logged once, as an ERROR with
// every goroutine's stack (the holder is among them: stacks carry no
// record text), and once more when the lock comes free.
func (w *Watchdog) Run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	interval := min(time.Second, w.threshold/2)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		got := make(chan error, 1)
		w.since.Store(start.UnixNano())
		go func() {
			tx, err := w.db.Begin(true)
			if err == nil {
				err = tx.Rollback()
			}
			got <- err
		}()
		timer := time.NewTimer(w.threshold)
		select {
		case <-got:
			timer.Stop()
			w.since.Store(0)
			continue
		case <-ctx.Done():
			timer.Stop()
			w.since.Store(0)
			return // the probe returns once the lock is free, or the store closes
		case <-timer.C:
		}
		w.log.Error("store: a write transaction has held the writer lock too long; every write waits for it",
			"waited", time.Since(start).String(), "threshold", w.threshold.String(), "stacks", string(stacks()))
		w.stalls.Add(1) // after the log: whoever sees the count finds the stacks
		select {
		case <-got:
			w.since.Store(0)
			w.log.Warn("store: the writer lock is free again", "waited", time.Since(start).String())
		case <-ctx.Done():
			w.since.Store(0)
			return
		}
	}
}

// stacks is every goroutine's stack, up to 16 MiB.
func stacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 16<<20 {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
