package fulltext

import (
	"cmp"
	"html"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/search"
)

// Snippets are cut here, not by Bleve's highlighter: it cuts a fragment at
// every match and scores each against every match, so a record with
// thousands of matches (a 1 MiB one) cost more than a second a search.
// Here the matches are sorted once and at most MaxSnippets fragments of at
// most SnippetRunes runes are cut around the first of them: a hit costs
// the sort of its match offsets and the runes shown, whatever its length.
const (
	// MaxSnippets is how many fragments a hit shows.
	MaxSnippets = 3
	// SnippetRunes is how many runes of the record's text one fragment
	// holds (the <mark> tags and the "…" at a cut end aside).
	SnippetRunes = 200
)

// snippets are the fragments of text around its matches (byte offsets of
// the matched terms, as the index analyzer found them in the text): text
// HTML-escaped, each match in <mark>, "…" where a fragment cuts the text.
// Without matches (a query without words) it is the text's beginning.
func snippets(text string, locs search.TermLocationMap) []string {
	if text == "" {
		return nil
	}
	var spans [][2]int
	for _, ls := range locs {
		for _, l := range ls {
			s, e := int(l.Start), int(l.End)
			// Offsets of another version of the record (replaced since it
			// was indexed) may not fit this text: they are skipped.
			if s >= 0 && s < e && e <= len(text) && utf8.RuneStart(text[s]) && (e == len(text) || utf8.RuneStart(text[e])) {
				spans = append(spans, [2]int{s, e})
			}
		}
	}
	if len(spans) == 0 {
		return []string{fragment(text, 0, runesAfter(text, 0, SnippetRunes), nil)}
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if last := &merged[len(merged)-1]; sp[0] <= last[1] { // overlapping or adjacent (电梯 in 电梯困人)
			last[1] = max(last[1], sp[1])
		} else {
			merged = append(merged, sp)
		}
	}
	var out []string
	floor := 0 // where the last fragment ended
	for i := 0; i < len(merged) && len(out) < MaxSnippets; {
		start := runesBefore(text, merged[i][0], SnippetRunes/4, floor)
		stop := runesAfter(text, start, SnippetRunes)
		j := i
		for j < len(merged) && merged[j][0] < stop {
			j++
		}
		out = append(out, fragment(text, start, stop, merged[i:j]))
		floor, i = stop, j
	}
	return out
}

// fragment is text[start:stop] escaped with the spans in it marked.
func fragment(text string, start, stop int, spans [][2]int) string {
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	at := start
	for _, sp := range spans {
		b.WriteString(html.EscapeString(text[at:sp[0]]))
		end := min(sp[1], stop)
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[sp[0]:end]))
		b.WriteString("</mark>")
		at = end
	}
	b.WriteString(html.EscapeString(text[at:stop]))
	if stop < len(text) {
		b.WriteString("…")
	}
	return b.String()
}

// runesBefore is the offset n runes before from, but not before floor.
func runesBefore(text string, from, n, floor int) int {
	for ; n > 0 && from > floor; n-- {
		_, size := utf8.DecodeLastRuneInString(text[:from])
		from -= size
	}
	return max(from, floor)
}

// runesAfter is the offset n runes after from (at most the text's end).
func runesAfter(text string, from, n int) int {
	for ; n > 0 && from < len(text); n-- {
		_, size := utf8.DecodeRuneInString(text[from:])
		from += size
	}
	return from
}
