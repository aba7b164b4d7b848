package rollup

import (
	"encoding/binary"
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Name kinds in the names bucket.
const (
	nameOrg     = 'o'
	nameNode    = 'n'
	nameChannel = 'c'
	nameKind    = 'k'
)

// names interns org, node, channel and kind names as ids. The maps hold
// what is committed; a write transaction stages its new names and
// publishes them when it commits.
type names struct {
	mu   sync.RWMutex
	ids  map[string]uint32 // kind byte + name → id
	back map[uint32]string // id → name
}

func (n *names) load(tx *bolt.Tx) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ids, n.back = map[string]uint32{}, map[uint32]string{}
	return tx.Bucket(bucketNames).ForEach(func(k, v []byte) error {
		if len(k) > 0 && k[0] == 'n' && len(v) == 4 {
			id := binary.BigEndian.Uint32(v)
			n.ids[string(k[1:])] = id
			n.back[id] = string(k[2:])
		}
		return nil
	})
}

// lookup finds a committed id; tx (if not nil) covers names committed a
// moment ago that are not yet published.
func (n *names) lookup(tx *bolt.Tx, kind byte, name string) (uint32, bool) {
	full := string(kind) + name
	n.mu.RLock()
	id, ok := n.ids[full]
	n.mu.RUnlock()
	if !ok && tx != nil {
		if v := tx.Bucket(bucketNames).Get([]byte("n" + full)); len(v) == 4 {
			return binary.BigEndian.Uint32(v), true
		}
	}
	return id, ok
}

func (n *names) name(tx *bolt.Tx, id uint32) string {
	n.mu.RLock()
	s, ok := n.back[id]
	n.mu.RUnlock()
	if !ok && tx != nil {
		var k [5]byte
		k[0] = 'i'
		binary.BigEndian.PutUint32(k[1:], id)
		if v := tx.Bucket(bucketNames).Get(k[:]); len(v) > 0 {
			return string(v[1:])
		}
	}
	return s
}

// interner assigns ids inside one write transaction. It remembers every
// name and day it has resolved: a commit of a few hundred records asks for
// the same few dozen names thousands of times.
type interner struct {
	n      *names
	tx     *bolt.Tx
	staged map[string]uint32
	seen   map[nameRef]uint32
	days   map[string]uint16
}

type nameRef struct {
	kind byte
	name string
}

func (n *names) interner(tx *bolt.Tx) *interner {
	in := &interner{n: n, tx: tx, staged: map[string]uint32{}, seen: map[nameRef]uint32{}, days: map[string]uint16{}}
	tx.OnCommit(func() {
		n.mu.Lock()
		for full, id := range in.staged {
			n.ids[full] = id
			n.back[id] = full[1:]
		}
		n.mu.Unlock()
	})
	return in
}

func (in *interner) id(kind byte, name string) (uint32, error) {
	if id, ok := in.seen[nameRef{kind, name}]; ok {
		return id, nil
	}
	id, err := in.resolve(kind, name)
	if err == nil {
		in.seen[nameRef{kind, name}] = id
	}
	return id, err
}

// day parses a cell's day once per transaction.
func (in *interner) day(s string) (uint16, bool) {
	if d, ok := in.days[s]; ok {
		return d, true
	}
	d, ok := parseDay(s)
	if ok {
		in.days[s] = d
	}
	return d, ok
}

func (in *interner) resolve(kind byte, name string) (uint32, error) {
	full := string(kind) + name
	if id, ok := in.staged[full]; ok {
		return id, nil
	}
	if id, ok := in.n.lookup(in.tx, kind, name); ok {
		return id, nil
	}
	b := in.tx.Bucket(bucketNames)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if seq > 1<<32-1 {
		return 0, errors.New("rollups: out of name ids")
	}
	id := uint32(seq)
	var k [5]byte
	k[0] = 'i'
	binary.BigEndian.PutUint32(k[1:], id)
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], id)
	if err := b.Put([]byte("n"+full), v[:]); err != nil {
		return 0, err
	}
	if err := b.Put(k[:], []byte(full)); err != nil {
		return 0, err
	}
	in.staged[full] = id
	return id, nil
}
