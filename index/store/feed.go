package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The change feed: every write transaction appends one commit to it, the
// moves of its records (the sequence numbers of the version a record had
// and of the one it has now). A derived store (the rollups, the alerts)
// follows the feed from its own watermark, in transactions of its own, the
// way the search index follows the records: a second implementation of one
// needs nothing but Follow. Versions a write took out of the records stay
// in the superseded bucket until every follower has passed the commit.
var (
	bucketFeed       = []byte("feed")       // commit seq → encodeCommit
	bucketSuperseded = []byte("superseded") // record seq → the entry that seq held, no longer live
	bucketFollowers  = []byte("followers")  // follower name → the last commit it applied (8 bytes)
)

// Commit is one write transaction's changes, as the feed hands them out.
type Commit struct {
	Seq     uint64
	Changes []Change
}

// move is a change as the feed stores it.
type move struct {
	old, new uint64 // record seqs; 0: none
	retag    bool
}

func encodeCommit(moves []move) []byte {
	b := binary.AppendUvarint(nil, uint64(len(moves)))
	for _, m := range moves {
		var flags byte
		if m.retag {
			flags = 1
		}
		b = append(b, flags)
		b = binary.AppendUvarint(b, m.old)
		b = binary.AppendUvarint(b, m.new)
	}
	return b
}

func decodeCommit(b []byte) ([]move, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errors.New("corrupt feed entry")
	}
	b = b[k:]
	out := make([]move, n)
	for i := range out {
		if len(b) == 0 {
			return nil, errors.New("corrupt feed entry")
		}
		out[i].retag = b[0]&1 != 0
		b = b[1:]
		for _, p := range []*uint64{&out[i].old, &out[i].new} {
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, errors.New("corrupt feed entry")
			}
			*p, b = v, b[k:]
		}
	}
	return out, nil
}

// feedLog is the store's side of the feed in this process: the commits
// made here that some attached follower has not applied yet, kept decoded
// so that a follower need not read back what it was just handed.
type feedLog struct {
	mu       sync.Mutex
	recent   map[uint64][]Change
	attached []*Feed
	groupMu  sync.Mutex // one group write of the followers at a time (followed)
}

// Feed is one follower's position in the change feed.
type Feed struct {
	s    *Store
	name string
	mu   sync.Mutex // one application at a time
	at   uint64     // the last commit applied, as committed
	// apply writes what the follower derives from changes in tx, a write
	// of the store's file (nil: the follower keeps its data elsewhere and
	// calls Next and Ack itself).
	apply    ApplyFunc
	log      *slog.Logger
	reported time.Time // when Failed last logged
}

// ApplyFunc writes what a follower derives from a batch of changes inside
// tx, a write transaction of the store's file.
type ApplyFunc func(tx *bolt.Tx, changes []Change) error

// followBatch is how many commits one write of the followers applies.
const followBatch = 256

// Follow attaches a follower named name (a stable name: its watermark is
// stored under it) and returns its feed. A follower the store has never
// seen starts at the end of the feed: it is in step with the records it
// derives from, or rebuilds itself from them. A follower that keeps its
// data in the store's file gives apply: every write of this process is
// applied before it returns, inside the write while the follower is in
// step (appendCommit), else in one more write for every such follower
// that moves their watermarks (or, should one fail, one write each, so a
// failing follower holds back no other; it is retried at the next write,
// and Drain retries it too). Attach every follower before the first
// write.
func (s *Store) Follow(name string, apply ApplyFunc, log *slog.Logger) (*Feed, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Feed{s: s, name: name, apply: apply, log: log}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFollowers)
		if v := b.Get([]byte(name)); len(v) == 8 {
			f.at = binary.BigEndian.Uint64(v)
			return nil
		}
		f.at = tx.Bucket(bucketFeed).Sequence()
		return b.Put([]byte(name), SeqKey(f.at))
	})
	if err != nil {
		return nil, fmt.Errorf("store: follow %s: %w", name, err)
	}
	s.feed.mu.Lock()
	s.feed.attached = append(s.feed.attached, f)
	s.feed.mu.Unlock()
	return f, nil
}

// Detach stops running the follower's hook and keeping commits in memory
// for it; what it has not applied stays in the file for its next Follow.
func (f *Feed) Detach() {
	fl := &f.s.feed
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for i, g := range fl.attached {
		if g == f {
			fl.attached = append(fl.attached[:i], fl.attached[i+1:]...)
			break
		}
	}
	fl.dropApplied()
}

// Watermark is the last commit the follower applied.
func (f *Feed) Watermark() uint64 {
	f.s.feed.mu.Lock()
	defer f.s.feed.mu.Unlock()
	return f.at
}

// Next returns up to max commits after the follower's watermark, oldest
// first: from memory when this process made them, else read back. A
// follower calls Next and Ack from one goroutine at a time.
func (f *Feed) Next(max int) ([]Commit, error) {
	fl := &f.s.feed
	fl.mu.Lock()
	at := f.at
	var out []Commit
	for seq := at + 1; len(out) < max; seq++ {
		ch, ok := fl.recent[seq]
		if !ok {
			break
		}
		out = append(out, Commit{Seq: seq, Changes: ch})
	}
	fl.mu.Unlock()
	if len(out) > 0 {
		// Every later commit of this process runs the hook again.
		return out, nil
	}
	// Made before this process attached the follower: read them back.
	err := f.s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFeed).Cursor()
		for k, v := c.Seek(SeqKey(at + 1)); k != nil && len(out) < max; k, v = c.Next() {
			cm, err := readCommit(tx, k, v)
			if err != nil {
				return err
			}
			out = append(out, cm)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: feed of %s: %w", f.name, err)
	}
	return out, nil
}

// readCommit decodes a stored commit, its versions looked up by seq among
// the live entries and the superseded ones.
func readCommit(tx *bolt.Tx, k, v []byte) (Commit, error) {
	seq := binary.BigEndian.Uint64(k)
	moves, err := decodeCommit(v)
	if err != nil {
		return Commit{}, fmt.Errorf("commit %d: %w", seq, err)
	}
	cm := Commit{Seq: seq, Changes: make([]Change, len(moves))}
	for i, m := range moves {
		cm.Changes[i].Retag = m.retag
		for _, p := range []struct {
			seq uint64
			to  **Stored
		}{{m.old, &cm.Changes[i].Old}, {m.new, &cm.Changes[i].New}} {
			if p.seq == 0 {
				continue
			}
			key := SeqKey(p.seq)
			b := tx.Bucket(bucketRecords).Get(key)
			if b == nil {
				b = tx.Bucket(bucketSuperseded).Get(key)
			}
			if b == nil {
				return Commit{}, fmt.Errorf("commit %d: version %d is gone", seq, p.seq)
			}
			if *p.to, err = decodeStored(key, b); err != nil {
				return Commit{}, fmt.Errorf("commit %d: version %d: %w", seq, p.seq, err)
			}
		}
	}
	return cm, nil
}

// AckIn records, inside a write transaction of the store's file (a
// follower that keeps its data there writes it in the same one), that the
// follower has applied every commit up to seq; commits every follower has
// passed leave the feed.
func (f *Feed) AckIn(tx *bolt.Tx, seq uint64) error {
	if err := tx.Bucket(bucketFollowers).Put([]byte(f.name), SeqKey(seq)); err != nil {
		return err
	}
	if err := trimFeed(tx); err != nil {
		return err
	}
	tx.OnCommit(func() { f.s.feed.advance(f, seq) })
	return nil
}

// Drain applies the commits past the follower's watermark, up to the end
// of the feed, with apply (nil: the follower's own): per write of the
// store's file, up to followBatch commits' changes go to apply and the
// watermark moves with what apply wrote, so each commit is applied once.
func (f *Feed) Drain(apply ApplyFunc) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drain(apply)
}

func (f *Feed) drain(apply ApplyFunc) error {
	if apply == nil {
		apply = f.apply
	}
	for {
		commits, err := f.Next(followBatch)
		if err != nil || len(commits) == 0 {
			return err
		}
		var changes []Change
		for _, cm := range commits {
			changes = append(changes, cm.Changes...)
		}
		err = f.s.db.Update(func(tx *bolt.Tx) error {
			if err := apply(tx, changes); err != nil {
				return err
			}
			return f.AckIn(tx, commits[len(commits)-1].Seq)
		})
		if err != nil {
			return err
		}
	}
}

// Failed logs a failure to apply the feed (the follower retries at the next
// write or tick), at most once a minute: a follower that keeps failing
// would otherwise log at every write.
func (f *Feed) Failed(err error) {
	f.s.feed.mu.Lock()
	now := time.Now()
	quiet := now.Sub(f.reported) < time.Minute
	if !quiet {
		f.reported = now
	}
	f.s.feed.mu.Unlock()
	if !quiet {
		f.log.Error("following the records' changes failed; retrying at the next write", "follower", f.name, "applied_up_to", f.Watermark(), "err", err)
	}
}

// Ack is AckIn in a transaction of its own, for a follower that keeps its
// data elsewhere.
func (f *Feed) Ack(seq uint64) error {
	return f.s.db.Update(func(tx *bolt.Tx) error { return f.AckIn(tx, seq) })
}

// ResetIn moves the follower to the end of the feed inside tx: a follower
// that rebuilds itself from the records (with no writer running) does so
// in the transaction that clears it.
func (f *Feed) ResetIn(tx *bolt.Tx) error { return f.AckIn(tx, tx.Bucket(bucketFeed).Sequence()) }

func (fl *feedLog) advance(f *Feed, seq uint64) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	f.at = seq
	fl.dropApplied()
}

// dropApplied forgets the commits every attached follower has applied
// (all of them when none is attached).
func (fl *feedLog) dropApplied() {
	low := uint64(1<<64 - 1)
	for _, g := range fl.attached {
		low = min(low, g.at)
	}
	for k := range fl.recent {
		if k <= low {
			delete(fl.recent, k)
		}
	}
}

// trimFeed removes the commits every registered follower has applied and
// the superseded versions only they referred to.
func trimFeed(tx *bolt.Tx) error {
	low := uint64(1<<64 - 1)
	n := 0
	err := tx.Bucket(bucketFollowers).ForEach(func(_, v []byte) error {
		if len(v) == 8 {
			low = min(low, binary.BigEndian.Uint64(v))
			n++
		}
		return nil
	})
	if err != nil || n == 0 {
		return err
	}
	feed, sup := tx.Bucket(bucketFeed), tx.Bucket(bucketSuperseded)
	c := feed.Cursor()
	for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) <= low; k, v = c.First() {
		moves, err := decodeCommit(v)
		if err != nil {
			return err
		}
		for _, m := range moves {
			if m.old != 0 {
				if err := sup.Delete(SeqKey(m.old)); err != nil {
					return err
				}
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// appendCommit adds a write's changes to the feed inside its transaction
// and returns the commit's seq. It is a no-op (0) while no follower was
// ever attached (tools that open the store alone: keys, backup). With
// inStep, the followers that keep their data in the store's file and have
// applied every earlier commit apply this one in the same transaction and
// move their watermarks in it: a record sent on its own then waits for one
// write of the file, not two (each waits for the write in progress, a
// chunk of a rollups fold, say). Should one of them fail, the error is
// errInStep and the write is run again without (see update).
func (s *Store) appendCommit(tx *bolt.Tx, changes []Change, moves []move, inStep bool) (uint64, error) {
	if !hasFollowers(tx) || len(moves) == 0 {
		return 0, nil
	}
	feed := tx.Bucket(bucketFeed)
	feed.FillPercent = 1.0
	seq, err := feed.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := feed.Put(SeqKey(seq), encodeCommit(moves)); err != nil {
		return 0, err
	}
	s.feed.mu.Lock()
	keep := len(s.feed.attached) > 0
	var fs []*Feed
	marks := tx.Bucket(bucketFollowers)
	for _, f := range s.feed.attached {
		// In step by the watermark in the file: the one in memory moves
		// only once a write's commit handlers run, after the next writer
		// may have begun. One application at a time: a follower another
		// goroutine is applying (it holds f.mu and waits for this write)
		// is not in step, and takes this commit along in its own write.
		if !inStep || f.apply == nil {
			continue
		}
		if v := marks.Get([]byte(f.name)); len(v) == 8 && binary.BigEndian.Uint64(v) == seq-1 && f.mu.TryLock() {
			fs = append(fs, f)
		}
	}
	s.feed.mu.Unlock()
	if keep {
		tx.OnCommit(func() { s.feed.keep(seq, changes) })
	}
	for i, f := range fs {
		err := f.apply(tx, changes)
		if err == nil {
			err = f.AckIn(tx, seq)
		}
		if err != nil {
			for _, g := range fs[i:] {
				g.mu.Unlock()
			}
			return 0, fmt.Errorf("%w: %s: %w", errInStep, f.name, err)
		}
		f.mu.Unlock()
	}
	return seq, nil
}

// errInStep is a follower failing to apply a commit inside the write that
// made it.
var errInStep = errors.New("a follower in step failed")

// update runs fn, a write of records ending in appendCommit, in one
// transaction with the followers in step. Should one of them fail, the
// transaction is rolled back and fn runs again without them, after reset
// (nil: nothing to undo) has undone what the first run changed in the
// caller's values: the records are written whatever a follower does, and
// the followers catch up in a write of their own (followed).
func (s *Store) update(fn func(tx *bolt.Tx, inStep bool) error, reset func()) error {
	err := s.db.Update(func(tx *bolt.Tx) error { return fn(tx, true) })
	if !errors.Is(err, errInStep) {
		return err
	}
	if reset != nil {
		reset()
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(tx, false) })
}

// maxRecent bounds the commits kept in memory: a follower that keeps
// failing (or falls far behind) reads the rest back from the file instead
// of holding every record since in the heap.
const maxRecent = 1024

// keep holds a commit for the attached followers that have yet to apply it.
// Commit handlers run after the writer lock is released, so a later commit
// can be applied (read back) before an earlier one's handler runs: one
// every follower has passed is not kept.
func (fl *feedLog) keep(seq uint64, changes []Change) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if len(fl.recent) >= maxRecent {
		return
	}
	low := uint64(1<<64 - 1)
	for _, g := range fl.attached {
		low = min(low, g.at)
	}
	if seq <= low {
		return
	}
	if fl.recent == nil {
		fl.recent = map[uint64][]Change{}
	}
	fl.recent[seq] = changes
}

// supersede keeps the entry at seq (about to leave the records) for the
// followers that have not yet applied the commit that replaces it.
func supersede(tx *bolt.Tx, seq []byte, entry []byte) error {
	if !hasFollowers(tx) {
		return nil
	}
	return tx.Bucket(bucketSuperseded).Put(seq, append([]byte(nil), entry...))
}

// followed applies the committed write whose commit is seq (0: none) for
// every attached follower that keeps its data in the store's file, in one
// write (see Follow), together with whatever else is pending then. It
// returns as soon as every such follower has passed seq: one that has
// already (another writer's group write took it along) costs nothing, and
// a writer never waits on commits made after its own. Without that bound,
// a writer that kept applying while others committed held the others
// behind it for as long as commits kept coming (a fold of the rollups,
// which holds the file's writer lock chunk after chunk, stretched that to
// the fold's length).
func (s *Store) followed(seq uint64) {
	if seq == 0 {
		return
	}
	s.feed.mu.Lock()
	var fs []*Feed
	for _, f := range s.feed.attached {
		if f.apply != nil {
			fs = append(fs, f)
		}
	}
	s.feed.mu.Unlock()
	if len(fs) == 0 {
		return
	}
	s.feed.groupMu.Lock()
	defer s.feed.groupMu.Unlock()
	for _, f := range fs {
		f.mu.Lock()
		defer f.mu.Unlock()
	}
	for {
		type part struct {
			f       *Feed
			last    uint64
			changes []Change
		}
		var parts []part
		for _, f := range fs {
			if f.Watermark() >= seq {
				continue
			}
			commits, err := f.Next(followBatch)
			if err != nil {
				f.Failed(err)
				continue
			}
			if len(commits) == 0 {
				continue
			}
			p := part{f: f, last: commits[len(commits)-1].Seq}
			for _, cm := range commits {
				p.changes = append(p.changes, cm.Changes...)
			}
			parts = append(parts, p)
		}
		if len(parts) == 0 {
			return
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, p := range parts {
				if err := p.f.apply(tx, p.changes); err != nil {
					return fmt.Errorf("%s: %w", p.f.name, err)
				}
				if err := p.f.AckIn(tx, p.last); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// Each on its own, so that one failing holds back no other.
			for _, p := range parts {
				if err := p.f.drain(nil); err != nil {
					p.f.Failed(err)
				}
			}
			return
		}
	}
}

func hasFollowers(tx *bolt.Tx) bool {
	k, _ := tx.Bucket(bucketFollowers).Cursor().First()
	return k != nil
}

// FeedLag is how many commits the follower named name has not applied yet
// (0 for one never attached).
func (s *Store) FeedLag(name string) uint64 {
	var lag uint64
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketFollowers).Get([]byte(name)); len(v) == 8 {
			lag = tx.Bucket(bucketFeed).Sequence() - binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return lag
}
