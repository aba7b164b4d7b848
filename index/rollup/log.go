package rollup

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/index/store"
	"dongting/taxonomy"
)

// rollups computes contributions and writes them.
//
// A commit does not update the cells in place: with a day grain and every
// org level, one record moves ~20–40 cells scattered over the whole tree.
// A commit appends its summed deltas to rollup_log instead (sequential,
// one key), and a folder merges the log into the cells every few seconds,
// where many commits share cells and pages (in transactions of a slice of
// the series each, see fold). Readers add the unfolded deltas their own
// snapshot holds (kept in memory), less those a fold under way has already
// written (foldMark), so answers are exact at every moment.
type rollups struct {
	tax   func() *taxonomy.Taxonomy // the taxonomy in force (its one holder is the corpus)
	loc   *time.Location
	log   *slog.Logger
	names names
	feed  *store.Feed // the store's changes, followed

	foldMu    sync.Mutex // one fold at a time
	foldChunk int        // series per fold transaction
	// afterChunk, when set (tests), runs between a fold's transactions; an
	// error stops the fold there, as a crash would.
	afterChunk func() error

	mu        sync.RWMutex
	pending   map[uint64]*logEntry // decoded unfolded log entries by log key
	foldedTo  uint64               // log keys up to this are folded
	foldEvery int                  // fold once this many commits wait…
	foldCells int                  // …or this many deltas (~20 bytes each in memory)
	// pendingCells counts the deltas committed since the last fold began.
	pendingCells int
	kick         chan struct{}
}

// foldInterval is how often the log is folded when it does not fill up
// first. A fold rewrites every page it touches, and with a day grain and
// every org level one record touches ~35 cells across the tree: the
// bigger a fold, the more of its deltas share a page.
const foldInterval = 15 * time.Second

// logEntry is one commit's deltas by series (org, node, dim ids), kept
// encoded as they are in the log: per series, each delta's day, channel
// and kind (the key past the prefix) and then its counts (appendCounts).
// Up to foldCells deltas (~120,000 records) wait in memory: decoded (176
// bytes a delta) they were the biggest thing in the heap; encoded they take
// ~20 bytes.
type logEntry struct {
	seq      uint64 // its log key
	bySeries map[[prefixLen]byte][]byte
	cells    int
}

const suffixLen = len(cellKey{}) - prefixLen

func newLogEntry() *logEntry { return &logEntry{bySeries: map[[prefixLen]byte][]byte{}} }

func (e *logEntry) add(k cellKey, d *Counts) {
	p := k.prefix()
	b := append(e.bySeries[p], k[prefixLen:]...)
	e.bySeries[p] = appendCounts(b, d)
	e.cells++
}

// each calls fn for every delta of one series. k and c are reused between
// calls.
func (e *logEntry) each(prefix [prefixLen]byte, fn func(k *cellKey, c *Counts)) error {
	var k cellKey
	copy(k[:], prefix[:])
	return eachDelta(e.bySeries[prefix], func(suffix []byte, c *Counts) {
		copy(k[prefixLen:], suffix)
		fn(&k, c)
	})
}

// eachDelta decodes one series' part of a log entry: the cell key after
// the series prefix (day, channel and kind) and the counts, for every
// delta. suffix and c are reused between calls.
func eachDelta(b []byte, fn func(suffix []byte, c *Counts)) error {
	var c Counts
	for len(b) > 0 {
		if len(b) < suffixLen {
			return errors.New("rollups: corrupt log entry")
		}
		suffix := b[:suffixLen]
		var err error
		if b, err = decodeCounts(b[suffixLen:], &c); err != nil {
			return err
		}
		fn(suffix, &c)
	}
	return nil
}

// errNoDay is a record dated on a day the cells cannot number (outside
// DayLayout's range). Record.Validate refuses such records before they are
// stored; one stored all the same is left out of the rollups.
var errNoDay = errors.New("no cell day")

// contribution calls emit for every cell a stored record counts in, its
// counts multiplied by sign (-1 takes a record out). Names are interned
// once per record (its org levels, nodes, dimensions, channel and kind),
// not once per cell.
func (r *rollups) contribution(in *interner, st *store.Stored, sign int64, emit func(k cellKey, c *Counts)) error {
	rec, a := &st.Record, st.Analysis
	t, err := time.Parse(time.RFC3339, rec.OccurredAt)
	if err != nil || a == nil {
		return nil // cannot happen for what prepare stores; nothing to count
	}
	dayStr := t.In(r.loc).Format(DayLayout)
	day, ok := in.day(dayStr)
	if !ok {
		return fmt.Errorf("%w: day %q", errNoDay, dayStr)
	}
	var base Counts
	base[CVolume] = 1
	if rec.NPS != nil {
		switch n := *rec.NPS; {
		case n >= 9:
			base[CPromoters] = 1
		case n >= 7:
			base[CPassives] = 1
		default:
			base[CDetractors] = 1
		}
	}
	if rec.CSAT != nil {
		base[CCSATSum], base[CCSATN] = int64(*rec.CSAT), 1
	}
	switch a.Severity {
	case "P1":
		base[CP1] = 1
	case "P2":
		base[CP2] = 1
	case "P3":
		base[CP3] = 1
	}
	if a.Praise {
		base[CPraise] = 1
	}
	type scored struct {
		id    string
		score float64
		label string
	}
	// Nodes: each tag and its ancestors; an ancestor takes the most
	// negative sentiment among its tags in this record.
	nodes := []scored{{All, a.Sentiment.Score, a.Sentiment.Label}}
	if len(a.Tags) == 0 {
		nodes = append(nodes, scored{Untagged, a.Sentiment.Score, a.Sentiment.Label})
	}
	put := func(id string, score float64, label string) {
		for i := range nodes {
			if nodes[i].id == id {
				if score < nodes[i].score {
					nodes[i].score, nodes[i].label = score, label
				}
				return
			}
		}
		nodes = append(nodes, scored{id, score, label})
	}
	for _, tg := range a.Tags {
		put(tg.ID, tg.Sentiment.Score, tg.Sentiment.Label)
		for _, p := range analyzer.TagParents(tg, r.tax()) {
			put(p, tg.Sentiment.Score, tg.Sentiment.Label)
		}
	}
	dims := []scored{{id: All}}
	for _, d := range a.Dimensions {
		if !slices.ContainsFunc(dims, func(x scored) bool { return x.id == d.ID }) {
			dims = append(dims, scored{d.ID, d.Sentiment.Score, d.Sentiment.Label})
		}
	}
	orgs := []string{""}
	if rec.Org != "" {
		orgs = append(orgs, analyzer.OrgPrefixes(rec.Org)...)
	}
	// Every name once.
	ch, err := in.id(nameChannel, rec.Channel)
	if err != nil {
		return err
	}
	kind, err := in.id(nameKind, rec.Kind)
	if err != nil {
		return err
	}
	orgIDs := make([]uint32, len(orgs))
	for i, o := range orgs {
		if orgIDs[i], err = in.id(nameOrg, o); err != nil {
			return err
		}
	}
	nodeIDs := make([]uint32, len(nodes))
	for i, n := range nodes {
		if nodeIDs[i], err = in.id(nameNode, n.id); err != nil {
			return err
		}
	}
	dimIDs := make([]uint32, len(dims))
	for i, d := range dims {
		if dimIDs[i], err = in.id(nameNode, d.id); err != nil {
			return err
		}
	}
	for ni, n := range nodes {
		for di, d := range dims {
			c := base
			score, label := n.score, n.label
			if n.id == All && d.id != All {
				score, label = d.score, d.label
			}
			c[CSentiment] = int64(math.Round(score * SentimentScale))
			switch label {
			case "negative":
				c[CNegative] = 1
			case "positive":
				c[CPositive] = 1
			default:
				c[CNeutral] = 1
			}
			if n.id != All && label == "negative" {
				c[CNegPromoters], c[CNegPassives], c[CNegDetractors] = base[CPromoters], base[CPassives], base[CDetractors]
				c[CNegCSATSum], c[CNegCSATN] = base[CCSATSum], base[CCSATN]
			}
			if sign != 1 {
				for i := range c {
					c[i] *= sign
				}
			}
			for _, o := range orgIDs {
				emit(makeKey(o, nodeIDs[ni], dimIDs[di], day, ch, kind), &c)
			}
		}
	}
	return nil
}

// apply moves the rollups by a set of changes in tx: it appends every
// changed record's cell deltas to the log as one entry (the fold sums
// them; summing here first cost a map operation per cell inside the write
// transaction, which every ingest waits for).
func (r *rollups) apply(tx *bolt.Tx, changes []store.Change) error {
	in := r.names.interner(tx)
	orgs := make(map[string]int64)
	entry := newLogEntry()
	var buf []byte
	emit := func(k cellKey, c *Counts) {
		buf = append(buf, k[:]...)
		buf = appendCounts(buf, c)
		entry.add(k, c)
	}
	add := func(st *store.Stored, sign int64) error {
		err := r.contribution(in, st, sign, emit)
		if errors.Is(err, errNoDay) {
			r.log.Warn("rollups: a record's day cannot be counted; it is left out", "seq", st.Seq)
			return nil
		}
		if err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
		if st.Record.Org != "" {
			for _, o := range analyzer.OrgPrefixes(st.Record.Org) {
				orgs[o] += sign
			}
		}
		return nil
	}
	for _, ch := range changes {
		if ch.Old != nil && !ch.Old.Deleted {
			if err := add(ch.Old, -1); err != nil {
				return err
			}
		}
		if ch.New != nil && !ch.New.Deleted {
			if err := add(ch.New, 1); err != nil {
				return err
			}
		}
	}
	if err := writeOrgs(tx, orgs); err != nil {
		return err
	}
	if entry.cells == 0 {
		return nil
	}
	b := tx.Bucket(bucketLog)
	b.FillPercent = 1.0
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	entry.seq = seq
	if err := b.Put(store.SeqKey(seq), buf); err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	tx.OnCommit(func() {
		r.mu.Lock()
		if seq > r.foldedTo { // a fold may have read it from the file already
			r.pending[seq] = entry
		}
		n := len(r.pending)
		r.pendingCells += entry.cells
		cells := r.pendingCells
		r.mu.Unlock()
		if n >= r.foldEvery || cells >= r.foldCells {
			select {
			case r.kick <- struct{}{}:
			default:
			}
		}
	})
	return nil
}

func decodeLog(seq uint64, b []byte) (*logEntry, error) {
	e := newLogEntry()
	e.seq = seq
	for len(b) > 0 {
		if len(b) < len(cellKey{}) {
			return nil, errors.New("rollups: corrupt log entry")
		}
		k := cellKey(b[:len(cellKey{})])
		var d Counts
		var err error
		if b, err = decodeCounts(b[len(k):], &d); err != nil {
			return nil, err
		}
		e.add(k, &d)
	}
	return e, nil
}
