package rollup

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

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
