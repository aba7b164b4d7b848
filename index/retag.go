package index

import (
	"context"
	"fmt"
	"runtime"

	"dongting/index/store"
	"dongting/index/work"
)

// RetagBatch re-analyzes up to limit live records with a sequence number in
// (after, bound] with the current analyzer and stores the new analyses:
// each record gets a new sequence number (so the index follows) and the
// rollups move with it, while its text, time and ingest time stay. A record
// re-sent or deleted between the read and the write is left alone (what
// is stored is newer). save, given the last sequence number read and the
// records read, names the caller's position to write in the same
// transaction, so a resumed run starts after it. It returns that sequence
// number (bound when nothing is left) and the live records read (re-tagged,
// or left alone as newer).
func (c *Corpus) RetagBatch(ctx context.Context, after, bound uint64, limit int, save func(last uint64, read int) (store.Progress, error)) (uint64, int, error) {
	olds, last, err := c.store.Range(after, bound, limit)
	if err != nil {
		return after, 0, err
	}
	an := c.Analyzer()
	news := make([]*store.Stored, len(olds))
	err = work.Parallel(ctx, runtime.GOMAXPROCS(0), len(olds), func(i int) {
		// store.Stored records were valid when they were accepted; an analyzer
		// that now refuses one keeps the old analysis (news[i] stays nil).
		if a, err := an.Analyze(&olds[i].Record); err == nil {
			news[i] = &store.Stored{Record: olds[i].Record, Analysis: a, IngestedAt: olds[i].IngestedAt}
		}
	})
	if err != nil {
		return after, 0, err
	}
	progress, err := save(last, len(olds))
	if err != nil {
		return after, 0, err
	}
	n, err := c.store.Replace(olds, news, progress)
	if err != nil {
		return after, 0, fmt.Errorf("index: retag: %w", err)
	}
	if n > 0 {
		c.kick()
	}
	return last, len(olds), nil
}

// Newest calls fn with up to limit live records with a sequence number
// below before (0: any), newest first (see store.Store.Newest).
func (c *Corpus) Newest(before uint64, limit int, fn func(*store.Stored) error) (uint64, error) {
	return c.store.Newest(before, limit, fn)
}

// Records counts the live records.
func (c *Corpus) Records() (int, error) {
	st, err := c.store.Stats()
	return int(st.Records), err
}
