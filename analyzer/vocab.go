package analyzer

import "math/bits"

// vocabulary is the word table (Lexicon.vocab) with a fast path for the
// words most tokens are, one or two CJK characters: a word of up to
// maxPacked bytes is packed into an integer, the key of an open-addressing
// table whose slots hold the entry, so its lookup hashes no string and
// reads one cache line instead of a map group and the key's bytes
// elsewhere.
type vocabulary struct {
	words map[string]wordInfo // every entry; longer words are looked up here
	slots []vocabSlot
	shift uint // the hash's top bits index slots
	mask  uint64
}

type vocabSlot struct {
	key  uint64 // packWord of the entry's word; 0 is empty
	info wordInfo
}

// maxPacked is the longest word packWord packs: its bytes and its length
// in eight bytes.
const maxPacked = 7

// packWord is w's bytes (little-endian) with its length in the top byte.
func packWord(w string) (uint64, bool) {
	if len(w) == 0 || len(w) > maxPacked {
		return 0, false
	}
	k := uint64(len(w)) << 56
	for i := range len(w) {
		k |= uint64(w[i]) << (8 * i)
	}
	return k, true
}

func newVocabulary(words map[string]wordInfo) *vocabulary {
	n := 0
	for w := range words {
		if _, ok := packWord(w); ok {
			n++
		}
	}
	b := max(4, bits.Len(uint(2*n))) // at most half full
	v := &vocabulary{words: words, slots: make([]vocabSlot, 1<<b), shift: uint(64 - b), mask: 1<<b - 1}
	for w, in := range words {
		k, ok := packWord(w)
		if !ok {
			continue
		}
		j := v.home(k)
		for v.slots[j].key != 0 {
			j = (j + 1) & v.mask
		}
		v.slots[j] = vocabSlot{k, in}
	}
	return v
}

func (v *vocabulary) home(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> v.shift }

// lookup is the entry of w, if it has one.
func (v *vocabulary) lookup(w string) (wordInfo, bool) {
	k, ok := packWord(w)
	if !ok {
		in, ok := v.words[w]
		return in, ok
	}
	for j := v.home(k); ; j = (j + 1) & v.mask {
		switch s := &v.slots[j]; s.key {
		case k:
			return s.info, true
		case 0:
			return wordInfo{}, false
		}
	}
}
