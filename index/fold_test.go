package index_test

import (
	"bytes"
	"errors"
	bolt "go.etcd.io/bbolt"
	"log/slog"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/index"
	"dongting/index/indextest"
	"dongting/index/rollup"
	"dongting/index/store"
)

// rollupTotals sums every org × node series (dimension All) and every org ×
// dimension series (node All) over the demo year, as one snapshot.
func rollupTotals(t *testing.T, c *index.Corpus) map[string]rollup.Counts {
	t.Helper()
	out := map[string]rollup.Counts{}
	nodes := []string{rollup.All, rollup.Untagged}
	for _, n := range c.Rollups().Taxonomy().Nodes() {
		nodes = append(nodes, n.ID)
	}
	err := c.Rollups().View(func(v *rollup.View) error {
		for org := range v.Orgs() {
			for _, node := range nodes {
				var sum rollup.Counts
				err := v.EachDay(org, node, rollup.All, "20250101", "20261231", nil, func(_ string, n *rollup.Counts) { sum.Add(n) })
				if err != nil {
					return err
				}
				if sum != (rollup.Counts{}) {
					out[org+" "+node] = sum
				}
				sum = rollup.Counts{}
				err = v.EachDay(org, rollup.All, node, "20250101", "20261231", nil, func(_ string, n *rollup.Counts) { sum.Add(n) })
				if err != nil {
					return err
				}
				if sum != (rollup.Counts{}) {
					out[org+" dim "+node] = sum
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A fold goes in several transactions, a slice of the series each. A
// reader between them sees the same totals as before and after (the fold
// mark keeps it from counting a folded delta twice), and a fold stopped
// halfway resumes from its mark and counts nothing twice.
func TestFoldInChunks(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	recs := indextest.Demo(t, 11, end, 600)
	dir := t.TempDir()
	c := openCorpus(t, dir)
	// In many commits: a fold sums the deltas of many log entries.
	inCommits := func(recs []analyzer.Record) {
		for i := 0; i < len(recs); i += 40 {
			ingestAll(t, c, recs[i:min(i+40, len(recs))])
		}
	}
	inCommits(recs[:400])
	want := rollupTotals(t, c)
	if len(want) < 50 {
		t.Fatalf("only %d series: the test needs many", len(want))
	}
	chunks := 0
	index.FoldInChunks(c, 300, func() error {
		chunks++
		if got := rollupTotals(t, c); !maps.Equal(got, want) {
			t.Errorf("between chunks %d and %d the totals differ", chunks, chunks+1)
		}
		return nil
	})
	if n, err := index.FoldNow(c); err != nil || n == 0 {
		t.Fatalf("fold: %d commits, %v", n, err)
	}
	if chunks < 5 {
		t.Errorf("the fold went in %d transactions", chunks+1)
	}
	if got := rollupTotals(t, c); !maps.Equal(got, want) {
		t.Error("the totals differ after the fold")
	}
	if n, err := index.FoldNow(c); err != nil || n != 0 {
		t.Errorf("a second fold found %d commits (%v)", n, err)
	}

	// Stopped after three transactions: readers still see exact totals;
	// closing resumes the fold, and the reopened store agrees.
	// Replacements take deltas out of cells that earlier entries put in.
	changed := slices.Clone(recs[:40])
	for i := range changed {
		changed[i].Text, changed[i].Turns = "电梯坏了三天没人修", nil
	}
	inCommits(append(changed, recs[400:]...))
	want = rollupTotals(t, c)
	crash := errors.New("stopped")
	chunks = 0
	index.FoldInChunks(c, 300, func() error {
		if chunks++; chunks == 3 {
			return crash
		}
		return nil
	})
	if _, err := index.FoldNow(c); !errors.Is(err, crash) {
		t.Fatalf("fold: %v, want the stop", err)
	}
	if got := rollupTotals(t, c); !maps.Equal(got, want) {
		t.Error("the totals differ after a fold stopped halfway")
	}
	index.FoldInChunks(c, 300, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = openCorpus(t, dir)
	defer c.Close()
	if got := rollupTotals(t, c); !maps.Equal(got, want) {
		t.Error("the totals differ after the stopped fold resumed")
	}
	if n, err := index.FoldNow(c); err != nil || n != 0 {
		t.Errorf("after resuming, a fold found %d commits (%v)", n, err)
	}
}

// Rollups written with another number of counters are rebuilt at open (the
// cells store only their non-zero counters, so a new one would otherwise
// read as zero in every old cell); a store from before the count was kept
// has the count of that time and opens as it is, and so does one whose
// state keys are still in the store's own bucket (they are moved).
func TestRollupsOfAnotherCounterSchemaAreRebuilt(t *testing.T) {
	own, old := []byte("rollup_meta"), []byte("meta") // the rollups' state bucket, and the store's where earlier releases kept it
	for _, c := range []struct {
		name    string
		age     func(tx *bolt.Tx) error
		rebuilt bool
	}{
		{"counters changed", func(tx *bolt.Tx) error { return tx.Bucket(own).Put([]byte("rollup_counters"), []byte("18")) }, true},
		{"unreadable", func(tx *bolt.Tx) error { return tx.Bucket(own).Put([]byte("rollup_counters"), []byte("x")) }, true},
		{"kept before the count", func(tx *bolt.Tx) error { return tx.Bucket(own).Delete([]byte("rollup_counters")) }, false},
		{"state in the store's bucket (earlier releases)", func(tx *bolt.Tx) error {
			c := tx.Bucket(own).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if err := tx.Bucket(old).Put(k, v); err != nil {
					return err
				}
			}
			if err := tx.DeleteBucket(own); err != nil {
				return err
			}
			return tx.Bucket(old).Delete([]byte("rollup_counters"))
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			co := openCorpus(t, dir)
			ingestAll(t, co, corpus)
			co.Close()
			st, err := store.Open(filepath.Join(dir, "dongting.db"), false)
			if err != nil {
				t.Fatal(err)
			}
			err = st.Update(c.age)
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			co = indextest.Open(t, index.Options{Dir: dir, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			defer co.Close()
			if got := strings.Contains(logs.String(), "rollups are stale"); got != c.rebuilt {
				t.Errorf("rebuilt %v, want %v", got, c.rebuilt)
			}
			var total int64
			err = co.Rollups().View(func(v *rollup.View) error {
				return v.Each("", rollup.All, rollup.All, "20260101", "20261231", func(_ rollup.Cell, n *rollup.Counts) { total += n[rollup.CVolume] })
			})
			if err != nil || total != int64(len(corpus)) {
				t.Errorf("volume %d (%v), want %d", total, err, len(corpus))
			}
		})
	}
}

// The rollups follow the store's change feed: writes committed while they
// did not run (a crash between a write and its rollups, here a write by a
// process with the store alone) are applied when the corpus opens next,
// re-sends and deletes included, and the totals are those a rebuild from
// the records gives.
func TestRollupsCatchUpWithWritesTheyMissed(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	recs := indextest.Demo(t, 5, end, 120)
	dir := t.TempDir()
	c := openCorpus(t, dir)
	ingestAll(t, c, recs)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	st := indextest.DB(t, filepath.Join(dir, "dongting.db"))
	olds, _, err := st.Range(0, math.MaxUint64, 30)
	if err != nil {
		t.Fatal(err)
	}
	var news []*store.Stored
	for i, old := range olds {
		cp := *old
		if i%2 == 0 {
			cp.Record.ID = "copy-" + old.Record.ID // a new record
		} else {
			cp.Analysis.Severity, cp.Analysis.Praise = "P1", !old.Analysis.Praise // a re-send, changed
		}
		news = append(news, &cp)
	}
	if _, err := st.Put(news); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Delete(recs[len(recs)-1].ID, end); err != nil {
		t.Fatal(err)
	}
	st.Close()

	c = openCorpus(t, dir)
	defer c.Close()
	got := rollupTotals(t, c)
	var volume int64
	err = c.Rollups().View(func(v *rollup.View) error {
		return v.Each("", rollup.All, rollup.All, "20250101", "20261231", func(_ rollup.Cell, n *rollup.Counts) { volume += n[rollup.CVolume] })
	})
	if err != nil || volume != int64(len(recs)+15-1) {
		t.Errorf("volume %d (%v) after catching up, want %d", volume, err, len(recs)+15-1)
	}
	if err := c.RebuildRollups(nil); err != nil {
		t.Fatal(err)
	}
	if want := rollupTotals(t, c); !maps.Equal(got, want) {
		t.Error("the totals caught up differ from a rebuild's")
	}
}
