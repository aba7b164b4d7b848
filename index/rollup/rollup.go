// Package rollup keeps the aggregates of the records: counts per day, org
// node, taxonomy node, dimension, channel and kind, moved by every commit of
// the store and read by scoring in consistent views.
package rollup

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"dongting/index/store"
	"dongting/taxonomy"
)

// Rollups are aggregates kept in step with the records: every write
// transaction that stores or removes a record moves them by the record's
// contribution, so a re-sent id moves its counts instead of adding to them.
// They are derived: Rebuild recomputes them from the records.
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
	bucketMeta    = []byte("rollup_meta")     // the rollups' state keys below
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

// Rollups are the aggregates of a store's records, kept in step with its
// commits.
type Rollups struct {
	db *store.Store
	r  *rollups
}

// Open opens the rollups of st (in zone loc, with the nodes of the taxonomy
// in force, which tax reads) and follows the store's change feed from here
// on: it creates their buckets, folds what the last run left in the log,
// or rebuilds them from the records when they are stale (never built, an
// interrupted rebuild, another layout, counter schema or zone), and applies
// the commits made since they last followed (a crash between a write and
// its rollups). Every later write of the store is applied before it
// returns. Call it before the store's first write.
func Open(st *store.Store, tax func() *taxonomy.Taxonomy, loc *time.Location, log *slog.Logger) (*Rollups, error) {
	ru := &rollups{tax: tax, loc: loc, log: log, pending: map[uint64]*logEntry{},
		foldEvery: 1000, foldCells: 1 << 22, foldChunk: defaultFoldChunk, kick: make(chan struct{}, 1)}
	stale, err := initRollups(st, loc)
	if err == nil {
		err = st.View(ru.names.load)
	}
	if err == nil {
		ru.feed, err = st.Follow(followerName, ru.apply, log)
	}
	if err == nil && !stale {
		_, err = ru.fold(st) // what the last run left in the log
	}
	if err == nil && stale {
		log.Warn("rollups are stale (never built, interrupted, an older layout, or another time zone): rebuilding from the store", "zone", loc.String())
		err = ru.rebuild(st, nil)
	}
	if err == nil {
		err = ru.catchUp()
	}
	if err != nil {
		return nil, err
	}
	return &Rollups{db: st, r: ru}, nil
}

// followerName is the rollups' name in the store's change feed.
const followerName = "rollups"

// follow applies what the store committed since the rollups last did; a
// failure (the disk, say) is retried at the next write or fold.
func (r *rollups) follow() {
	if err := r.catchUp(); err != nil {
		r.feed.Failed(err)
	}
}

// catchUp applies the change feed past the rollups' watermark, up to its
// end: each write appends the deltas of a batch of commits to the log and
// moves the watermark, so they are applied once.
func (r *rollups) catchUp() error {
	if err := r.feed.Drain(nil); err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	return nil
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

// Location is the time zone the cells' days are in.
func (r *Rollups) Location() *time.Location { return r.r.loc }

// Taxonomy is the tree the nodes come from.
func (r *Rollups) Taxonomy() *taxonomy.Taxonomy { return r.r.tax() }
