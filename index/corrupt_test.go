package index_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
)

// flipBits flips a bit every stride bytes of every segment file of the
// search index in dir (the corpus must be closed).
func flipBits(t *testing.T, dir string, stride int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(index.SearchDir(dir), "shard-*", "store", "*.zap"))
	if len(files) == 0 {
		t.Fatal("no segment files")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for off := len(b) / 7; off < len(b)-64; off += stride {
			b[off] ^= 0x10
		}
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A segment with flipped bits is found at open by its checksum: the index
// is moved aside and rebuilt from the store while the corpus answers,
// which says so (Rebuilding, Page.Partial) until every record is back.
func TestCorruptSegmentIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	recs := indextest.Demo(t, 11, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 1000)
	c := openCorpus(t, dir)
	ingestAll(t, c, recs)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	flipBits(t, dir, 4096)

	// The indexer is held after its first batch, so the rebuild is seen
	// half done.
	hold, first := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var logs bytes.Buffer
	c = indextest.Open(t, index.Options{Dir: dir, BatchSize: 100, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		OnIndexed: func(int, time.Duration) { once.Do(func() { close(first); <-hold }) }})
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	defer func() { release(); c.Close() }()
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"search index is corrupt: moved aside, rebuilding it from the store"`) || !strings.Contains(logs.String(), "checksum") {
		t.Errorf("log: %s", logs.String())
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "search.bleve.corrupt-*", "shard-*", "store", "*.zap"))
	if len(aside) == 0 {
		t.Error("the corrupt index was not kept")
	}
	<-first
	rb, err := c.Rebuilding()
	if err != nil || rb == nil || rb.Reason != "corrupt" || rb.Records != 1000 || rb.Indexed >= 1000 || rb.Done >= 1 {
		t.Fatalf("half way: %+v, %v", rb, err)
	}
	st, err := c.Status()
	if err != nil || st.Rebuild == nil {
		t.Errorf("status half way: %+v, %v", st, err)
	}
	p := search(t, c, fulltext.Query{Size: 1})
	if !p.Partial || p.Records != 1000 || p.Indexed != rb.Indexed || p.Total >= 1000 {
		t.Errorf("a search half way: partial %v, %d of %d indexed, total %d", p.Partial, p.Indexed, p.Records, p.Total)
	}

	release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitIndexed(ctx, c.Store().LastSeq()); err != nil {
		t.Fatal(err)
	}
	if rb, err := c.Rebuilding(); rb != nil || err != nil {
		t.Errorf("after the rebuild: %+v, %v", rb, err)
	}
	p = search(t, c, fulltext.Query{Size: 1})
	if p.Partial || p.Total != 1000 {
		t.Errorf("after the rebuild: partial %v, total %d", p.Partial, p.Total)
	}
}

// An index that opens fine is not rebuilding, nor is a new store's.
func TestNoRebuildWithoutCause(t *testing.T) {
	dir := t.TempDir()
	c := openCorpus(t, dir)
	if rb, _ := c.Rebuilding(); rb != nil {
		t.Errorf("a new corpus: %+v", rb)
	}
	ingestAll(t, c, slices.Clone(corpus))
	c.Close()
	// A segment file no snapshot names (torn by a kill while it was
	// written) is not a corruption: Bleve does not read it.
	torn := filepath.Join(index.SearchDir(dir), "shard-0", "store", "0000000000ff.zap")
	if err := os.WriteFile(torn, bytes.Repeat([]byte{0xff}, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	c = openCorpus(t, dir)
	defer c.Close()
	if rb, _ := c.Rebuilding(); rb != nil {
		t.Errorf("reopened: %+v", rb)
	}
	if p := search(t, c, fulltext.Query{}); p.Partial || p.Total != uint64(len(corpus)) {
		t.Errorf("reopened: %+v", p)
	}
}
