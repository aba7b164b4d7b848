package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"

	"dongting/index/work"
	bolt "go.etcd.io/bbolt"
)

// RetagBatch re-analyzes up to limit live records with a sequence number in
// (after, bound] with the current analyzer and stores the new analyses:
// each record gets a new sequence number (so the index follows) and the
// rollups move with it, while its text, time and ingest time stay. A record
// re-sent or deleted between the read and the write is left alone (what
// is stored is newer). save runs inside the write transaction with the
// last sequence number read, so a resumed run starts after it. It returns
// that sequence number (bound when nothing is left) and the live records
// read (re-tagged, or left alone as newer).
func (c *Corpus) RetagBatch(ctx context.Context, after, bound uint64, limit int, save func(tx *bolt.Tx, last uint64, read int) error) (uint64, int, error) {
	var olds []*Stored
	last := bound
	err := c.store.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketRecords).Cursor()
		for k, v := cur.Seek(SeqKey(after + 1)); k != nil; k, v = cur.Next() {
			seq := binary.BigEndian.Uint64(k)
			if seq > bound {
				break
			}
			if len(olds) == limit {
				last = seq - 1
				break
			}
			st, err := decodeStored(k, v)
			if err != nil {
				return fmt.Errorf("store: entry %d: %w", seq, err)
			}
			if !st.Deleted {
				olds = append(olds, st)
			}
			last = seq
		}
		return nil
	})
	if err != nil {
		return after, 0, err
	}
	an := c.Analyzer()
	news := make([]*Stored, len(olds))
	errs := make([]error, len(olds))
	err = work.Parallel(ctx, runtime.GOMAXPROCS(0), len(olds), func(i int) {
		a, err := an.Analyze(&olds[i].Record)
		if err != nil {
			errs[i] = err
			return
		}
		news[i] = &Stored{Record: olds[i].Record, Analysis: a, IngestedAt: olds[i].IngestedAt}
	})
	if err != nil {
		return after, 0, err
	}
	n := 0
	err = c.store.db.Update(func(tx *bolt.Tx) error {
		recs, ids := tx.Bucket(bucketRecords), tx.Bucket(bucketIDs)
		recs.FillPercent = 1.0
		var changes []Change
		n = 0
		for i, old := range olds {
			if errs[i] != nil {
				// Stored records were valid when they were accepted; an
				// analyzer that now refuses one keeps the old analysis.
				continue
			}
			id := []byte(old.Record.ID)
			if cur := ids.Get(id); cur == nil || binary.BigEndian.Uint64(cur) != old.Seq {
				continue
			}
			st := news[i]
			seq, err := recs.NextSequence()
			if err != nil {
				return err
			}
			st.Seq = seq
			b, err := encodeStored(st)
			if err != nil {
				return err
			}
			if err := recs.Delete(SeqKey(old.Seq)); err != nil {
				return err
			}
			if err := recs.Put(SeqKey(seq), b); err != nil {
				return err
			}
			if err := ids.Put(id, SeqKey(seq)); err != nil {
				return err
			}
			changes = append(changes, Change{Old: old, New: st, Retag: true})
			n++
		}
		if err := c.store.derive(tx, changes); err != nil {
			return err
		}
		return save(tx, last, len(olds))
	})
	if err != nil {
		return after, 0, fmt.Errorf("index: retag: %w", err)
	}
	if n > 0 {
		c.kick()
	}
	return last, len(olds), nil
}

// Newest calls fn with up to limit live records with a sequence number
// below before (0: any), newest first, read in one transaction. It returns
// the lowest sequence number read (0 when the start was reached). Callers
// page with it so that no read transaction stays open long: a long one
// holds up the writers when the file must grow.
func (c *Corpus) Newest(before uint64, limit int, fn func(*Stored) error) (uint64, error) {
	var low uint64
	err := c.store.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketRecords).Cursor()
		var k, v []byte
		if before == 0 {
			k, v = cur.Last()
		} else {
			cur.Seek(SeqKey(before))
			k, v = cur.Prev()
		}
		n := 0
		for ; k != nil && n < limit; k, v = cur.Prev() {
			low = binary.BigEndian.Uint64(k)
			st, err := decodeStored(k, v)
			if err != nil {
				return fmt.Errorf("store: entry %d: %w", low, err)
			}
			if st.Deleted {
				continue
			}
			if err := fn(st); err != nil {
				return err
			}
			n++
		}
		if k == nil {
			low = 0
		}
		return nil
	})
	return low, err
}

// Records counts the live records.
func (c *Corpus) Records() (int, error) {
	st, err := c.store.Stats()
	return int(st.Records), err
}
