package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

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
// a series is one range scan per (org, node, dimension).
var (
	bucketRollups = []byte("rollups")      // cell key → Counts
	bucketOrgs    = []byte("rollup_orgs")  // org node → live records under it
	keyRollupZone = []byte("rollup_zone")  // time zone the day of a cell is in
	keyRollupOK   = []byte("rollup_state") // "ok" once built; absent while rebuilding
)

// All is the node and dimension of a cell that counts every record.
const All = "*"

const sep = 0

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

func (c *Counts) encode() []byte {
	b := make([]byte, 0, numCounters*2)
	for _, v := range c {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func decodeCounts(b []byte, c *Counts) error {
	for i := range c {
		v, n := binary.Varint(b)
		if n <= 0 {
			return errors.New("rollups: corrupt cell")
		}
		c[i] = v
		b = b[n:]
	}
	return nil
}

// Cell names one rollup cell.
type Cell struct {
	Org, Node, Dim, Day, Channel, Kind string
}

func (k Cell) key() []byte {
	return []byte(strings.Join([]string{k.Org, k.Node, k.Dim, k.Day, k.Channel, k.Kind}, "\x00"))
}

func parseCell(b []byte) (Cell, bool) {
	p := bytes.Split(b, []byte{sep})
	if len(p) != 6 {
		return Cell{}, false
	}
	return Cell{string(p[0]), string(p[1]), string(p[2]), string(p[3]), string(p[4]), string(p[5])}, true
}

// DayLayout is how a cell's day is written (in the rollup time zone).
const DayLayout = "20060102"

// rollups computes contributions and writes them.
type rollups struct {
	tax *taxonomy.Taxonomy
	loc *time.Location
}

// contribution is one record's cells and counts (sign +1).
func (r *rollups) contribution(st *Stored, emit func(Cell, *Counts)) {
	rec, a := &st.Record, st.Analysis
	t, err := time.Parse(time.RFC3339, rec.OccurredAt)
	if err != nil || a == nil {
		return // cannot happen for what prepare stores; nothing to count
	}
	day := t.In(r.loc).Format(DayLayout)
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
		if n, ok := r.tax.Node(tg.ID); ok {
			for p := n.Parent; p != nil; p = p.Parent {
				put(p.ID, tg.Sentiment.Score, tg.Sentiment.Label)
			}
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
		orgs = append(orgs, OrgPrefixes(rec.Org)...)
	}
	for _, n := range nodes {
		for _, d := range dims {
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
			for _, o := range orgs {
				emit(Cell{Org: o, Node: n.id, Dim: d.id, Day: day, Channel: rec.Channel, Kind: rec.Kind}, &c)
			}
		}
	}
}

// apply moves the rollups by a set of changes in tx. Deltas are summed in
// memory first: a batch's records share most of their cells.
func (r *rollups) apply(tx *bolt.Tx, changes []Change) error {
	cells := make(map[Cell]*Counts)
	orgs := make(map[string]int64)
	add := func(st *Stored, sign int64) {
		r.contribution(st, func(k Cell, c *Counts) {
			d := cells[k]
			if d == nil {
				d = new(Counts)
				cells[k] = d
			}
			if sign > 0 {
				d.Add(c)
			} else {
				d.sub(c)
			}
		})
		if st.Record.Org != "" {
			for _, o := range OrgPrefixes(st.Record.Org) {
				orgs[o] += sign
			}
		}
	}
	for _, ch := range changes {
		if ch.Old != nil && !ch.Old.Deleted {
			add(ch.Old, -1)
		}
		if ch.New != nil && !ch.New.Deleted {
			add(ch.New, 1)
		}
	}
	return writeDeltas(tx, cells, orgs)
}

func writeDeltas(tx *bolt.Tx, cells map[Cell]*Counts, orgs map[string]int64) error {
	b := tx.Bucket(bucketRollups)
	for k, d := range cells {
		if d.zero() {
			continue
		}
		key := k.key()
		var cur Counts
		if v := b.Get(key); v != nil {
			if err := decodeCounts(v, &cur); err != nil {
				return err
			}
		}
		cur.Add(d)
		var err error
		if cur.zero() {
			err = b.Delete(key)
		} else {
			err = b.Put(key, cur.encode())
		}
		if err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
	}
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
func initRollups(db *bolt.DB, loc *time.Location) (stale bool, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRollups, bucketOrgs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		recs := tx.Bucket(bucketRecords)
		empty := recs.Sequence() == 0
		zoneOK := string(meta.Get(keyRollupZone)) == loc.String()
		built := string(meta.Get(keyRollupOK)) == "ok"
		if empty && !built {
			// A new store: the rollups start (and stay) in step.
			if err := meta.Put(keyRollupZone, []byte(loc.String())); err != nil {
				return err
			}
			return meta.Put(keyRollupOK, []byte("ok"))
		}
		stale = !zoneOK || !built
		return nil
	})
	return stale, err
}

// rebuild recomputes every rollup from the records, in chunks of
// transactions. The state key is cleared first and set last, so an
// interrupted rebuild is redone at the next open.
func (r *rollups) rebuild(db *bolt.DB, progress func(done int)) error {
	err := db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Delete(keyRollupOK); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketRollups, bucketOrgs} {
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
	const chunk = 20_000
	var after uint64
	done := 0
	for {
		var changes []Change
		var last uint64
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketRecords).Cursor()
			for k, v := c.Seek(seqKey(after + 1)); k != nil && len(changes) < chunk; k, v = c.Next() {
				st, err := decodeStored(v)
				if err != nil {
					return fmt.Errorf("entry %d: %w", binary.BigEndian.Uint64(k), err)
				}
				last = binary.BigEndian.Uint64(k)
				if !st.Deleted {
					changes = append(changes, Change{New: st})
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("rollups: rebuild: %w", err)
		}
		if last == 0 {
			break
		}
		if err := db.Update(func(tx *bolt.Tx) error { return r.apply(tx, changes) }); err != nil {
			return fmt.Errorf("rollups: rebuild: %w", err)
		}
		done += len(changes)
		after = last
		if progress != nil {
			progress(done)
		}
	}
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyRollupZone, []byte(r.loc.String())); err != nil {
			return err
		}
		return meta.Put(keyRollupOK, []byte("ok"))
	})
}

// Rollups reads the aggregates.
type Rollups struct {
	db  *bolt.DB
	tax *taxonomy.Taxonomy
	loc *time.Location
}

// Location is the time zone the cells' days are in.
func (r *Rollups) Location() *time.Location { return r.loc }

// Taxonomy is the tree the nodes come from.
func (r *Rollups) Taxonomy() *taxonomy.Taxonomy { return r.tax }

// View runs fn in one read transaction, so a multi-series answer is
// consistent.
func (r *Rollups) View(fn func(v *RollupView) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		return fn(&RollupView{tx: tx})
	})
}

// RollupView reads cells inside one transaction.
type RollupView struct{ tx *bolt.Tx }

// Each calls fn for every cell of (org, node, dim) whose day is in
// [from, to] (DayLayout strings, inclusive).
func (v *RollupView) Each(org, node, dim, from, to string, fn func(Cell, *Counts)) error {
	prefix := []byte(org + "\x00" + node + "\x00" + dim + "\x00")
	c := v.tx.Bucket(bucketRollups).Cursor()
	var cnt Counts
	for k, val := c.Seek(append(prefix, from...)); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		cell, ok := parseCell(k)
		if !ok {
			return errors.New("rollups: corrupt key")
		}
		if cell.Day > to {
			break
		}
		if err := decodeCounts(val, &cnt); err != nil {
			return err
		}
		fn(cell, &cnt)
	}
	return nil
}

// Orgs lists the org nodes with live records, each with its count.
func (v *RollupView) Orgs() map[string]int64 {
	out := make(map[string]int64)
	_ = v.tx.Bucket(bucketOrgs).ForEach(func(k, val []byte) error {
		n, _ := binary.Varint(val)
		out[string(k)] = n
		return nil
	})
	return out
}
