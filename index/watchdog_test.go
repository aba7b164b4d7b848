package index_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/index"
	"dongting/index/indextest"
	"dongting/index/store"
)

// holdWriter keeps a write transaction open until release is closed: the
// watchdog's stacks must show it.
func holdWriter(db *store.Store, held chan<- struct{}, release <-chan struct{}) error {
	return db.Update(func(tx *bolt.Tx) error {
		close(held)
		<-release
		return nil
	})
}

// TestWriteWatchdog: a write transaction held past the threshold is
// logged as an ERROR with the holder's stack and counted; the count stays
// and the wait goes back to 0 once it is released, and writes go on.
func TestWriteWatchdog(t *testing.T) {
	logs := &analyzertest.Buffer{}
	c := indextest.Open(t, index.Options{Dir: t.TempDir(), WriteStall: 100 * time.Millisecond,
		Log: slog.New(slog.NewJSONHandler(logs, nil))})
	defer c.Close()
	if w := c.WriteWatch(); w.Stalls != 0 {
		t.Fatalf("stalls before any write: %+v", w)
	}
	held, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	defer free() // before the close, which waits for the writer lock
	errc := make(chan error, 1)
	go func() { errc <- holdWriter(c.Store(), held, release) }()
	<-held
	waitUntil(t, "the stall to be counted", func() bool { return c.WriteWatch().Stalls == 1 })
	if w := c.WriteWatch(); w.Waiting < 100*time.Millisecond {
		t.Errorf("waiting %s while the writer is held", w.Waiting)
	}
	var entry struct {
		Level, Msg, Stacks string
	}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "held the writer lock too long") {
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatal(err)
			}
		}
	}
	if entry.Level != "ERROR" || !strings.Contains(entry.Stacks, "index_test.holdWriter") {
		t.Fatalf("stall log %q (level %s) lacks the holder's stack", entry.Msg, entry.Level)
	}
	free()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the lock to be free", func() bool { return c.WriteWatch().Waiting == 0 })
	indextest.Ingest(t, c, []analyzer.Record{{ID: "w1", Kind: "complaint", Org: "华南区域/深圳/碧海花园",
		OccurredAt: "2026-03-02T09:00:00+08:00", Text: "电梯坏了"}})
	if w := c.WriteWatch(); w.Stalls != 1 {
		t.Fatalf("after release: %+v", w)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
