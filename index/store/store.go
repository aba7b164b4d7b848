package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/golang/snappy"
	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
)

// Buckets. records is append-only by sequence number (a re-sent id gets a
// new sequence and its old entry is removed), so it is filled to 100 %.
var (
	bucketRecords = []byte("records") // seq (8 bytes, big-endian) → Stored (encodeStored)
	bucketIDs     = []byte("ids")     // caller id → seq
	bucketMeta    = []byte("meta")
	keyCustomer   = []byte("customer_key") // HMAC key for customer ids
)

// RecordFault says whether a failed write is one a record caused (a key or
// value bbolt refuses), which storing the chunk's records one by one
// isolates; a fault of the store itself (disk full, a closed file) would
// only repeat.
func RecordFault(err error) bool {
	return errors.Is(err, bolt.ErrKeyTooLarge) || errors.Is(err, bolt.ErrValueTooLarge) || errors.Is(err, bolt.ErrKeyRequired)
}

// ErrNotFound is returned for an id that is not stored.
var ErrNotFound = errors.New("not found")

// Stored is one record as kept in bbolt: the source of truth from which the
// search index and the rollups are derived. Its words are PII-masked and its
// customer id is a keyed hash.
type Stored struct {
	// Seq is the entry's key; it is not in the stored bytes (decodeStored
	// sets it from the key), so a record can be encoded before its write
	// transaction assigns it.
	Seq        uint64             `json:"seq,omitempty"`
	Record     analyzer.Record    `json:"record"`
	Analysis   *analyzer.Analysis `json:"analysis,omitempty"`
	IngestedAt time.Time          `json:"ingested_at"`
	Deleted    bool               `json:"deleted,omitempty"`

	// Scope is the org scope its sender is confined to, if any: see place.
	// It is not stored.
	Scope string `json:"-"`

	enc []byte // encodeStored of the entry without Seq (Encode)
}

// Encode encodes the entry ahead of Put, outside the write transaction
// every writer waits for (Corpus.Ingest encodes in its parallel analysis).
func (s *Stored) Encode() error {
	var err error
	s.enc, err = encodeStored(s)
	return err
}

// Text is the searchable text: the record's text, or its turns one per line.
func (s *Stored) Text() string {
	if len(s.Record.Turns) == 0 {
		return s.Record.Text
	}
	n := 0
	for _, t := range s.Record.Turns {
		n += len(t.Text) + 1
	}
	b := make([]byte, 0, n)
	for i, t := range s.Record.Turns {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, t.Text...)
	}
	return string(b)
}

// Store is the bbolt record store.
type Store struct {
	db   *bolt.DB
	key  []byte
	feed feedLog
}

// Change is one record's move in a write: Old is what was stored before
// (nil for a new id), New what is stored now (a tombstone for a delete).
type Change struct {
	Old, New *Stored
	// Retag marks a record re-analyzed after a taxonomy change, not sent
	// again: rollups and the index follow it, alerts do not.
	Retag bool
}

// A stored entry is its JSON compressed with snappy behind a zero byte
// (JSON never starts with one): records repeat their field names and tag
// paths, and compressed they are about a third smaller. Entries
// written as plain JSON by earlier releases still read.
const snappyMark = 0

func encodeStored(st *Stored) ([]byte, error) {
	bare := *st
	bare.Seq = 0 // the key holds it
	js, err := json.Marshal(&bare)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1, 1+snappy.MaxEncodedLen(len(js)))
	out[0] = snappyMark
	enc := snappy.Encode(out[1:cap(out)], js) // written in place, after the mark
	return out[:1+len(enc)], nil
}

// decodeStored reads an entry stored under key (an 8-byte sequence
// number; entries of earlier releases also carry it inside).
func decodeStored(key, b []byte) (*Stored, error) {
	if len(b) > 0 && b[0] == snappyMark {
		js, err := snappy.Decode(nil, b[1:])
		if err != nil {
			return nil, fmt.Errorf("corrupt entry: %w", err)
		}
		b = js
	}
	st := new(Stored)
	if err := json.Unmarshal(b, st); err != nil {
		return nil, err
	}
	if len(key) == 8 {
		st.Seq = binary.BigEndian.Uint64(key)
	}
	return st, nil
}

// Open opens (or creates) the store file at path. populate reads the
// whole file in at open (MAP_POPULATE): a full scan through a cold mmap
// pages in at only 14–30 MB/s, so a reindex asks for it.
func Open(path string, populate bool) (*Store, error) {
	opt := &bolt.Options{Timeout: 2 * time.Second}
	if populate {
		opt.MmapFlags = syscall.MAP_POPULATE
	}
	db, err := bolt.Open(path, 0o600, opt)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is locked by another process (a running server?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketIDs, bucketMeta, bucketFeed, bucketSuperseded, bucketFollowers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if k := meta.Get(keyCustomer); k != nil {
			s.key = append([]byte(nil), k...)
			return nil
		}
		s.key = make([]byte, 32)
		if _, err := rand.Read(s.key); err != nil {
			return err
		}
		return meta.Put(keyCustomer, s.key)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: init %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// View runs fn in a read transaction of the store's file. The packages
// that keep their own data beside the records (keys, alerts, rollups,
// taxonomy versions, labels) use it and Update on their own buckets; the
// derived ones (rollups, alerts) follow the records through the change
// feed (Follow) and record how far they got in their own writes (AckIn).
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// Update runs fn in a write transaction (see View).
func (s *Store) Update(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }

// ReleaseMapped drops the file's pages from this process's resident memory
// (see releaseMapped).
func (s *Store) ReleaseMapped() error { return releaseMapped(s.db) }

// HashCustomer turns a customer id into a keyed hash: equal ids stay equal
// (repeat complaints can be found) but the id itself is never stored.
func (s *Store) HashCustomer(id string) string {
	if id == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	return "c_" + hex.EncodeToString(m.Sum(nil)[:12])
}

// SeqKey is a sequence number as a sortable bbolt key (8 bytes, big-endian).
func SeqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// Outcome says what a put did to one record.
type Outcome struct {
	ID       string `json:"id"`
	Seq      uint64 `json:"seq"`
	Replaced bool   `json:"replaced"`
}

// Put stores records in one transaction: when it returns nil, all of them
// are durable. A record whose id is already stored replaces it (its old
// entry is removed and it gets a new sequence number, so the index sees
// the change).
func (s *Store) Put(items []*Stored) ([]Outcome, error) {
	out := make([]Outcome, len(items))
	// Encoded before the write transaction, which every writer waits for
	// (Corpus.Ingest encodes in its parallel analysis already).
	for _, it := range items {
		if it.enc == nil {
			var err error
			if it.enc, err = encodeStored(it); err != nil {
				return nil, fmt.Errorf("store: put: %w", err)
			}
		}
	}
	defer func() {
		for _, it := range items {
			it.enc = nil
		}
	}()
	// A second run of the write (see update) starts from the ids and
	// encodings as sent: place may have namespaced them.
	sent := make([]Stored, len(items))
	for i, it := range items {
		sent[i] = *it
	}
	reset := func() {
		for i, it := range items {
			it.Record.ID, it.enc = sent[i].Record.ID, sent[i].enc
		}
	}
	var commit uint64 // the feed's, 0: none
	err := s.update(func(tx *bolt.Tx, inStep bool) error {
		recs, ids := tx.Bucket(bucketRecords), tx.Bucket(bucketIDs)
		recs.FillPercent = 1.0 // not stored in the file: set in every write tx
		changes := make([]Change, len(items))
		moves := make([]move, len(items))
		follow := hasFollowers(tx)
		for i, it := range items {
			changes[i].New = it
			seq, err := recs.NextSequence()
			if err != nil {
				return err
			}
			it.Seq = seq
			if it.Scope != "" {
				if err := place(ids, recs, it); err != nil {
					return err
				}
			}
			id := []byte(it.Record.ID)
			moves[i].new = seq
			if old := ids.Get(id); old != nil {
				out[i].Replaced = true
				if follow {
					b := recs.Get(old)
					prev, err := decodeStored(old, b)
					if err != nil {
						return fmt.Errorf("record %q: %w", it.Record.ID, err)
					}
					changes[i].Old = prev
					moves[i].old = prev.Seq
					if err := supersede(tx, old, b); err != nil {
						return err
					}
				}
				if err := recs.Delete(old); err != nil {
					return err
				}
			}
			if err := recs.Put(SeqKey(seq), it.enc); err != nil {
				return err
			}
			if err := ids.Put(id, SeqKey(seq)); err != nil {
				return err
			}
			out[i].ID, out[i].Seq = it.Record.ID, seq
		}
		var err error
		commit, err = s.appendCommit(tx, changes, moves, inStep)
		return err
	}, reset)
	if err != nil {
		return nil, fmt.Errorf("store: put: %w", err)
	}
	s.followed(commit)
	return out, nil
}

// place settles the id of a record sent by a caller confined to a scope: its
// namespaced copy if one is kept already, else its own id unless a record
// outside the scope holds that id (analyzer.NamespacedID). Deciding inside
// the write transaction leaves no gap for another writer between the look
// and the put.
func place(ids, recs *bolt.Bucket, it *Stored) error {
	own := it.Record.ID
	ns := analyzer.NamespacedID(it.Scope, own)
	if ids.Get([]byte(ns)) == nil {
		seq := ids.Get([]byte(own))
		if seq == nil {
			return nil
		}
		prev, err := decodeStored(seq, recs.Get(seq))
		if err != nil {
			return fmt.Errorf("record %q: %w", own, err)
		}
		if analyzer.InScope(prev.Record.Org, it.Scope) {
			return nil
		}
	}
	it.Record.ID = ns
	enc, err := encodeStored(it)
	it.enc = enc
	return err
}

// Delete removes a record and leaves a tombstone at a new sequence number,
// so the index deletes it too (the ids bucket holds live records only). It returns the tombstone's sequence.
func (s *Store) Delete(id string, now time.Time) (uint64, error) {
	var seq uint64
	var commit uint64 // the feed's, 0: none
	err := s.update(func(tx *bolt.Tx, inStep bool) error {
		recs, ids := tx.Bucket(bucketRecords), tx.Bucket(bucketIDs)
		recs.FillPercent = 1.0
		old := ids.Get([]byte(id))
		if old == nil {
			return ErrNotFound
		}
		entry := recs.Get(old)
		prev, err := decodeStored(old, entry)
		if err != nil {
			return fmt.Errorf("record %q: %w", id, err)
		}
		if err := supersede(tx, old, entry); err != nil {
			return err
		}
		if err := recs.Delete(old); err != nil {
			return err
		}
		if seq, err = recs.NextSequence(); err != nil {
			return err
		}
		tomb := &Stored{Seq: seq, Record: analyzer.Record{ID: id}, IngestedAt: now, Deleted: true}
		b, err := encodeStored(tomb)
		if err != nil {
			return err
		}
		if err := recs.Put(SeqKey(seq), b); err != nil {
			return err
		}
		if err := ids.Delete([]byte(id)); err != nil {
			return err
		}
		commit, err = s.appendCommit(tx, []Change{{Old: prev, New: tomb}}, []move{{old: prev.Seq, new: seq}}, inStep)
		return err
	}, nil)
	if errors.Is(err, ErrNotFound) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("store: delete: %w", err)
	}
	s.followed(commit)
	return seq, nil
}

// Get fetches one record by the caller's id.
func (s *Store) Get(id string) (*Stored, error) {
	var st *Stored
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		st, err = getTx(tx, id)
		return err
	})
	return st, err
}

// GetMany fetches records by id in one read transaction; missing ids are
// left nil.
func (s *Store) GetMany(ids []string) ([]*Stored, error) {
	out := make([]*Stored, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		for i, id := range ids {
			st, err := getTx(tx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out[i] = st
		}
		return nil
	})
	return out, err
}

func getTx(tx *bolt.Tx, id string) (*Stored, error) {
	seq := tx.Bucket(bucketIDs).Get([]byte(id))
	if seq == nil {
		return nil, ErrNotFound
	}
	b := tx.Bucket(bucketRecords).Get(seq)
	if b == nil {
		return nil, ErrNotFound
	}
	st, err := decodeStored(seq, b)
	if err != nil {
		return nil, fmt.Errorf("store: record %q: %w", id, err)
	}
	if st.Deleted {
		return nil, ErrNotFound
	}
	return st, nil
}

// Scan calls fn for up to limit entries (tombstones included) with a
// sequence number above after, in order.
func (s *Store) Scan(after uint64, limit int, fn func(*Stored) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		n := 0
		for k, v := c.Seek(SeqKey(after + 1)); k != nil && n < limit; k, v = c.Next() {
			st, err := decodeStored(k, v)
			if err != nil {
				return fmt.Errorf("store: entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if err := fn(st); err != nil {
				return err
			}
			n++
		}
		return nil
	})
}

// Stats are the store's counts.
type Stats struct {
	Records uint64 `json:"records"` // live records
	LastSeq uint64 `json:"last_seq"`
}

// Stats counts live records and reads the last sequence number.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		st.LastSeq = tx.Bucket(bucketRecords).Sequence()
		st.Records = uint64(tx.Bucket(bucketIDs).Stats().KeyN)
		return nil
	})
	return st, err
}

// Meta is the store's bucket of small state keys in tx. The derived stores
// that commit with the records keep their state keys there too (the
// rollups: their time zone, state and fold mark).
func Meta(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bucketMeta) }

// LastSeqIn is the highest sequence number handed out, as tx sees it.
func LastSeqIn(tx *bolt.Tx) uint64 { return tx.Bucket(bucketRecords).Sequence() }

// LastSeq is the highest sequence number handed out.
func (s *Store) LastSeq() uint64 {
	var seq uint64
	_ = s.db.View(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketRecords).Sequence()
		return nil
	})
	return seq
}

// Backup writes a consistent snapshot of the whole store (records,
// rollups, alerts, outbox, routing) to w inside one read transaction, so
// writers go on meanwhile. size, if not nil, learns the snapshot's size
// before the first byte is written. It returns the bytes written.
func (s *Store) Backup(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// CheckBackup opens a backup file read-only and counts its live records:
// a file that is not a Dongting store is an error.
func CheckBackup(path string) (Stats, error) {
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return Stats{}, fmt.Errorf("backup %s: not a bbolt file: %w", path, err)
	}
	defer db.Close()
	var st Stats
	err = db.View(func(tx *bolt.Tx) error {
		recs, ids := tx.Bucket(bucketRecords), tx.Bucket(bucketIDs)
		if recs == nil || ids == nil || tx.Bucket(bucketMeta) == nil {
			return errors.New("not a Dongting store (no records, ids or meta bucket)")
		}
		st.LastSeq = recs.Sequence()
		st.Records = uint64(ids.Stats().KeyN)
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("backup %s: %w", path, err)
	}
	return st, nil
}
