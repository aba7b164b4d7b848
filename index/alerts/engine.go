package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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

	feed *store.Feed // the store's changes, followed
}

// Stats count what the engine did since start (metrics).
type Stats struct {
	Raised    map[string]int64 `json:"raised"` // new alerts by source
	Delivered int64            `json:"delivered"`
	Failed    int64            `json:"failed_attempts"`
	Unrouted  int64            `json:"unrouted"` // notifications for a node no receiver manages
	EvalTime  time.Duration    `json:"-"`        // spent evaluating committed records
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
	live := func(tx *bolt.Tx, changes []store.Change) error { return e.evaluate(tx, changes, false) }
	if e.feed, err = e.db.Follow(followerName, live, opt.Log); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	// Commits made since the engine last ran (a crash between a write and
	// its evaluation, or writes while no engine was open): their days are
	// in the counts loadDays read from the rollups already.
	if err := e.catchUp(true); err != nil {
		e.feed.Detach()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	go e.run(ctx)
	return e, nil
}

// Close stops the loop and the evaluation of writes; undelivered
// notifications stay in the outbox, and writes made from here on are
// evaluated when an engine opens the store again.
func (e *Engine) Close() {
	e.feed.Detach()
	e.stop()
	<-e.done
}

// followerName is the engine's name in the store's change feed.
const followerName = "alerts"

// follow evaluates what the store committed since the engine last did; a
// failure is retried at the next write or tick.
func (e *Engine) follow() {
	if err := e.catchUp(false); err != nil {
		e.feed.Failed(err)
	}
}

// catchUp evaluates the change feed past the engine's watermark, each
// batch in one transaction that also moves the watermark, so a commit
// raises its alerts once. replay leaves the spike day counts alone (they
// were read from the rollups, which hold these records).
func (e *Engine) catchUp(replay bool) error {
	err := e.feed.Drain(func(tx *bolt.Tx, changes []store.Change) error {
		return e.evaluate(tx, changes, replay)
	})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	return nil
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

// evaluate raises the alerts of a batch of committed changes in tx.
func (e *Engine) evaluate(tx *bolt.Tx, changes []store.Change, replay bool) error {
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
		if ch.Old == nil && st.Record.Org != "" && !replay { // a re-send is not another record of the day
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

// run escalates and delivers until stopped.
func (e *Engine) run(ctx context.Context) {
	defer close(e.done)
	tick := time.NewTicker(e.opt.Tick)
	defer tick.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		e.follow() // a write whose evaluation failed is retried here
		if err := e.Escalate(); err != nil {
			e.opt.Log.Error("alerts: escalate", "err", err)
		}
		e.Deliver(ctx)
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
		case <-tick.C:
		case <-prune.C:
			e.pruneDays()
		}
	}
}
