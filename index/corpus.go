// Package index is Dongting's corpus: records and their analyses stored in
// bbolt (the source of truth, acknowledged only after commit), and the
// Bleve search index derived from it, which catches up in the background
// from a watermark persisted inside the index.
package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"dongting/analyzer"

	"dongting/index/fulltext"
	"dongting/index/rollup"
	"dongting/index/store"
	"dongting/index/work"
	"dongting/taxonomy"
)

// Options configure a corpus.
type Options struct {
	Dir      string             // holds dongting.db and search.bleve
	Analyzer *analyzer.Analyzer // analyzes what is ingested
	Location *time.Location     // for month buckets; DefaultLocation if nil
	Log      *slog.Logger
	Now      func() time.Time
	// BatchSize is how many entries the indexer puts in one Bleve batch.
	BatchSize int
	// Populate reads the store file in at open (for a reindex's full scan).
	Populate bool
	// OnIndexed, if set, is called after each index batch (metrics).
	OnIndexed func(n int, lag time.Duration)
	// WriteStall turns the write watchdog on: a write transaction that
	// holds bbolt's writer lock longer than this is logged as an ERROR
	// with every goroutine's stack and counted (store.WriteWatch). 0: off.
	WriteStall time.Duration
	// SearchTimeout is the deadline of one search (of one page of an
	// export); DefaultSearchTimeout if zero.
	SearchTimeout time.Duration
}

// searchIndex is what the corpus needs of a search index: it follows the
// store (Apply up to a watermark, read back after a restart), finds,
// counts and prices queries, and can check itself. *fulltext.Index is the
// one there is.
type searchIndex interface {
	Apply(entries []*store.Stored, upTo uint64) error
	Watermark() (uint64, error)
	Find(ctx context.Context, q *fulltext.Query) (*fulltext.Found, error)
	Weight(q *fulltext.Query) (int, error)
	DocCount() (uint64, error)
	Busy() (bool, error)
	Created() bool
	Verify() error
	Close() error
}

// DefaultSearchTimeout is a search's deadline unless Options say another.
const DefaultSearchTimeout = 5 * time.Second

// Corpus is the store, the search index and the indexer that keeps the
// second in step with the first.
type Corpus struct {
	opt Options
	// an is the analyzer in force, and so the one holder of the taxonomy in
	// force: the rollups and the search index read it from here.
	an    *atomic.Pointer[analyzer.Analyzer]
	store *store.Store
	// search is the index now. The indexer replaces it when it is found
	// corrupt while serving (under swap's write lock); everyone else reads
	// it under swap's read lock (searchIndex).
	search  searchIndex
	swap    sync.RWMutex
	corrupt chan searchIndex // an index found corrupt, for the indexer to replace
	checkMu sync.Mutex       // one check of the segments at a time …
	checked time.Time        // … and at most one a minute
	rollups *rollup.Rollups

	folded  chan struct{}   // closed when the rollup folder has stopped
	watch   *store.Watchdog // nil when Options.WriteStall is 0
	watched chan struct{}   // closed when the watchdog has stopped
	notify  chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	indexed uint64        // watermark as last applied
	waiters chan struct{} // closed and replaced whenever indexed moves
	lastErr error
	// rebuild is the rebuild of a new index from the store under way
	// (nil: none): searches are partial until the indexer has applied
	// every entry the store held at open.
	rebuild *rebuild
	// pending holds entries this process committed and has not indexed
	// yet, by sequence, so the indexer need not read back and decode what
	// it was just handed. Anything missing is read from the store.
	pending map[uint64]*store.Stored
}

// maxPending bounds the entries committed but not yet indexed that are
// kept in memory for the indexer. Ingest waits while it is reached (unless
// the indexer is failing), so a bulk load cannot run ahead of the index:
// the lag and the memory stay bounded.
const maxPending = 20_000

// SearchDir is where the search index of the corpus in dir lives. It is
// derived: removing it makes the next Open rebuild it from the store.
func SearchDir(dir string) string { return filepath.Join(dir, "search.bleve") }

// Open opens (or creates) the corpus in opt.Dir and starts the indexer,
// which first catches up with whatever the store holds beyond the index's
// watermark (after a crash, say).
func Open(opt Options) (*Corpus, error) {
	if opt.Analyzer == nil {
		return nil, errors.New("index: Options.Analyzer is required")
	}
	if opt.Location == nil {
		opt.Location = DefaultLocation()
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SearchTimeout <= 0 {
		opt.SearchTimeout = DefaultSearchTimeout
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if err := os.MkdirAll(opt.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	st, err := store.Open(filepath.Join(opt.Dir, "dongting.db"), opt.Populate)
	if err != nil {
		return nil, err
	}
	an := new(atomic.Pointer[analyzer.Analyzer])
	an.Store(opt.Analyzer)
	tax := func() *taxonomy.Taxonomy { return an.Load().Taxonomy() }
	ru, err := rollup.Open(st, tax, opt.Location, opt.Log)
	if err != nil {
		st.Close()
		return nil, err
	}
	searchDir := SearchDir(opt.Dir)
	reason := "missing" // why a new index is built, if one is
	se, err := fulltext.Open(searchDir, tax, opt.Location)
	if errors.Is(err, fulltext.ErrIndexOutdated) {
		reason = "outdated"
		// Derived data of an older release: rebuilt from the store.
		opt.Log.Warn("search index has an older layout or another time zone: rebuilding it from the store", "dir", searchDir, "zone", opt.Location.String())
		if rerr := os.RemoveAll(searchDir); rerr != nil {
			st.Close()
			return nil, fmt.Errorf("index: %w; removing it: %w", err, rerr)
		}
		se, err = fulltext.Open(searchDir, tax, opt.Location)
	}
	if errors.Is(err, fulltext.ErrIndexUnreadable) {
		// Derived data: keep the broken copy for a post-mortem, rebuild.
		reason = "unreadable"
		msg := "search index does not open: moved aside, rebuilding it from the store"
		if errors.Is(err, fulltext.ErrIndexCorrupt) {
			reason, msg = "corrupt", "search index is corrupt: moved aside, rebuilding it from the store"
		}
		aside := fmt.Sprintf("%s.%s-%s", searchDir, reason, opt.Now().UTC().Format("20060102T150405"))
		opt.Log.Error(msg, "dir", searchDir, "moved_to", aside, "err", err)
		if rerr := os.Rename(searchDir, aside); rerr != nil {
			st.Close()
			return nil, fmt.Errorf("index: %w; moving it aside: %w", err, rerr)
		}
		se, err = fulltext.Open(searchDir, tax, opt.Location)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	w, err := se.Watermark()
	if err != nil {
		st.Close()
		se.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Corpus{opt: opt, an: an, store: st, search: se, corrupt: make(chan searchIndex, 1), rollups: ru, notify: make(chan struct{}, 1), stop: cancel,
		done: make(chan struct{}), indexed: w, waiters: make(chan struct{}), pending: map[uint64]*store.Stored{}}
	if last := st.LastSeq(); se.Created() && last > w {
		stats, err := st.Stats()
		if err != nil {
			cancel()
			se.Close()
			st.Close()
			return nil, err
		}
		c.rebuild = &rebuild{reason: reason, upTo: last, records: stats.Records}
		opt.Log.Warn("search index rebuilding from the store in the background; searches are partial until it is done", "reason", reason, "records", stats.Records)
	}
	if err := c.applyDictionary(); err != nil {
		cancel()
		se.Close()
		st.Close()
		return nil, fmt.Errorf("index: dictionary: %w", err)
	}
	c.folded = make(chan struct{})
	go c.run(ctx)
	go ru.FoldLoop(ctx, opt.Log, c.folded)
	c.watched = make(chan struct{})
	if opt.WriteStall > 0 {
		c.watch = store.NewWatchdog(st, opt.WriteStall, opt.Log)
		go c.watch.Run(ctx, c.watched)
	} else {
		close(c.watched)
	}
	return c, nil
}

// WriteWatch reports the write watchdog's counts (zero when it is off).
func (c *Corpus) WriteWatch() store.WriteWatch {
	if c.watch == nil {
		return store.WriteWatch{}
	}
	return c.watch.State()
}

// Close stops the indexer after it has caught up, then closes the index and
// the store.
func (c *Corpus) Close() error {
	c.stop()
	<-c.done
	<-c.folded
	<-c.watched
	_, ferr := c.rollups.Fold()
	return errors.Join(ferr, c.search.Close(), c.store.Close())
}

// Backup writes a consistent snapshot of the store to w while the corpus
// keeps serving. The search index is not in it: a restore rebuilds it.
func (c *Corpus) Backup(w io.Writer, size func(int64)) (int64, error) {
	return c.store.Backup(w, size)
}

// Store is the record store (for commands that work on it directly).
func (c *Corpus) Store() *store.Store { return c.store }

// Rollups reads the aggregates kept with every commit.
func (c *Corpus) Rollups() *rollup.Rollups { return c.rollups }

// WaitSettled folds the rollup deltas that wait in the log and waits
// until the search index has stopped merging segments in the background
// (after a bulk load both go on for a while), checking twice a second; ctx
// bounds the wait. Bleve counts an index reopened without a write since as
// busy (its persisted epoch is unknown until the first write), so call it
// after writing.
func (c *Corpus) WaitSettled(ctx context.Context) error {
	if _, err := c.rollups.Fold(); err != nil {
		return err
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for quiet := 0; quiet < 3; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		se, done := c.searchIndex()
		busy, err := se.Busy()
		done()
		if err != nil {
			return err
		}
		if busy {
			quiet = 0
		} else {
			quiet++
		}
	}
	return nil
}

// Location is the time zone of days, weeks and months (rollups, month
// facets).
func (c *Corpus) Location() *time.Location { return c.opt.Location }

// RebuildRollups recomputes the rollups from the records. It must not run
// while records are being written (the reindex command runs it offline).
func (c *Corpus) RebuildRollups(progress func(done int)) error {
	return c.rollups.Rebuild(progress)
}

// Analyzer is the analyzer records are ingested with now.
func (c *Corpus) Analyzer() *analyzer.Analyzer { return c.an.Load() }

// SetAnalyzer switches ingest, rollups and search to an analyzer with
// another taxonomy (see package tagging). Records already stored keep
// their tags until they are re-tagged.
func (c *Corpus) SetAnalyzer(a *analyzer.Analyzer) {
	c.an.Store(a)
}

// taxonomyInForce is the analyzer's taxonomy.
func (c *Corpus) taxonomyInForce() *taxonomy.Taxonomy { return c.Analyzer().Taxonomy() }

// run is the indexer: it applies store entries beyond the watermark in
// batches, woken by each commit and by a timer as a safety net.
func (c *Corpus) run(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		err := work.Safely("the indexer", func() error { return c.catchUp(ctx) })
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			c.opt.Log.Error("indexer", "err", err)
		}
		select {
		case <-ctx.Done():
			// Flush what was committed before the stop.
			if err := c.catchUp(context.Background()); err != nil {
				c.opt.Log.Error("indexer: final catch-up", "err", err)
			}
			return
		case <-c.notify:
		case <-tick.C:
		case se := <-c.corrupt:
			if se == c.search {
				c.replaceCorrupt()
			}
		}
	}
}

// searchIndex is the search index now, read-locked until done is called.
func (c *Corpus) searchIndex() (se searchIndex, done func()) {
	c.swap.RLock()
	return c.search, c.swap.RUnlock
}

// suspect checks the segments of se after a search of it failed (an error
// or a recovered panic: zapx reading a damaged segment does both), in the
// background, at most once a minute; a corrupt index is handed to the
// indexer to replace.
func (c *Corpus) suspect(se searchIndex) {
	if !c.checkMu.TryLock() {
		return
	}
	now := c.opt.Now()
	if now.Sub(c.checked) < time.Minute {
		c.checkMu.Unlock()
		return
	}
	c.checked = now
	go func() {
		defer c.checkMu.Unlock()
		err := work.Safely("checking the search index", se.Verify)
		if !errors.Is(err, fulltext.ErrIndexCorrupt) {
			return
		}
		c.opt.Log.Error("search index found corrupt while serving: rebuilding it from the store", "err", err)
		select {
		case c.corrupt <- se:
		default:
		}
	}()
}

// replaceCorrupt moves the index aside and starts a new one, which the
// indexer fills from the store while searches, which wait for the swap,
// answer partial. It runs on the indexer's goroutine, the only writer.
func (c *Corpus) replaceCorrupt() {
	c.swap.Lock()
	defer c.swap.Unlock()
	dir := SearchDir(c.opt.Dir)
	if err := c.search.Close(); err != nil {
		c.opt.Log.Warn("closing the corrupt search index", "err", err)
	}
	aside := fmt.Sprintf("%s.corrupt-%s", dir, c.opt.Now().UTC().Format("20060102T150405"))
	if err := os.Rename(dir, aside); err != nil {
		c.opt.Log.Error("moving the corrupt search index aside: removing it", "err", err)
		os.RemoveAll(dir)
	}
	se, err := fulltext.Open(dir, c.taxonomyInForce, c.opt.Location)
	var stats store.Stats
	if err == nil {
		stats, err = c.store.Stats()
	}
	if err != nil {
		// The old index is closed: searches fail until a restart, which
		// builds the index anew, and the indexer says why.
		c.mu.Lock()
		c.lastErr = fmt.Errorf("index: replacing the corrupt search index: %w", err)
		c.mu.Unlock()
		return
	}
	c.opt.Log.Error("search index is corrupt: moved aside, rebuilding it from the store", "dir", dir, "moved_to", aside)
	c.search = se
	c.mu.Lock()
	c.indexed = 0
	c.rebuild = &rebuild{reason: "corrupt", upTo: c.store.LastSeq(), records: stats.Records}
	c.mu.Unlock()
}

func (c *Corpus) catchUp(ctx context.Context) error {
	for ctx.Err() == nil {
		var batch []*store.Stored
		var upTo uint64
		var oldest time.Time
		add := func(st *store.Stored) error {
			batch = append(batch, st)
			upTo = st.Seq
			if oldest.IsZero() || st.IngestedAt.Before(oldest) {
				oldest = st.IngestedAt
			}
			return nil
		}
		c.mu.Lock()
		from := c.indexed
		for seq := from + 1; len(batch) < c.opt.BatchSize; seq++ {
			st, ok := c.pending[seq]
			if !ok {
				break
			}
			add(st)
		}
		c.mu.Unlock()
		if len(batch) == 0 {
			if err := c.store.Scan(from, c.opt.BatchSize, add); err != nil {
				return err
			}
		}
		if len(batch) == 0 {
			return nil
		}
		if err := c.search.Apply(batch, upTo); err != nil {
			return err
		}
		c.mu.Lock()
		for seq := from + 1; seq <= upTo; seq++ {
			delete(c.pending, seq)
		}
		c.indexed = upTo
		if c.rebuild != nil && upTo >= c.rebuild.upTo {
			c.opt.Log.Info("search index rebuilt from the store", "reason", c.rebuild.reason, "records", c.rebuild.records)
			c.rebuild = nil
		}
		close(c.waiters)
		c.waiters = make(chan struct{})
		c.mu.Unlock()
		if c.opt.OnIndexed != nil {
			c.opt.OnIndexed(len(batch), c.opt.Now().Sub(oldest))
		}
	}
	return nil
}

func (c *Corpus) kick() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// WaitIndexed blocks until the index holds every entry up to seq.
func (c *Corpus) WaitIndexed(ctx context.Context, seq uint64) error {
	return c.waitIndexer(ctx, func() (bool, error) {
		if c.indexed >= seq {
			return true, nil
		}
		if c.lastErr != nil {
			return false, fmt.Errorf("index: indexer failing: %w", c.lastErr)
		}
		return false, nil
	})
}

// waitIndexer waits until done (called under c.mu) says so, waking at each
// index batch, and at least every second.
func (c *Corpus) waitIndexer(ctx context.Context, done func() (bool, error)) error {
	for {
		c.mu.Lock()
		ok, err := done()
		ch := c.waiters
		c.mu.Unlock()
		if ok || err != nil {
			return err
		}
		c.kick()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Status describes the corpus for /readyz and /metrics.
type Status struct {
	Records   uint64 `json:"records"`
	LastSeq   uint64 `json:"last_seq"`
	Indexed   uint64 `json:"indexed_seq"`
	Lag       uint64 `json:"index_lag"` // entries committed but not yet searchable
	IndexDocs uint64 `json:"index_docs"`
	Error     string `json:"indexer_error,omitempty"`
	// Rebuild is the rebuild of the search index under way, if any.
	Rebuild *Rebuild `json:"rebuild,omitempty"`
}

// rebuild is a new search index being filled from the store.
type rebuild struct {
	reason  string // missing, outdated, unreadable or corrupt
	upTo    uint64 // the store's last sequence at open: done once indexed
	records uint64 // records stored at open
}

// Rebuild is the progress of a search index rebuild: searches are
// partial until it is done.
type Rebuild struct {
	// Reason is why the index is new: missing (no index beside a store),
	// outdated (an older layout or another zone), unreadable or corrupt
	// (moved aside as search.bleve.<reason>-<time>).
	Reason  string  `json:"reason"`
	Indexed uint64  `json:"indexed"` // records searchable now
	Records uint64  `json:"records"` // records stored when the rebuild began
	Done    float64 `json:"progress"`
}

// Rebuilding reports the rebuild of the search index under way, or nil.
func (c *Corpus) Rebuilding() (*Rebuild, error) {
	se, done := c.searchIndex()
	defer done()
	return c.rebuilding(se)
}

func (c *Corpus) rebuilding(se searchIndex) (*Rebuild, error) {
	c.mu.Lock()
	rb := c.rebuild
	c.mu.Unlock()
	if rb == nil {
		return nil, nil
	}
	docs, err := se.DocCount()
	if err != nil {
		return nil, err
	}
	r := &Rebuild{Reason: rb.reason, Indexed: docs, Records: rb.records}
	if rb.records > 0 {
		// Records sent meanwhile are indexed too: not done before the end.
		r.Done = min(0.99, math.Round(float64(docs)/float64(rb.records)*100)/100)
	}
	return r, nil
}

// Status reads the counts.
func (c *Corpus) Status() (Status, error) {
	st, err := c.store.Stats()
	if err != nil {
		return Status{}, err
	}
	se, done := c.searchIndex()
	docs, err := se.DocCount()
	var rb *Rebuild
	if err == nil {
		rb, err = c.rebuilding(se)
	}
	done()
	if err != nil {
		return Status{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Records: st.Records, LastSeq: st.LastSeq, Indexed: c.indexed, IndexDocs: docs, Rebuild: rb}
	if st.LastSeq > c.indexed {
		s.Lag = st.LastSeq - c.indexed
	}
	if c.lastErr != nil {
		s.Error = c.lastErr.Error()
	}
	return s, nil
}

// Lag is how many committed entries are not yet searchable (cheap).
func (c *Corpus) Lag() uint64 {
	last := c.store.LastSeq()
	c.mu.Lock()
	defer c.mu.Unlock()
	if last > c.indexed {
		return last - c.indexed
	}
	return 0
}

// Result is what ingest did with one record.
type Result struct {
	store.Outcome
	Analysis *analyzer.Analysis `json:"analysis,omitempty"`
	Err      error              `json:"-"`
}

// Ingest analyzes records in parallel and commits the valid ones in one
// transaction: when Ingest returns without error, every result without Err
// is durable. An invalid record gets its *analyzer.Error in Err and
// does not stop the others.
func (c *Corpus) Ingest(ctx context.Context, recs []*analyzer.Record) ([]Result, error) {
	return c.IngestAs(ctx, "", recs)
}

// IngestAs is Ingest for a sender confined to an org scope (records outside
// it must have been refused before): such a sender has ids of its own, and a
// record whose id belongs to a record outside the scope is kept under its
// namespaced id (analyzer.NamespacedID), which Result.ID reports. It neither
// replaces the other record nor reveals it.
func (c *Corpus) IngestAs(ctx context.Context, scope string, recs []*analyzer.Record) ([]Result, error) {
	out := make([]Result, len(recs))
	items := make([]*store.Stored, len(recs))
	now := c.opt.Now().UTC()
	err := work.Parallel(ctx, runtime.GOMAXPROCS(0), len(recs), func(i int) {
		items[i], out[i].Err = c.prepare(recs[i], now)
		if items[i] != nil {
			items[i].Scope = scope
			out[i].Analysis = items[i].Analysis
		}
	})
	if err != nil {
		return nil, err
	}
	if err := c.throttle(ctx); err != nil {
		return nil, err
	}
	var good []*store.Stored
	var where []int
	for i, it := range items {
		if it != nil {
			good = append(good, it)
			where = append(where, i)
		}
	}
	if len(good) == 0 {
		return out, nil
	}
	done, err := c.store.Put(good)
	if err != nil && len(good) > 1 && store.RecordFault(err) {
		// Validation should have refused whatever the store cannot hold;
		// if one record still fails, it must not cost the others: store
		// them one by one and fail only the ones that fail alone.
		good, where, done, err = c.putEach(good, where, out)
	}
	if err != nil {
		return nil, err
	}
	for j, o := range done {
		out[where[j]].Outcome = o
	}
	c.mu.Lock()
	for _, st := range good {
		if st.Seq > c.indexed {
			c.pending[st.Seq] = st
		}
	}
	c.mu.Unlock()
	c.kick()
	return out, nil
}

// putEach stores items one transaction each after a chunk failed. A record
// that fails alone gets the store's error as its own (its line in a batch
// report); the call fails only if none could be stored, which is a store
// fault (disk full, closed), not a bad record.
func (c *Corpus) putEach(items []*store.Stored, where []int, out []Result) ([]*store.Stored, []int, []store.Outcome, error) {
	var kept []*store.Stored
	var at []int
	var done []store.Outcome
	var last error
	for j, it := range items {
		o, err := c.store.Put([]*store.Stored{it})
		if err != nil {
			last = err
			out[where[j]].Err = &analyzer.Error{Kind: analyzer.Invalid, Field: "record", Reason: "the store could not keep this record: " + err.Error()}
			out[where[j]].Analysis = nil
			continue
		}
		kept, at, done = append(kept, it), append(at, where[j]), append(done, o...)
	}
	if len(kept) == 0 {
		return nil, nil, nil, last
	}
	return kept, at, done, nil
}

// throttle waits while the indexer is maxPending entries behind. A failing
// indexer does not hold ingest up: the store is the source of truth and the
// index catches up from it once it recovers.
func (c *Corpus) throttle(ctx context.Context) error {
	return c.waitIndexer(ctx, func() (bool, error) {
		return len(c.pending) < maxPending || c.lastErr != nil, nil
	})
}

// prepare analyzes one record and turns it into what the store keeps: PII
// masked in every free-text field, the customer id hashed, a missing time
// set to the time of ingest.
func (c *Corpus) prepare(r *analyzer.Record, now time.Time) (*store.Stored, error) {
	if r.ID == "" {
		return nil, &analyzer.Error{Kind: analyzer.Invalid, Field: "id", Reason: "required: the caller's key for this record"}
	}
	if err := r.CheckTime(now); err != nil {
		return nil, err
	}
	a, err := c.Analyzer().Analyze(r)
	if err != nil {
		return nil, err
	}
	rec := *r
	if len(rec.Turns) > 0 {
		rec.Turns = make([]analyzer.RecordTurn, len(r.Turns))
		for i, t := range r.Turns {
			rec.Turns[i] = analyzer.RecordTurn{Speaker: t.Speaker, Text: maskText(t.Text)}
		}
	} else {
		rec.Text = a.Text
	}
	if len(r.Meta) > 0 {
		rec.Meta = make(map[string]string, len(r.Meta))
		for k, v := range r.Meta {
			rec.Meta[k] = maskText(v)
		}
	}
	rec.Customer = c.store.HashCustomer(r.Customer)
	if rec.OccurredAt == "" {
		rec.OccurredAt = now.In(c.opt.Location).Format(time.RFC3339)
	}
	st := &store.Stored{Record: rec, Analysis: a, IngestedAt: now}
	// Encoded here, in parallel, not in the write transaction.
	if err = st.Encode(); err != nil {
		return nil, err
	}
	return st, nil
}

func maskText(s string) string {
	m, _ := analyzer.MaskPII(s)
	return m
}

// Get fetches a stored record by the caller's id.
func (c *Corpus) Get(id string) (*store.Stored, error) { return c.store.Get(id) }

// Delete removes a record from the store; the index follows.
func (c *Corpus) Delete(id string) (uint64, error) {
	seq, err := c.store.Delete(id, c.opt.Now().UTC())
	if err == nil {
		c.kick()
	}
	return seq, err
}
