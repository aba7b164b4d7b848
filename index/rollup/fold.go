package rollup

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
)

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
	b := meta(tx).Get(keyFoldMark)
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
			meta := meta(tx)
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
		r.follow() // a write whose rollups failed is retried here
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
