package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Range reads up to limit live records with a sequence number in
// (after, bound], in order, in one read transaction. It returns them and
// the last sequence number read (bound when nothing is left).
func (s *Store) Range(after, bound uint64, limit int) ([]*Stored, uint64, error) {
	var out []*Stored
	last := bound
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketRecords).Cursor()
		for k, v := cur.Seek(SeqKey(after + 1)); k != nil; k, v = cur.Next() {
			seq := binary.BigEndian.Uint64(k)
			if seq > bound {
				break
			}
			if len(out) == limit {
				last = seq - 1
				break
			}
			st, err := decodeStored(k, v)
			if err != nil {
				return fmt.Errorf("store: entry %d: %w", seq, err)
			}
			if !st.Deleted {
				out = append(out, st)
			}
			last = seq
		}
		return nil
	})
	return out, last, err
}

// Progress is a caller's own key written in the same transaction as a
// Replace, so that a job's position commits with the records it moved.
type Progress struct {
	Bucket, Key, Value []byte
}

// Replace stores news[i] (a record of olds[i], re-analyzed) in place of
// olds[i] under a new sequence number, so the index and the rollups follow;
// a nil news[i] is skipped, and so is a record re-sent or deleted since it
// was read (what is stored is newer). The changes are marked Retag. It
// returns the records replaced.
func (s *Store) Replace(olds, news []*Stored, progress Progress) (int, error) {
	n := 0
	var commit uint64 // the feed's, 0: none
	err := s.update(func(tx *bolt.Tx, inStep bool) error {
		recs, ids := tx.Bucket(bucketRecords), tx.Bucket(bucketIDs)
		recs.FillPercent = 1.0
		var changes []Change
		var moves []move
		n = 0
		for i, old := range olds {
			st := news[i]
			if st == nil {
				continue
			}
			id := []byte(old.Record.ID)
			if cur := ids.Get(id); cur == nil || binary.BigEndian.Uint64(cur) != old.Seq {
				continue
			}
			seq, err := recs.NextSequence()
			if err != nil {
				return err
			}
			st.Seq = seq
			b, err := encodeStored(st)
			if err != nil {
				return err
			}
			if err := supersede(tx, SeqKey(old.Seq), recs.Get(SeqKey(old.Seq))); err != nil {
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
			moves = append(moves, move{old: old.Seq, new: seq, retag: true})
			n++
		}
		var err error
		if commit, err = s.appendCommit(tx, changes, moves, inStep); err != nil {
			return err
		}
		if progress.Bucket == nil {
			return nil
		}
		b := tx.Bucket(progress.Bucket)
		if b == nil {
			return fmt.Errorf("no bucket %q", progress.Bucket)
		}
		return b.Put(progress.Key, progress.Value)
	}, nil)
	if err != nil {
		return 0, fmt.Errorf("store: replace: %w", err)
	}
	s.followed(commit)
	return n, nil
}

// Newest calls fn with up to limit live records with a sequence number
// below before (0: any), newest first, read in one transaction. It returns
// the lowest sequence number read (0 when the start was reached). Callers
// page with it so that no read transaction stays open long: a long one
// holds up the writers when the file must grow.
func (s *Store) Newest(before uint64, limit int, fn func(*Stored) error) (uint64, error) {
	var low uint64
	err := s.db.View(func(tx *bolt.Tx) error {
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
