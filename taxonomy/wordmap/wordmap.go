// Package wordmap is a read-only map from words to values for lookups per
// token. Most Chinese tokens are one or two characters (three or six bytes
// of UTF-8); such a word is packed into an integer, the key of an
// open-addressing table whose slots hold the value, so its lookup hashes no
// string and reads one cache line, where a Go map reads a group and then
// the key's bytes elsewhere. Longer words are looked up in a Go map.
package wordmap

import "math/bits"

// Map is built once by New and then only read (safe for concurrent use).
type Map[V any] struct {
	long  map[string]V // the words longer than maxPacked
	slots []slot[V]
	shift uint // the hash's top bits index slots
	mask  uint64
}

type slot[V any] struct {
	key uint64 // pack of the word; 0 is empty
	val V
}

// maxPacked is the longest word pack packs: its bytes and its length fit
// in eight bytes.
const maxPacked = 7

// pack is w's bytes (little-endian) with its length in the top byte.
func pack(w string) (uint64, bool) {
	if len(w) == 0 || len(w) > maxPacked {
		return 0, false
	}
	k := uint64(len(w)) << 56
	for i := range len(w) {
		k |= uint64(w[i]) << (8 * i)
	}
	return k, true
}

// New builds a map holding the entries of m; m is not kept.
func New[V any](m map[string]V) *Map[V] {
	n := 0
	for w := range m {
		if _, ok := pack(w); ok {
			n++
		}
	}
	b := max(4, bits.Len(uint(2*n))) // at most half full
	t := &Map[V]{long: map[string]V{}, slots: make([]slot[V], 1<<b), shift: uint(64 - b), mask: 1<<b - 1}
	for w, v := range m {
		k, ok := pack(w)
		if !ok {
			t.long[w] = v
			continue
		}
		j := t.home(k)
		for t.slots[j].key != 0 {
			j = (j + 1) & t.mask
		}
		t.slots[j] = slot[V]{k, v}
	}
	return t
}

func (t *Map[V]) home(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

// Get is the value of w, if it has one.
func (t *Map[V]) Get(w string) (V, bool) {
	k, ok := pack(w)
	if !ok {
		v, ok := t.long[w]
		return v, ok
	}
	for j := t.home(k); ; j = (j + 1) & t.mask {
		switch s := &t.slots[j]; s.key {
		case k:
			return s.val, true
		case 0:
			var zero V
			return zero, false
		}
	}
}
