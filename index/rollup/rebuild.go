package rollup

import (
	"fmt"
	"math"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
)

// initRollups creates the buckets and reports whether the rollups must be
// rebuilt: never built, a rebuild was interrupted, or the time zone their
// days are in has changed.
func initRollups(db *store.Store, loc *time.Location) (stale bool, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRollups, bucketOrgs, bucketLog, bucketNames, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := moveStateKeys(tx); err != nil {
			return err
		}
		meta := meta(tx)
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
		// What the feed holds so far is in the records read below.
		if err := r.feed.ResetIn(tx); err != nil {
			return err
		}
		for _, k := range [][]byte{keyRollupOK, keyFoldMark} {
			if err := meta(tx).Delete(k); err != nil {
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
	return db.Update(func(tx *bolt.Tx) error { return markBuilt(meta(tx), r.loc) })
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

// meta is the rollups' bucket of state keys.
func meta(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bucketMeta) }

// moveStateKeys moves the state keys that stores of earlier releases kept
// in the store's own meta bucket into the rollups' bucket.
func moveStateKeys(tx *bolt.Tx) error {
	old, own := store.Meta(tx), meta(tx)
	for _, k := range [][]byte{keyRollupZone, keyRollupOK, keyCounters, keyFoldMark} {
		v := old.Get(k)
		if v == nil {
			continue
		}
		if own.Get(k) == nil {
			if err := own.Put(k, append([]byte(nil), v...)); err != nil {
				return err
			}
		}
		if err := old.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
