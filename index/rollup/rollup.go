package rollup

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/index/store"
	"dongting/taxonomy"
)

// Rollups are aggregates kept in step with the records: every write
// transaction that stores or removes a record moves them by the record's
// contribution, so a re-sent id moves its counts instead of adding to them.
// They are derived: RebuildRollups recomputes them from the records.
//
// One cell is day × org node × node × dimension × channel × kind, where org
// node is every level of the record's org path plus "" (everything), node
// is "*" (every record) or a tag with each of its ancestors, and dimension
// is "*" or a dimension tag. Keys sort by org, node, dimension and day, so
// a series is one range scan per (org, node, dimension). Names are interned
// as 4-byte ids, so a key is 20 bytes, not ~60.
var (
	bucketRollups = []byte("rollups")         // cell key → Counts
	bucketLog     = []byte("rollup_log")      // seq → the deltas of one commit, not yet folded into rollups
	bucketOrgs    = []byte("rollup_orgs")     // org node → live records under it
	bucketNames   = []byte("rollup_names")    // 'n' kind name → id, 'i' id → kind name
	keyRollupZone = []byte("rollup_zone")     // time zone the day of a cell is in
	keyRollupOK   = []byte("rollup_state")    // rollupFormat once built; absent while rebuilding
	keyCounters   = []byte("rollup_counters") // numCounters of the cells, decimal
)

// rollupFormat names the layout of the cells; a store written with
// another is rebuilt at open.
const rollupFormat = "v3-untagged"

// countersBefore is the number of counters the cells had when the count
// began to be stored beside the format (keyCounters): a store without the
// key has that many. Cells encode their non-zero counters only, so without
// this check a counter added later would read as zero in every old cell
// instead of rebuilding them.
const countersBefore = 19

// Untagged is the node of the records no touchpoint matched (coverage).
const Untagged = "_untagged"

// All is the node and dimension of a cell that counts every record.
const All = "*"

// Counter indices of Counts.
const (
	CVolume    = iota // records
	CSentiment        // sum of sentiment scores × 10⁴ (fixed point, so deletes are exact)
	CNegative         // sentiment labels
	CNeutral
	CPositive
	CPromoters // NPS 9–10
	CPassives  // NPS 7–8
	CDetractors
	CCSATSum
	CCSATN
	CP1
	CP2
	CP3
	CPraise
	// Survey answers of the records where this cell's node was mentioned
	// negatively (key-driver analysis); zero in "*" cells.
	CNegPromoters
	CNegPassives
	CNegDetractors
	CNegCSATSum
	CNegCSATN
	numCounters
)

// SentimentScale is the fixed-point scale of CSentiment.
const SentimentScale = 10_000

// Counts are one cell's counters.
type Counts [numCounters]int64

// Add adds o to c.
func (c *Counts) Add(o *Counts) {
	for i := range c {
		c[i] += o[i]
	}
}

func (c *Counts) sub(o *Counts) {
	for i := range c {
		c[i] -= o[i]
	}
}

func (c *Counts) zero() bool { return *c == Counts{} }

// appendCounts encodes counts sparsely: a bitmap of the non-zero counters,
// then their values (most cells have three or four).
func appendCounts(b []byte, c *Counts) []byte {
	var mask uint64
	for i, v := range c {
		if v != 0 {
			mask |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, mask)
	for _, v := range c {
		if v != 0 {
			b = binary.AppendVarint(b, v)
		}
	}
	return b
}

// decodeCounts reads what appendCounts wrote and returns the rest of b.
func decodeCounts(b []byte, c *Counts) ([]byte, error) {
	mask, n := binary.Uvarint(b)
	if n <= 0 || mask>>numCounters != 0 {
		return nil, errors.New("rollups: corrupt counts")
	}
	b = b[n:]
	for i := range c {
		c[i] = 0
		if mask&(1<<i) == 0 {
			continue
		}
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, errors.New("rollups: corrupt counts")
		}
		c[i] = v
		b = b[n:]
	}
	return b, nil
}

// Cell names one rollup cell.
type Cell struct {
	Org, Node, Dim, Day, Channel, Kind string
}

// DayLayout is how a cell's day is written (in the rollup time zone).
const DayLayout = "20060102"

// cellKey is a cell as stored: org, node, dim ids, day number, channel and
// kind ids, big-endian so keys sort by series and then by day.
type cellKey [22]byte

const prefixLen = 12

func makeKey(org, node, dim uint32, day uint16, channel, kind uint32) cellKey {
	var k cellKey
	binary.BigEndian.PutUint32(k[0:], org)
	binary.BigEndian.PutUint32(k[4:], node)
	binary.BigEndian.PutUint32(k[8:], dim)
	binary.BigEndian.PutUint16(k[12:], day)
	binary.BigEndian.PutUint32(k[14:], channel)
	binary.BigEndian.PutUint32(k[18:], kind)
	return k
}

func (k *cellKey) day() uint16      { return binary.BigEndian.Uint16(k[12:]) }
func (k *cellKey) channel() uint32  { return binary.BigEndian.Uint32(k[14:]) }
func (k *cellKey) kind() uint32     { return binary.BigEndian.Uint32(k[18:]) }
func (k *cellKey) prefix() [12]byte { return [12]byte(k[:prefixLen]) }

// Days are numbered from 2000-01-01 (a uint16 lasts until 2179).
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func dayNumber(t time.Time, loc *time.Location) (uint16, bool) {
	y, m, d := t.In(loc).Date()
	n := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(epoch).Hours() / 24
	if n < 0 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// dayString formats a day number; days up to 2100 are formatted once.
func dayString(n uint16) string {
	dayStringsOnce.Do(func() {
		for i := range dayStrings {
			dayStrings[i] = epoch.AddDate(0, 0, i).Format(DayLayout)
		}
	})
	if int(n) < len(dayStrings) {
		return dayStrings[n]
	}
	return epoch.AddDate(0, 0, int(n)).Format(DayLayout)
}

var (
	dayStrings     [36890]string // 2000-01-01 … 2100-12-31
	dayStringsOnce sync.Once
)

func parseDay(s string) (uint16, bool) {
	t, err := time.Parse(DayLayout, s)
	if err != nil {
		return 0, false
	}
	return dayNumber(t, time.UTC)
}

// Name kinds in the names bucket.
const (
	nameOrg     = 'o'
	nameNode    = 'n'
	nameChannel = 'c'
	nameKind    = 'k'
)

// names interns org, node, channel and kind names as ids. The maps hold
// what is committed; a write transaction stages its new names and
// publishes them when it commits.
type names struct {
	mu   sync.RWMutex
	ids  map[string]uint32 // kind byte + name → id
	back map[uint32]string // id → name
}

func (n *names) load(tx *bolt.Tx) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ids, n.back = map[string]uint32{}, map[uint32]string{}
	return tx.Bucket(bucketNames).ForEach(func(k, v []byte) error {
		if len(k) > 0 && k[0] == 'n' && len(v) == 4 {
			id := binary.BigEndian.Uint32(v)
			n.ids[string(k[1:])] = id
			n.back[id] = string(k[2:])
		}
		return nil
	})
}

// lookup finds a committed id; tx (if not nil) covers names committed a
// moment ago that are not yet published.
func (n *names) lookup(tx *bolt.Tx, kind byte, name string) (uint32, bool) {
	full := string(kind) + name
	n.mu.RLock()
	id, ok := n.ids[full]
	n.mu.RUnlock()
	if !ok && tx != nil {
		if v := tx.Bucket(bucketNames).Get([]byte("n" + full)); len(v) == 4 {
			return binary.BigEndian.Uint32(v), true
		}
	}
	return id, ok
}

func (n *names) name(tx *bolt.Tx, id uint32) string {
	n.mu.RLock()
	s, ok := n.back[id]
	n.mu.RUnlock()
	if !ok && tx != nil {
		var k [5]byte
		k[0] = 'i'
		binary.BigEndian.PutUint32(k[1:], id)
		if v := tx.Bucket(bucketNames).Get(k[:]); len(v) > 0 {
			return string(v[1:])
		}
	}
	return s
}

// interner assigns ids inside one write transaction. It remembers every
// name and day it has resolved: a commit of a few hundred records asks for
// the same few dozen names thousands of times.
type interner struct {
	n      *names
	tx     *bolt.Tx
	staged map[string]uint32
	seen   map[nameRef]uint32
	days   map[string]uint16
}

type nameRef struct {
	kind byte
	name string
}

func (n *names) interner(tx *bolt.Tx) *interner {
	in := &interner{n: n, tx: tx, staged: map[string]uint32{}, seen: map[nameRef]uint32{}, days: map[string]uint16{}}
	tx.OnCommit(func() {
		n.mu.Lock()
		for full, id := range in.staged {
			n.ids[full] = id
			n.back[id] = full[1:]
		}
		n.mu.Unlock()
	})
	return in
}

func (in *interner) id(kind byte, name string) (uint32, error) {
	if id, ok := in.seen[nameRef{kind, name}]; ok {
		return id, nil
	}
	id, err := in.resolve(kind, name)
	if err == nil {
		in.seen[nameRef{kind, name}] = id
	}
	return id, err
}

// day parses a cell's day once per transaction.
func (in *interner) day(s string) (uint16, bool) {
	if d, ok := in.days[s]; ok {
		return d, true
	}
	d, ok := parseDay(s)
	if ok {
		in.days[s] = d
	}
	return d, ok
}

func (in *interner) resolve(kind byte, name string) (uint32, error) {
	full := string(kind) + name
	if id, ok := in.staged[full]; ok {
		return id, nil
	}
	if id, ok := in.n.lookup(in.tx, kind, name); ok {
		return id, nil
	}
	b := in.tx.Bucket(bucketNames)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if seq > 1<<32-1 {
		return 0, errors.New("rollups: out of name ids")
	}
	id := uint32(seq)
	var k [5]byte
	k[0] = 'i'
	binary.BigEndian.PutUint32(k[1:], id)
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], id)
	if err := b.Put([]byte("n"+full), v[:]); err != nil {
		return 0, err
	}
	if err := b.Put(k[:], []byte(full)); err != nil {
		return 0, err
	}
	in.staged[full] = id
	return id, nil
}

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
	tax   atomic.Pointer[taxonomy.Taxonomy]
	loc   *time.Location
	names names

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
		return fmt.Errorf("%w: day %q", store.ErrUnstorable, dayStr)
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
		for _, p := range analyzer.TagParents(tg, r.tax.Load()) {
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
		if err := r.contribution(in, st, sign, emit); err != nil {
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

// defaultFoldChunk is how many series one fold transaction writes. A bulk load
// in random day order touches most of the rollup tree in every fold (~400
// MB of pages at 400k records); in chunks, each transaction holds the
// nodes of a slice of the tree and its mapped pages are released before
// the next.
const defaultFoldChunk = 512

// foldMark, while a fold is under way, says how far it got: the log
// entries up to Seq are folded into the cells of every series up to
// Series (inclusive). Readers skip those deltas; a fold interrupted by a
// crash resumes from it. It is written in each chunk's transaction and
// deleted with the folded entries in the last.
type foldMark struct {
	Seq    uint64
	Series [prefixLen]byte
}

var keyFoldMark = []byte("rollup_fold_mark")

func readMark(tx *bolt.Tx) (foldMark, bool) {
	b := store.Meta(tx).Get(keyFoldMark)
	if len(b) != 8+prefixLen {
		return foldMark{}, false
	}
	return foldMark{Seq: binary.BigEndian.Uint64(b), Series: [prefixLen]byte(b[8:])}, true
}

// covers reports whether the mark says the delta of log entry seq for
// series p is already in the cells.
func (m *foldMark) covers(seq uint64, p [prefixLen]byte) bool {
	return seq <= m.Seq && bytes.Compare(p[:], m.Series[:]) <= 0
}

// fold merges the log entries present when it starts into the cells,
// foldChunk series per transaction in key order; the last transaction
// deletes the entries. It returns how many entries it folded.
func (r *rollups) fold(db *store.Store) (int, error) {
	r.foldMu.Lock()
	defer r.foldMu.Unlock()
	var (
		entries []*logEntry
		mark    foldMark
		resumed bool
	)
	err := db.View(func(tx *bolt.Tx) error {
		mark, resumed = readMark(tx)
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			if resumed && seq > mark.Seq {
				break // an interrupted fold finishes its own entries first
			}
			r.mu.RLock()
			e := r.pending[seq]
			r.mu.RUnlock()
			if e == nil {
				var err error
				if e, err = decodeLog(seq, v); err != nil {
					return err
				}
			}
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rollups: fold: %w", err)
	}
	if len(entries) == 0 {
		return 0, nil
	}
	last := entries[len(entries)-1].seq
	// Each series' encoded deltas from every entry, gathered in one pass
	// over the entries (looking a series up in every entry cost a map
	// access per entry and series).
	series := map[[prefixLen]byte][][]byte{}
	for _, e := range entries {
		for p, b := range e.bySeries {
			if !resumed || bytes.Compare(p[:], mark.Series[:]) > 0 {
				series[p] = append(series[p], b)
			}
		}
	}
	// One series at a time, in key order: only that series' sums are held
	// decoded, however many commits are folded.
	order := make([][prefixLen]byte, 0, len(series))
	for p := range series {
		order = append(order, p)
	}
	slices.SortFunc(order, func(a, b [prefixLen]byte) int { return bytes.Compare(a[:], b[:]) })
	w := newCellWriter()
	step := r.foldChunk
	// At least one transaction: with no series left (a resumed fold whose
	// last chunk is all that remains to delete), it only deletes.
	for lo := 0; lo < len(order) || lo == 0; lo += step {
		chunk := order[lo:min(lo+step, len(order))]
		final := lo+step >= len(order)
		err := db.Update(func(tx *bolt.Tx) error {
			w.b = tx.Bucket(bucketRollups)
			for _, p := range chunk {
				if err := w.write(p, series[p]); err != nil {
					return err
				}
			}
			meta := store.Meta(tx)
			if !final {
				m := binary.BigEndian.AppendUint64(nil, last)
				return meta.Put(keyFoldMark, append(m, chunk[len(chunk)-1][:]...))
			}
			lb := tx.Bucket(bucketLog)
			for _, e := range entries {
				if err := lb.Delete(store.SeqKey(e.seq)); err != nil {
					return err
				}
			}
			return meta.Delete(keyFoldMark)
		})
		if err != nil {
			return 0, fmt.Errorf("rollups: fold: %w", err)
		}
		// The chunk's pages need not stay in this process's resident set.
		if err := db.ReleaseMapped(); err != nil {
			return 0, err
		}
		if r.afterChunk != nil && !final {
			if err := r.afterChunk(); err != nil {
				return 0, err
			}
		}
	}
	// Readers that still see the log entries in their snapshot read them
	// from the file; new readers see the folded cells.
	r.mu.Lock()
	for _, e := range entries {
		delete(r.pending, e.seq)
	}
	r.foldedTo = max(r.foldedTo, last)
	r.pendingCells = 0 // what was committed during the fold waits on
	for _, e := range r.pending {
		r.pendingCells += e.cells
	}
	r.mu.Unlock()
	return len(entries), nil
}

// releaseInterval is how often the store's mapped pages are released
// (releaseMapped) besides after every fold transaction: id lookups, the
// indexer's reads and trend queries touch pages too. A page read again
// after a release costs a minor fault.
const releaseInterval = time.Second

// foldLoop folds the log every few seconds, or sooner when it grows, and
// releases the store's mapped pages in between.
func (r *rollups) foldLoop(ctx context.Context, db *store.Store, log *slog.Logger, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(foldInterval)
	defer tick.Stop()
	release := time.NewTicker(releaseInterval)
	defer release.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-release.C:
			if err := db.ReleaseMapped(); err != nil {
				log.Error("rollups", "err", err)
			}
			continue
		case <-tick.C:
		case <-r.kick:
		}
		if _, err := r.fold(db); err != nil {
			log.Error("rollups", "err", err)
		}
	}
}

// A stored cell holds one day of a series: the key is org, node, dim and
// day (14 bytes), the value every channel × kind of that day, each as
// channel id, kind id and its counts. A 12-month series is then ~365 keys
// per group, not one per day × channel × kind.
const dayKeyLen = prefixLen + 2

type dayEntry struct {
	ck [8]byte // channel id, kind id
	c  Counts
}

func decodeDay(v []byte, out []dayEntry) ([]dayEntry, error) {
	out = out[:0]
	for len(v) > 0 {
		if len(v) < 8 {
			return nil, errors.New("rollups: corrupt cell")
		}
		var e dayEntry
		copy(e.ck[:], v[:8])
		var err error
		if v, err = decodeCounts(v[8:], &e.c); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func appendDay(b []byte, entries []dayEntry) []byte {
	for i := range entries {
		b = append(b, entries[i].ck[:]...)
		b = appendCounts(b, &entries[i].c)
	}
	return b
}

// cellWriter adds deltas to the stored day cells, series by series in key
// order: neighbouring cells share pages, so each page is searched from a
// warm cache and dirtied once. Values are encoded into shared chunks that
// live until the commit (bbolt keeps the slices it is given).
type cellWriter struct {
	b       *bolt.Bucket
	arena   []byte
	entries []dayEntry
	// A series' deltas summed by day, before the stored days are read:
	// slot[day] is 1 + the day's index in days and sums (0: not seen).
	slot []int32
	days []uint16
	sums [][]dayEntry
}

func newCellWriter() *cellWriter { return &cellWriter{slot: make([]int32, 1<<16)} }

// write adds one series' deltas, encoded as in a log entry (day, channel,
// kind, counts; any order, keys may repeat), to its stored day cells.
func (w *cellWriter) write(prefix [prefixLen]byte, parts [][]byte) error {
	w.days = w.days[:0]
	defer func() {
		for _, d := range w.days {
			w.slot[d] = 0
		}
	}()
	add := func(suffix []byte, c *Counts) {
		day := binary.BigEndian.Uint16(suffix)
		i := w.slot[day] - 1
		if i < 0 {
			w.days = append(w.days, day)
			i = int32(len(w.days) - 1)
			w.slot[day] = i + 1
			if int(i) < len(w.sums) {
				w.sums[i] = w.sums[i][:0]
			} else {
				w.sums = append(w.sums, nil)
			}
		}
		w.sums[i] = addEntry(w.sums[i], [8]byte(suffix[2:]), c)
	}
	for _, b := range parts {
		if err := eachDelta(b, add); err != nil {
			return err
		}
	}
	slices.Sort(w.days)
	var dk [dayKeyLen]byte
	copy(dk[:], prefix[:])
	for _, day := range w.days {
		binary.BigEndian.PutUint16(dk[prefixLen:], day)
		var err error
		if w.entries, err = decodeDay(w.b.Get(dk[:]), w.entries); err != nil {
			return err
		}
		for _, e := range w.sums[w.slot[day]-1] {
			w.entries = addEntry(w.entries, e.ck, &e.c)
		}
		w.entries = slices.DeleteFunc(w.entries, func(e dayEntry) bool { return e.c.zero() })
		if cap(w.arena)-len(w.arena) < 64*1024 {
			w.arena = make([]byte, 0, 1<<20)
		}
		ks := len(w.arena)
		w.arena = append(w.arena, dk[:]...)
		key := w.arena[ks:len(w.arena):len(w.arena)]
		if len(w.entries) == 0 {
			err = w.b.Delete(key)
		} else {
			slices.SortFunc(w.entries, func(a, b dayEntry) int { return bytes.Compare(a.ck[:], b.ck[:]) })
			start := len(w.arena)
			w.arena = appendDay(w.arena, w.entries)
			err = w.b.Put(key, w.arena[start:len(w.arena):len(w.arena)])
		}
		if err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
	}
	return nil
}

// addEntry adds c to the entry for channel and kind ck, or appends one.
// A day holds few channel × kind pairs: a linear search suffices.
func addEntry(es []dayEntry, ck [8]byte, c *Counts) []dayEntry {
	for i := range es {
		if es[i].ck == ck {
			es[i].c.Add(c)
			return es
		}
	}
	return append(es, dayEntry{ck: ck, c: *c})
}

func writeOrgs(tx *bolt.Tx, orgs map[string]int64) error {
	ob := tx.Bucket(bucketOrgs)
	for o, d := range orgs {
		if d == 0 {
			continue
		}
		var n int64
		if v := ob.Get([]byte(o)); v != nil {
			n, _ = binary.Varint(v)
		}
		n += d
		var err error
		if n <= 0 {
			err = ob.Delete([]byte(o))
		} else {
			err = ob.Put([]byte(o), binary.AppendVarint(nil, n))
		}
		if err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
	}
	return nil
}

// initRollups creates the buckets and reports whether the rollups must be
// rebuilt: never built, a rebuild was interrupted, or the time zone their
// days are in has changed.
func initRollups(db *store.Store, loc *time.Location) (stale bool, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRollups, bucketOrgs, bucketLog, bucketNames} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := store.Meta(tx)
		empty := store.LastSeqIn(tx) == 0
		zoneOK := string(meta.Get(keyRollupZone)) == loc.String()
		built := string(meta.Get(keyRollupOK)) == rollupFormat && storedCounters(meta) == numCounters
		if empty && !built {
			// A new store: the rollups start (and stay) in step.
			return markBuilt(meta, loc)
		}
		stale = !zoneOK || !built
		return nil
	})
	return stale, err
}

// rebuild recomputes every rollup from the records, in chunks of
// transactions. The state key is cleared first and set last, so an
// interrupted rebuild is redone at the next open.
func (r *rollups) rebuild(db *store.Store, progress func(done int)) error {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, k := range [][]byte{keyRollupOK, keyFoldMark} {
			if err := store.Meta(tx).Delete(k); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bucketRollups, bucketOrgs, bucketLog} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rollups: rebuild: %w", err)
	}
	r.mu.Lock()
	r.pending, r.foldedTo = map[uint64]*logEntry{}, 0 // the new log bucket numbers from 1 again
	r.mu.Unlock()
	const chunk = 20_000
	var after uint64
	done := 0
	for {
		olds, last, err := db.Range(after, math.MaxUint64, chunk)
		if err != nil {
			return fmt.Errorf("rollups: rebuild: %w", err)
		}
		if len(olds) > 0 {
			changes := make([]store.Change, len(olds))
			for i, st := range olds {
				changes[i].New = st
			}
			if err := db.Update(func(tx *bolt.Tx) error { return r.apply(tx, changes) }); err != nil {
				return fmt.Errorf("rollups: rebuild: %w", err)
			}
			if _, err := r.fold(db); err != nil {
				return err
			}
			done += len(changes)
			if progress != nil {
				progress(done)
			}
		}
		if last == math.MaxUint64 {
			break
		}
		after = last
	}
	return db.Update(func(tx *bolt.Tx) error { return markBuilt(store.Meta(tx), r.loc) })
}

// markBuilt records that the rollups are complete, in this zone, format and
// number of counters.
func markBuilt(meta *bolt.Bucket, loc *time.Location) error {
	if err := meta.Put(keyRollupZone, []byte(loc.String())); err != nil {
		return err
	}
	if err := meta.Put(keyCounters, []byte(strconv.Itoa(numCounters))); err != nil {
		return err
	}
	return meta.Put(keyRollupOK, []byte(rollupFormat))
}

// storedCounters is the number of counters the stored cells have.
func storedCounters(meta *bolt.Bucket) int {
	v := meta.Get(keyCounters)
	if v == nil {
		return countersBefore
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return -1 // unreadable: rebuild
	}
	return n
}

// Rollups are the aggregates of a store's records, kept in step with its
// commits.
type Rollups struct {
	db *store.Store
	r  *rollups
}

// Open opens the rollups of st (in zone loc, with the nodes of tax) and
// follows its commits from here on: it creates their buckets, folds what
// the last run left in the log, or rebuilds them from the records when they
// are stale (never built, an interrupted rebuild, another layout, counter
// schema or zone). Call it before the store's first write.
func Open(st *store.Store, tax *taxonomy.Taxonomy, loc *time.Location, log *slog.Logger) (*Rollups, error) {
	ru := &rollups{loc: loc, pending: map[uint64]*logEntry{},
		foldEvery: 1000, foldCells: 1 << 22, foldChunk: defaultFoldChunk, kick: make(chan struct{}, 1)}
	ru.tax.Store(tax)
	stale, err := initRollups(st, loc)
	if err == nil {
		err = st.View(ru.names.load)
	}
	if err == nil && !stale {
		_, err = ru.fold(st) // what the last run left in the log
	}
	if err == nil && stale {
		log.Warn("rollups are stale (never built, interrupted, an older layout, or another time zone): rebuilding from the store", "zone", loc.String())
		err = ru.rebuild(st, nil)
	}
	if err != nil {
		return nil, err
	}
	st.OnCommit(ru.apply)
	return &Rollups{db: st, r: ru}, nil
}

// Fold folds the deltas waiting in the log into the cells and reports how
// many commits it folded.
func (r *Rollups) Fold() (int, error) { return r.r.fold(r.db) }

// FoldLoop folds whenever enough deltas wait, or every foldInterval, until
// ctx ends; then it closes done.
func (r *Rollups) FoldLoop(ctx context.Context, log *slog.Logger, done chan<- struct{}) {
	r.r.foldLoop(ctx, r.db, log, done)
}

// Rebuild recomputes every cell from the records (see rebuild).
func (r *Rollups) Rebuild(progress func(done int)) error { return r.r.rebuild(r.db, progress) }

// SetTaxonomy is the taxonomy in force: records committed from here on
// count under its nodes.
func (r *Rollups) SetTaxonomy(tax *taxonomy.Taxonomy) { r.r.tax.Store(tax) }

// Location is the time zone the cells' days are in.
func (r *Rollups) Location() *time.Location { return r.r.loc }

// Taxonomy is the tree the nodes come from.
func (r *Rollups) Taxonomy() *taxonomy.Taxonomy { return r.r.tax.Load() }

// View runs fn in one read transaction, so a multi-series answer is
// consistent.
func (r *Rollups) View(fn func(v *View) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		v := &View{tx: tx, r: r.r}
		v.mark, v.marked = readMark(tx)
		// The unfolded commits this snapshot holds, decoded.
		c := tx.Bucket(bucketLog).Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			r.r.mu.RLock()
			e := r.r.pending[seq]
			r.r.mu.RUnlock()
			if e == nil { // committed a moment ago, or folded since: read it here
				var err error
				if e, err = decodeLog(seq, val); err != nil {
					return err
				}
			}
			v.log = append(v.log, e)
		}
		return fn(v)
	})
}

// View reads cells inside one transaction.
type View struct {
	tx     *bolt.Tx
	r      *rollups
	log    []*logEntry
	mark   foldMark // a fold under way: these deltas are in the cells
	marked bool
}

// unfolded reports whether the snapshot's cells lack e's deltas of
// series p.
func (v *View) unfolded(e *logEntry, p [prefixLen]byte) bool {
	return !v.marked || !v.mark.covers(e.seq, p)
}

// series resolves a series' ids and day range.
func (v *View) series(org, node, dim, from, to string) (start [dayKeyLen]byte, lo, hi uint16, ok bool, err error) {
	var ids [3]uint32
	for i, p := range []struct {
		kind byte
		name string
	}{{nameOrg, org}, {nameNode, node}, {nameNode, dim}} {
		id, found := v.r.names.lookup(v.tx, p.kind, p.name)
		if !found {
			return start, 0, 0, false, nil // never seen: no records
		}
		ids[i] = id
	}
	lo, ok1 := parseDay(from)
	hi, ok2 := parseDay(to)
	if !ok1 || !ok2 {
		return start, 0, 0, false, fmt.Errorf("rollups: days %q–%q out of range", from, to)
	}
	k := makeKey(ids[0], ids[1], ids[2], lo, 0, 0)
	return [dayKeyLen]byte(k[:dayKeyLen]), lo, hi, true, nil
}

// scan calls fn for every channel × kind entry of the series' days in
// [lo, hi], folded or not; keys are 22-byte cell keys.
func (v *View) scan(start [dayKeyLen]byte, hi uint16, fn func(k *cellKey, c *Counts)) error {
	prefix := start[:prefixLen]
	cur := v.tx.Bucket(bucketRollups).Cursor()
	var entries []dayEntry
	var key cellKey
	for k, val := cur.Seek(start[:]); len(k) == dayKeyLen && bytes.Equal(k[:prefixLen], prefix); k, val = cur.Next() {
		copy(key[:], k)
		if key.day() > hi {
			break
		}
		var err error
		if entries, err = decodeDay(val, entries); err != nil {
			return err
		}
		for i := range entries {
			copy(key[dayKeyLen:], entries[i].ck[:])
			fn(&key, &entries[i].c)
		}
	}
	lo := cellKey{}
	copy(lo[:], start[:])
	for _, e := range v.log {
		if !v.unfolded(e, [prefixLen]byte(prefix)) {
			continue
		}
		err := e.each([prefixLen]byte(prefix), func(k *cellKey, c *Counts) {
			if d := k.day(); d >= lo.day() && d <= hi {
				fn(k, c)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Each calls fn for every channel × kind cell of (org, node, dim) whose
// day is in [from, to] (DayLayout strings, inclusive). A cell may be
// passed more than once (its folded counts, then unfolded deltas):
// callers sum.
func (v *View) Each(org, node, dim, from, to string, fn func(Cell, *Counts)) error {
	start, _, hi, ok, err := v.series(org, node, dim, from, to)
	if !ok {
		return err
	}
	cell := Cell{Org: org, Node: node, Dim: dim}
	labels := map[uint32]string{}
	label := func(id uint32) string {
		s, ok := labels[id]
		if !ok {
			s = v.r.names.name(v.tx, id)
			labels[id] = s
		}
		return s
	}
	return v.scan(start, hi, func(k *cellKey, c *Counts) {
		cell.Day, cell.Channel, cell.Kind = dayString(k.day()), label(k.channel()), label(k.kind())
		fn(cell, c)
	})
}

// EachDay is Each summed over the channels and kinds that keep accepts
// (nil: all), one call per day and then one per unfolded delta: the fast
// path for series that are not split by channel or kind.
func (v *View) EachDay(org, node, dim, from, to string, keep func(channel, kind string) bool, fn func(day string, c *Counts)) error {
	start, _, hi, ok, err := v.series(org, node, dim, from, to)
	if !ok {
		return err
	}
	kept := map[[8]byte]bool{}
	accept := func(k *cellKey) bool {
		if keep == nil {
			return true
		}
		ck := [8]byte(k[dayKeyLen:])
		ok, seen := kept[ck]
		if !seen {
			ok = keep(v.r.names.name(v.tx, k.channel()), v.r.names.name(v.tx, k.kind()))
			kept[ck] = ok
		}
		return ok
	}
	var cur uint16
	var sum Counts
	have := false
	flush := func() {
		if have {
			fn(dayString(cur), &sum)
			sum, have = Counts{}, false
		}
	}
	err = v.scan(start, hi, func(k *cellKey, c *Counts) {
		if !accept(k) {
			return
		}
		if d := k.day(); d != cur || !have {
			flush()
			cur = d
		}
		sum.Add(c)
		have = true
	})
	flush()
	return err
}

// Orgs lists the org nodes with live records, each with its count.
func (v *View) Orgs() map[string]int64 {
	out := make(map[string]int64)
	_ = v.tx.Bucket(bucketOrgs).ForEach(func(k, val []byte) error {
		n, _ := binary.Varint(val)
		out[string(k)] = n
		return nil
	})
	return out
}
