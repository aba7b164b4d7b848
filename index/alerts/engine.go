package alerts

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index"
)

var (
	bucketAlerts  = []byte("alerts")        // seq → Alert JSON
	bucketGroups  = []byte("alert_groups")  // source\0org\0scene → alert seq (the open group)
	bucketByRec   = []byte("alert_records") // record id\0source → alert seq (re-sends raise nothing new)
	bucketSeen    = []byte("alert_seen")    // customer-or-household\0scene → last record (repeat complaints)
	bucketDaily   = []byte("alert_daily")   // org\0scene\0day → count (spikes)
	bucketOutbox  = []byte("outbox")        // seq → Delivery JSON
	bucketDead    = []byte("outbox_dead")   // deliveries that ran out of attempts
	bucketAlertMT = []byte("alert_meta")
	keyConfig     = []byte("routing")
)

// Statuses of an alert's lifecycle.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
	StatusClosed       = "closed"
)

// Event is one entry of an alert's history.
type Event struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"` // opened, grouped, notified, escalated, acknowledged, resolved, closed
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
	// Notified are the org levels told so far; Step is how many
	// escalation steps have run; NextEscalation is when the next one is
	// due (absent once acknowledged or when none is left).
	Notified       []int      `json:"notified"`
	Step           int        `json:"step"`
	NextEscalation *time.Time `json:"next_escalation,omitempty"`
	FirstAt        time.Time  `json:"first_at"`
	LastAt         time.Time  `json:"last_at"`
	GroupUntil     time.Time  `json:"group_until"`
	History        []Event    `json:"history"`
}

const maxRecordIDs = 100

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
	db   *bolt.DB
	loc  *time.Location
	opt  Options
	mu   sync.RWMutex
	cfg  *Config
	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}

	statsMu sync.Mutex
	stats   Stats
}

// Stats count what the engine did since start (metrics).
type Stats struct {
	Raised    map[string]int64 `json:"raised"` // new alerts by source
	Delivered int64            `json:"delivered"`
	Failed    int64            `json:"failed_attempts"`
	EvalTime  time.Duration    `json:"-"` // spent evaluating inside commits
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
	e := &Engine{db: c.Store().DB(), loc: c.Location(), opt: opt, kick: make(chan struct{}, 1), done: make(chan struct{}),
		stats: Stats{Raised: map[string]int64{}}}
	err := e.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketAlerts, bucketGroups, bucketByRec, bucketSeen, bucketDaily, bucketOutbox, bucketDead, bucketAlertMT} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
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

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func alertID(seq uint64) string { return fmt.Sprintf("al-%08d", seq) }

func parseID(id string) (uint64, bool) {
	var seq uint64
	if _, err := fmt.Sscanf(id, "al-%d", &seq); err != nil || alertID(seq) != id {
		return 0, false
	}
	return seq, true
}

func key(parts ...string) []byte { return []byte(strings.Join(parts, "\x00")) }

// signal is one reason a record raises an alert.
type signal struct {
	source, scene, title string
	org                  string // the node a spike is on; "" = the record's org
}

// evaluate runs inside each record commit.
func (e *Engine) evaluate(tx *bolt.Tx, changes []index.Change) error {
	start := time.Now()
	e.mu.RLock()
	cfg := e.cfg
	e.mu.RUnlock()
	now := e.opt.Now().UTC()
	raised := map[string]int64{}
	for _, ch := range changes {
		st := ch.New
		if st == nil || st.Deleted || st.Analysis == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339, st.Record.OccurredAt)
		if err != nil || now.Sub(at) > time.Duration(cfg.MaxAge) {
			continue // history: counted in rollups, no alert
		}
		sigs, err := e.signals(tx, cfg, st, at)
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
			if err := tx.Bucket(bucketByRec).Put(recKey, seqKey(seq)); err != nil {
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

func firstScene(st *index.Stored) string {
	for _, t := range st.Analysis.Tags {
		if t.Scene != "" {
			return t.Scene
		}
	}
	return ""
}

// signals lists the alert sources a record triggers, updating the repeat
// and spike state as it goes.
func (e *Engine) signals(tx *bolt.Tx, cfg *Config, st *index.Stored, at time.Time) ([]signal, error) {
	r, a := &st.Record, st.Analysis
	scene := firstScene(st)
	var out []signal
	switch a.Severity {
	case "P1":
		out = append(out, signal{source: "redline", scene: scene, title: "红线: " + strings.Join(a.Redline, "、")})
	case "P2":
		out = append(out, signal{source: "severe", scene: scene, title: "严重不满"})
	}
	if r.NPS != nil && *r.NPS <= 6 && a.Sentiment.Label == "negative" {
		out = append(out, signal{source: "detractor", scene: scene, title: fmt.Sprintf("贬损者 NPS %d", *r.NPS)})
	}
	if a.Praise {
		out = append(out, signal{source: "praise", scene: scene, title: "表扬"})
	}
	// Repeat: the same customer (or household) about the same scene
	// within repeat_days.
	var scenes []string
	for _, t := range a.Tags {
		if t.Scene != "" && !slices.Contains(scenes, t.Scene) {
			scenes = append(scenes, t.Scene)
		}
	}
	who := r.Customer
	if who == "" {
		for _, k := range []string{"household", "house", "room", "房号"} {
			if v := r.Meta[k]; v != "" && r.Org != "" {
				who = "h:" + r.Org + "/" + v
				break
			}
		}
	}
	if who != "" && a.Sentiment.Label == "negative" {
		seen := tx.Bucket(bucketSeen)
		for _, sc := range scenes {
			k := key(who, sc)
			if v := seen.Get(k); v != nil {
				var prev struct {
					At time.Time `json:"at"`
					ID string    `json:"id"`
				}
				if json.Unmarshal(v, &prev) == nil && prev.ID != r.ID {
					if d := at.Sub(prev.At).Abs(); d <= time.Duration(cfg.RepeatDays)*24*time.Hour {
						out = append(out, signal{source: "repeat", scene: sc, title: "重复投诉"})
					}
				}
			}
			b, _ := json.Marshal(map[string]any{"at": at, "id": r.ID})
			if err := seen.Put(k, b); err != nil {
				return nil, err
			}
		}
	}
	// Spike: this day's count per org node × scene against the Poisson
	// baseline of the preceding days.
	if r.Org != "" {
		daily := tx.Bucket(bucketDaily)
		day := at.In(e.loc)
		dayS := day.Format(index.DayLayout)
		for _, org := range index.OrgPrefixes(r.Org) {
			for _, sc := range scenes {
				k := key(org, sc, dayS)
				n := uint64(1)
				if v := daily.Get(k); v != nil {
					n += binary.BigEndian.Uint64(v)
				}
				if err := daily.Put(k, seqKey(n)); err != nil {
					return nil, err
				}
				if n < uint64(cfg.Spike.MinCount) {
					continue
				}
				var sum uint64
				for i := 1; i <= cfg.Spike.BaselineDays; i++ {
					if v := daily.Get(key(org, sc, day.AddDate(0, 0, -i).Format(index.DayLayout))); v != nil {
						sum += binary.BigEndian.Uint64(v)
					}
				}
				lambda := math.Max(float64(sum)/float64(cfg.Spike.BaselineDays), 0.1)
				if poissonTail(int(n), lambda) < cfg.Spike.P {
					out = append(out, signal{"spike", sc, fmt.Sprintf("量突增: 当日 %d 条 (基线 %.1f/日)", n, lambda), org})
				}
			}
		}
	}
	return out, nil
}

// poissonTail is P(X ≥ k) for X ~ Poisson(lambda).
func poissonTail(k int, lambda float64) float64 {
	term, cdf := math.Exp(-lambda), 0.0
	for i := 0; i < k; i++ {
		cdf += term
		term *= lambda / float64(i+1)
	}
	return math.Max(0, 1-cdf)
}

// raise adds a record to the open alert of its group, or opens one and
// queues its notifications.
func (e *Engine) raise(tx *bolt.Tx, cfg *Config, st *index.Stored, s signal, now time.Time) (uint64, bool, error) {
	route := cfg.Sources[s.source]
	org := st.Record.Org
	if s.org != "" {
		org = s.org
	}
	gk := key(s.source, org, s.scene)
	alerts, groups := tx.Bucket(bucketAlerts), tx.Bucket(bucketGroups)
	if v := groups.Get(gk); v != nil {
		seq := binary.BigEndian.Uint64(v)
		al, err := getAlert(tx, seq)
		if err != nil {
			return 0, false, err
		}
		if (al.Status == StatusOpen || al.Status == StatusAcknowledged) && now.Before(al.GroupUntil) {
			if s.source == "spike" {
				return seq, false, nil // one spike alert per window, not one per record
			}
			al.Count++
			al.LastAt = now
			if len(al.RecordIDs) < maxRecordIDs {
				al.RecordIDs = append(al.RecordIDs, st.Record.ID)
			}
			return seq, false, putAlert(tx, al)
		}
	}
	seq, err := alerts.NextSequence()
	if err != nil {
		return 0, false, err
	}
	al := &Alert{ID: alertID(seq), Seq: seq, Source: s.source, Severity: route.Severity, Org: org, Scene: s.scene,
		Title: s.title, Redline: st.Analysis.Redline, Count: 1, RecordIDs: []string{st.Record.ID}, Status: StatusOpen,
		FirstAt: now, LastAt: now, GroupUntil: now.Add(time.Duration(cfg.Window))}
	if s.source != "redline" {
		al.Redline = nil
	}
	al.History = append(al.History, Event{At: now, By: "dongting", Action: "opened"})
	for _, l := range route.Notify {
		if err := e.notify(tx, cfg, al, l, "alert.opened", now); err != nil {
			return 0, false, err
		}
	}
	if len(route.Escalate) > 0 {
		t := now.Add(time.Duration(route.Escalate[0].After))
		al.NextEscalation = &t
	}
	if err := putAlert(tx, al); err != nil {
		return 0, false, err
	}
	return seq, true, groups.Put(gk, seqKey(seq))
}

func getAlert(tx *bolt.Tx, seq uint64) (*Alert, error) {
	v := tx.Bucket(bucketAlerts).Get(seqKey(seq))
	if v == nil {
		return nil, index.ErrNotFound
	}
	al := new(Alert)
	if err := json.Unmarshal(v, al); err != nil {
		return nil, fmt.Errorf("alerts: alert %d: %w", seq, err)
	}
	al.Seq = seq
	return al, nil
}

func putAlert(tx *bolt.Tx, al *Alert) error {
	b, err := json.Marshal(al)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketAlerts).Put(seqKey(al.Seq), b)
}

// Delivery is one webhook call waiting in the outbox.
type Delivery struct {
	Key       string    `json:"key"` // idempotency key: alert, event, level, receiver
	Receiver  string    `json:"receiver"`
	Event     string    `json:"event"`
	Payload   []byte    `json:"payload"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
}

// Payload is what a receiver gets. It names records by id: their words
// stay in Dongting, behind its API.
type Payload struct {
	Event   string    `json:"event"`
	Level   int       `json:"level"`
	Alert   *Alert    `json:"alert"`
	SentFor string    `json:"sent_for"` // the org node whose manager this is for
	At      time.Time `json:"at"`
}

// notify records that level was told and queues one delivery per
// receiver of that level.
func (e *Engine) notify(tx *bolt.Tx, cfg *Config, al *Alert, level int, event string, now time.Time) error {
	if !slices.Contains(al.Notified, level) {
		al.Notified = append(al.Notified, level)
	}
	lv := level
	al.History = append(al.History, Event{At: now, By: "dongting", Action: map[string]string{"alert.opened": "notified", "alert.escalated": "escalated"}[event], Level: &lv})
	parts := strings.Split(al.Org, "/")
	node := ""
	if level <= len(parts) && al.Org != "" {
		node = strings.Join(parts[:level], "/")
	}
	out := tx.Bucket(bucketOutbox)
	for _, r := range cfg.receiversFor(al.Org, level) {
		snapshot := *al
		snapshot.History = nil
		body, err := json.Marshal(Payload{Event: event, Level: level, Alert: &snapshot, SentFor: node, At: now})
		if err != nil {
			return err
		}
		seq, err := out.NextSequence()
		if err != nil {
			return err
		}
		d := Delivery{Key: fmt.Sprintf("%s:%s:%d:%s", al.ID, event, level, r.ID), Receiver: r.ID, Event: event,
			Payload: body, NextAt: now, Created: now}
		b, _ := json.Marshal(d)
		if err := out.Put(seqKey(seq), b); err != nil {
			return err
		}
	}
	return nil
}
