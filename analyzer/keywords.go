package analyzer

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"dongting/taxonomy"
)

// maxKeywords is the most keywords an analysis lists.
const maxKeywords = 10

type wordCount struct {
	w string
	n int
}

// keywords are the most frequent content words (two runes or more, not
// stopwords), most frequent first.
// The keywords are appended to out (which should have room for
// maxKeywords).
func keywords(tokens []taxonomy.Token, infos []wordInfo, counts []wordCount, out []string) ([]string, []wordCount) {
	// Records are short: a linear scan beats a map per record.
	index := map[string]int(nil)
	for i, t := range tokens {
		if infos[i].flags&wStop != 0 || len(t.Text) < 4 || utf8.RuneCountInString(t.Text) < 2 || isASCIIWord(t.Text) && strings.Trim(t.Text, "0123456789") == "" {
			continue
		}
		found := -1
		if index != nil {
			if i, ok := index[t.Text]; ok {
				found = i
			}
		} else {
			for i := range counts {
				if counts[i].w == t.Text {
					found = i
					break
				}
			}
		}
		if found >= 0 {
			counts[found].n++
			continue
		}
		counts = append(counts, wordCount{t.Text, 1})
		if len(counts) == 64 { // long text: switch to a map
			index = make(map[string]int, 256)
			for i, c := range counts {
				index[c.w] = i
			}
		} else if index != nil {
			index[t.Text] = len(counts) - 1
		}
	}
	slices.SortStableFunc(counts, func(a, b wordCount) int { return cmp.Compare(b.n, a.n) })
	out = out[:0:min(len(counts), maxKeywords)]
	for _, c := range counts[:min(len(counts), maxKeywords)] {
		out = append(out, c.w)
	}
	return out, counts
}
