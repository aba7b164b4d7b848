package store

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
)

func feedRecord(id, text string) *Stored {
	return &Stored{Record: analyzer.Record{ID: id, Text: text}, IngestedAt: time.Unix(1, 0).UTC()}
}

// texts renders a commit's changes as old→new texts ("-" for none, "×"
// for a tombstone), for comparing what a follower was handed.
func texts(cm Commit) []string {
	var out []string
	for _, ch := range cm.Changes {
		s := ""
		for _, v := range []*Stored{ch.Old, ch.New} {
			switch {
			case v == nil:
				s += "-"
			case v.Deleted:
				s += "×"
			default:
				s += v.Record.Text
			}
			s += ">"
		}
		out = append(out, s)
	}
	return out
}

func counts(t *testing.T, s *Store) (feed, superseded int) {
	t.Helper()
	err := s.View(func(tx *bolt.Tx) error {
		feed, superseded = tx.Bucket(bucketFeed).Stats().KeyN, tx.Bucket(bucketSuperseded).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return feed, superseded
}

// Every write reaches every follower with the version a record had and the
// one it has now, in this process from memory and in the next from the
// file, superseded versions included; a commit leaves the feed, and its
// superseded versions the file, once every follower has applied it.
func TestFeedHandsEveryChangeToEveryFollower(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dongting.db")
	s, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	// a and b read the feed themselves; c keeps its data in the file and
	// is applied after every write.
	a, err := s.Follow("a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Follow("b", nil, nil); err != nil {
		t.Fatal(err)
	}
	var applied [][]string
	_, err = s.Follow("c", func(_ *bolt.Tx, changes []Change) error {
		applied = append(applied, texts(Commit{Changes: changes}))
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put([]*Stored{feedRecord("r1", "v1"), feedRecord("r2", "w1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put([]*Stored{feedRecord("r1", "v2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete("r1", time.Unix(2, 0)); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"->v1>", "->w1>"}, {"v1>v2>"}, {"v2>×>"}}
	if len(applied) != 3 || fmtSlice(applied[1]) != fmtSlice(want[1]) {
		t.Errorf("c was applied %v, want one write a commit: %v", applied, want)
	}
	check := func(f *Feed, where string) {
		t.Helper()
		got, err := f.Next(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d commits, want %d", where, len(got), len(want))
		}
		for i, cm := range got {
			if cm.Seq != uint64(i+1) || fmtSlice(texts(cm)) != fmtSlice(want[i]) {
				t.Errorf("%s: commit %d is %d %v, want %v", where, i, cm.Seq, texts(cm), want[i])
			}
		}
	}
	check(a, "in memory")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, _ = s.Follow("a", nil, nil)
	b, _ := s.Follow("b", nil, nil)
	check(a, "read back")
	if f, sup := counts(t, s); f != 3 || sup != 2 {
		t.Fatalf("feed %d, superseded %d before any follower applied it", f, sup)
	}
	if err := a.Ack(3); err != nil {
		t.Fatal(err)
	}
	if f, sup := counts(t, s); f != 3 || sup != 2 {
		t.Errorf("feed %d, superseded %d while b has applied nothing", f, sup)
	}
	if got, _ := a.Next(10); len(got) != 0 {
		t.Errorf("a applied everything and was handed %d commits", len(got))
	}
	if err := b.Ack(2); err != nil {
		t.Fatal(err)
	}
	if f, sup := counts(t, s); f != 1 || sup != 1 {
		t.Errorf("feed %d, superseded %d with both past commit 2", f, sup)
	}
	if err := b.Ack(3); err != nil {
		t.Fatal(err)
	}
	if f, sup := counts(t, s); f != 0 || sup != 0 {
		t.Errorf("feed %d, superseded %d with every follower at the end", f, sup)
	}

	// A follower the store has never seen starts in step, at the end.
	d, err := s.Follow("d", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Watermark() != 3 {
		t.Errorf("a new follower starts at %d, want 3", d.Watermark())
	}
}

func fmtSlice(s []string) string {
	out := ""
	for _, x := range s {
		out += x + ";"
	}
	return out
}

// With no follower ever attached (a tool that opens the store alone), a
// write leaves nothing in the feed.
func TestNoFeedWithoutFollowers(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 2 {
		if _, err := s.Put([]*Stored{feedRecord("r1", "v")}); err != nil {
			t.Fatal(err)
		}
	}
	if f, sup := counts(t, s); f != 0 || sup != 0 {
		t.Errorf("feed %d, superseded %d with no follower", f, sup)
	}
}

// A detached follower's commits are not kept in memory for it, and it is
// handed them from the file when it follows again.
func TestDetachedFollowerReadsBack(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, _ := s.Follow("a", nil, nil)
	a.Detach()
	if _, err := s.Put([]*Stored{feedRecord("r1", "v1")}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.feed.recent); n != 0 {
		t.Errorf("%d commits kept in memory for no attached follower", n)
	}
	a, _ = s.Follow("a", nil, nil)
	got, err := a.Next(10)
	if err != nil || len(got) != 1 || fmtSlice(texts(got[0])) != "->v1>;" {
		t.Errorf("read back %v (%v)", got, err)
	}
}

// A commit's handler may run after a later commit was already applied
// (handlers run once the writer lock is free): what every follower has
// passed is not kept, and no more than maxRecent commits are held in
// memory for a follower that does not keep up.
func TestFeedKeepsOnlyWhatFollowersStillNeed(t *testing.T) {
	var fl feedLog
	f := &Feed{at: 7}
	fl.attached = []*Feed{f}
	fl.keep(6, nil)
	fl.keep(7, nil)
	fl.keep(8, nil)
	if _, ok := fl.recent[8]; !ok || len(fl.recent) != 1 {
		t.Errorf("kept %v, want commit 8 alone", fl.recent)
	}
	for seq := uint64(9); seq < 9+2*maxRecent; seq++ {
		fl.keep(seq, nil)
	}
	if len(fl.recent) != maxRecent {
		t.Errorf("%d commits held, want at most %d", len(fl.recent), maxRecent)
	}
}

// A follower that fails holds back no other: the group write is retried as
// one write each, the failing follower stays where it was (logged once a
// minute, not at every write) and applies what it missed once it recovers.
func TestFailingFollowerHoldsBackNoOther(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var logs analyzertest.Buffer
	ok, _ := s.Follow("ok", func(*bolt.Tx, []Change) error { return nil }, nil)
	broken := true
	var got []string
	bad, _ := s.Follow("bad", func(_ *bolt.Tx, changes []Change) error {
		if broken {
			return errors.New("disk full")
		}
		for _, ch := range changes {
			got = append(got, ch.New.Record.Text)
		}
		return nil
	}, slog.New(slog.NewTextHandler(&logs, nil)))
	for _, text := range []string{"v1", "v2"} {
		if _, err := s.Put([]*Stored{feedRecord("r-"+text, text)}); err != nil {
			t.Fatalf("a follower's failure failed the write: %v", err)
		}
	}
	if ok.Watermark() != 2 || bad.Watermark() != 0 {
		t.Fatalf("watermarks ok %d, bad %d; want 2 and 0", ok.Watermark(), bad.Watermark())
	}
	if n := strings.Count(logs.String(), "following the records' changes failed"); n != 1 {
		t.Errorf("the failure was logged %d times, want once", n)
	}
	broken = false
	if _, err := s.Put([]*Stored{feedRecord("r-v3", "v3")}); err != nil {
		t.Fatal(err)
	}
	if ok.Watermark() != 3 || bad.Watermark() != 3 || fmtSlice(got) != "v1;v2;v3;" {
		t.Errorf("after recovering: ok %d, bad %d, bad applied %v", ok.Watermark(), bad.Watermark(), got)
	}
	if f, _ := counts(t, s); f != 0 {
		t.Errorf("%d commits left in the feed with both followers at the end", f)
	}
}

// A writer applies the followers up to its own commit, taking along what
// else is pending then in the same write, and returns once they have
// passed it: it never waits on commits made after its own (one that kept
// applying while others committed held every other writer behind it).
func TestWriterAppliesFollowersUpToItsOwnCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var calls [][]string
	f, err := s.Follow("c", func(_ *bolt.Tx, changes []Change) error {
		calls = append(calls, texts(Commit{Changes: changes}))
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put([]*Stored{feedRecord("1", "x")}); err != nil {
		t.Fatal(err)
	}
	first := f.Watermark()
	if len(calls) != 1 || first == 0 {
		t.Fatalf("after a put: %d applications, watermark %d; want 1 and the put's commit", len(calls), first)
	}
	// Two commits of other writers whose own followers' writes have not
	// run yet.
	var pending []uint64
	for _, text := range []string{"y", "z"} {
		err := s.db.Update(func(tx *bolt.Tx) error {
			seq, err := s.appendCommit(tx, []Change{{New: feedRecord(text, text)}}, []move{{new: 1000}}, false)
			pending = append(pending, seq)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.followed(first)
	if len(calls) != 1 || f.Watermark() != first {
		t.Fatalf("a writer whose commit was applied applied later ones: %d applications, watermark %d (want 1, %d)", len(calls), f.Watermark(), first)
	}
	s.followed(pending[0])
	if len(calls) != 2 || strings.Join(calls[1], " ") != "->y> ->z>" || f.Watermark() != pending[1] {
		t.Fatalf("the writer of %d: applications %q, watermark %d; want both pending commits in one, watermark %d", pending[0], calls, f.Watermark(), pending[1])
	}
	s.followed(pending[1])
	if len(calls) != 2 {
		t.Fatalf("the last writer applied again: %q", calls)
	}
}

// lastTx is the id of the store's last committed write transaction.
func lastTx(t *testing.T, s *Store) int {
	t.Helper()
	var id int
	if err := s.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// Followers that have applied every earlier commit apply a write's commit
// inside that write: a record sent on its own costs one write of the file
// (each write waits for the one in progress, a chunk of a rollups fold,
// say), and the answer after it counts the record.
func TestFollowersInStepApplyInTheRecordsWrite(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var applied []string
	apply := func(_ *bolt.Tx, changes []Change) error {
		for _, ch := range changes {
			applied = append(applied, ch.New.Record.Text)
		}
		return nil
	}
	a, _ := s.Follow("a", apply, nil)
	b, _ := s.Follow("b", apply, nil)
	for i, text := range []string{"v1", "v2"} {
		before := lastTx(t, s)
		if _, err := s.Put([]*Stored{feedRecord("r-"+text, text)}); err != nil {
			t.Fatal(err)
		}
		if n := lastTx(t, s) - before; n != 1 {
			t.Errorf("put %d took %d writes of the file, want 1", i+1, n)
		}
		if a.Watermark() != uint64(i+1) || b.Watermark() != uint64(i+1) {
			t.Errorf("after put %d: watermarks %d, %d", i+1, a.Watermark(), b.Watermark())
		}
	}
	if fmtSlice(applied) != "v1;v1;v2;v2;" {
		t.Errorf("applied %v, want each commit once per follower", applied)
	}
	if f, _ := counts(t, s); f != 0 {
		t.Errorf("%d commits left in the feed", f)
	}
}

// A follower failing inside the records' write costs no record: the write
// runs again without it, from the values as sent (an id the first run
// namespaced is namespaced once), and the other follower is applied.
func TestFollowerFailingInStepCostsNoRecord(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok, _ := s.Follow("ok", func(*bolt.Tx, []Change) error { return nil }, nil)
	fail := false
	bad, _ := s.Follow("bad", func(*bolt.Tx, []Change) error {
		if fail {
			return errors.New("disk full")
		}
		return nil
	}, nil)
	theirs := feedRecord("r1", "theirs")
	theirs.Record.Org = "华南区域/深圳"
	if _, err := s.Put([]*Stored{theirs}); err != nil {
		t.Fatal(err)
	}
	fail = true
	mine := feedRecord("r1", "mine")
	mine.Record.Org, mine.Scope = "华东区域/上海", "华东区域"
	out, err := s.Put([]*Stored{mine})
	if err != nil {
		t.Fatalf("a follower's failure failed the write: %v", err)
	}
	want := analyzer.NamespacedID("华东区域", "r1")
	if out[0].ID != want || out[0].Replaced {
		t.Fatalf("stored as %q (replaced %v), want %q, a record of its own", out[0].ID, out[0].Replaced, want)
	}
	for _, id := range []string{"r1", want} {
		if _, err := s.Get(id); err != nil {
			t.Errorf("get %q: %v", id, err)
		}
	}
	if ok.Watermark() != 2 || bad.Watermark() != 1 {
		t.Errorf("watermarks ok %d, bad %d; want 2 and 1", ok.Watermark(), bad.Watermark())
	}
	fail = false
	if _, err := s.Put([]*Stored{feedRecord("r2", "v3")}); err != nil {
		t.Fatal(err)
	}
	if ok.Watermark() != 3 || bad.Watermark() != 3 {
		t.Errorf("after recovering: ok %d, bad %d", ok.Watermark(), bad.Watermark())
	}
}
