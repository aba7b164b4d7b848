package index

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

var bucketDict = []byte("dictionary") // word → DictEntry JSON

// DictEntry is a segmenter word changed over the API: added or removed,
// applied at once and again at every start.
type DictEntry struct {
	Word    string    `json:"word"`
	Removed bool      `json:"removed,omitempty"`
	At      time.Time `json:"at"`
}

// MaxWordRunes bounds a dictionary word.
const MaxWordRunes = 32

// CheckWord says why a word cannot go into the dictionary ("" if it can).
func CheckWord(w string) string {
	switch {
	case w == "":
		return "empty"
	case !utf8.ValidString(w):
		return "not valid UTF-8"
	case utf8.RuneCountInString(w) > MaxWordRunes:
		return fmt.Sprintf("longer than %d characters", MaxWordRunes)
	case strings.IndexFunc(w, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "contains white space or control characters"
	}
	return ""
}

// ChangeWords adds and removes segmenter words: stored first (so they are
// applied at the next start), then applied to the running segmenter under
// its write lock (gojieba's AddWord is not safe during a Cut). Documents
// indexed before keep their old cut until a reindex. It returns the
// removed words the segmenter still cuts whole (jieba's own words).
func (c *Corpus) ChangeWords(add, remove []string) ([]string, error) {
	now := c.opt.Now().UTC()
	err := c.store.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketDict)
		if err != nil {
			return err
		}
		for _, list := range []struct {
			words   []string
			removed bool
		}{{add, false}, {remove, true}} {
			for _, w := range list.words {
				v, _ := json.Marshal(DictEntry{Word: w, Removed: list.removed, At: now})
				if err := b.Put([]byte(w), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index: dictionary: %w", err)
	}
	seg := c.Analyzer().Segmenter()
	seg.AddWords(add...)
	return seg.RemoveWords(remove...), nil
}

// Dictionary lists the words changed over the API, by word.
func (c *Corpus) Dictionary() ([]DictEntry, error) {
	out := []DictEntry{}
	err := c.store.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDict)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var e DictEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Word < out[j].Word })
	return out, err
}

// applyDictionary replays the stored changes on the segmenter at open.
func (c *Corpus) applyDictionary() error {
	entries, err := c.Dictionary()
	if err != nil {
		return err
	}
	var add, remove []string
	for _, e := range entries {
		if e.Removed {
			remove = append(remove, e.Word)
		} else {
			add = append(add, e.Word)
		}
	}
	seg := c.Analyzer().Segmenter()
	seg.AddWords(add...)
	seg.RemoveWords(remove...)
	return nil
}
