package index_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"dongting/analyzer"
	"dongting/index"
	"dongting/index/fulltext"
)

// shown is a snippet's text without its marks and cut marks.
func shown(s string) string {
	return strings.NewReplacer("<mark>", "", "</mark>", "", "…", "").Replace(s)
}

// A record of 1 MiB that matches thousands of times shows no more than a
// short one: at most MaxSnippets fragments of at most SnippetRunes runes.
func TestSnippetsOfAHugeRecordAreBounded(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	unit := "楼上卫生间漏水，渗到我家天花板，物业说找不到人，已经三天了。"
	huge := strings.Repeat(unit, (analyzer.MaxTextBytes-1024)/len(unit))
	ingestAll(t, c, []analyzer.Record{
		{ID: "huge", Kind: "complaint", OccurredAt: "2026-03-02T09:00:00+08:00", Text: huge},
		{ID: "short", Kind: "complaint", OccurredAt: "2026-03-03T09:00:00+08:00", Text: unit},
		{ID: "markup", Kind: "complaint", OccurredAt: "2026-03-04T09:00:00+08:00", Text: "<b>漏水</b> & 电梯困人"},
	})
	for _, q := range []string{"漏水", "漏水 | 物业 | 天花板", `"渗到我家"`, ""} {
		p := search(t, c, fulltext.Query{Q: q, Highlight: true, Size: 10})
		for _, h := range p.Hits {
			if len(h.Snippets) == 0 || len(h.Snippets) > fulltext.MaxSnippets || h.Text != "" {
				t.Errorf("%q, %s: %d snippets, text of %d bytes", q, h.ID, len(h.Snippets), len(h.Text))
			}
			for _, s := range h.Snippets {
				if n := utf8.RuneCountInString(shown(s)); n > fulltext.SnippetRunes || n == 0 {
					t.Errorf("%q, %s: a snippet of %d runes", q, h.ID, n)
				}
				if q != "" && h.ID != "markup" && !strings.Contains(s, "<mark>") {
					t.Errorf("%q, %s: nothing marked in %q", q, h.ID, s)
				}
			}
			if b, _ := json.Marshal(h); len(b) > 8<<10 {
				t.Errorf("%q, %s: a hit of %d bytes", q, h.ID, len(b))
			}
		}
		if q == "漏水" {
			var huge index.Hit
			for _, h := range p.Hits {
				if h.ID == "huge" {
					huge = h
				}
			}
			// The first fragment starts at the text's start and marks
			// each 漏水 in it; later ones continue after it.
			if len(huge.Snippets) != fulltext.MaxSnippets || !strings.HasPrefix(huge.Snippets[0], "楼上卫生间<mark>漏水</mark>，") || !strings.HasPrefix(huge.Snippets[1], "…") {
				t.Errorf("snippets of the huge record: %q", huge.Snippets)
			}
		}
	}
	// Text is escaped, marks are not.
	p := search(t, c, fulltext.Query{Q: "漏水", Highlight: true, Kind: []string{"complaint"}, Size: 10})
	for _, h := range p.Hits {
		if h.ID == "markup" && (len(h.Snippets) != 1 || h.Snippets[0] != "&lt;b&gt;<mark>漏水</mark>&lt;/b&gt; &amp; 电梯困人") {
			t.Errorf("markup: %q", h.Snippets)
		}
	}
	// Without highlighting a hit carries its whole text.
	p = search(t, c, fulltext.Query{Q: "天花板", Size: 10})
	for _, h := range p.Hits {
		if h.ID == "huge" && h.Text != huge {
			t.Errorf("text of %d bytes, want %d", len(h.Text), len(huge))
		}
	}
}

// A phrase matches its words at consecutive places only, and its hit
// marks those places, not every occurrence of its words.
func TestPhraseMatchesConsecutiveWords(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, []analyzer.Record{
		{ID: "in-order", OccurredAt: "2026-03-02T09:00:00+08:00", Text: "物业费太贵了，停车费也贵，物业 服务 一般"},
		{ID: "reversed", OccurredAt: "2026-03-02T10:00:00+08:00", Text: "服务 物业 都一般"},
		{ID: "apart", OccurredAt: "2026-03-02T11:00:00+08:00", Text: "物业 的 服务 一般"},
	})
	p := search(t, c, fulltext.Query{Q: `"物业 服务"`, Highlight: true})
	if got := ids(p); !slices.Equal(got, []string{"in-order"}) {
		t.Fatalf("hits %v", got)
	}
	if s := p.Hits[0].Snippets; len(s) != 1 || strings.Count(s[0], "<mark>") != 2 || !strings.Contains(s[0], "<mark>物业</mark> <mark>服务</mark>") {
		t.Errorf("snippets %q", s)
	}
	// The same word twice in a phrase.
	ingestAll(t, c, []analyzer.Record{{ID: "twice", OccurredAt: "2026-03-02T12:00:00+08:00", Text: "投诉 投诉 还是没人管"}})
	if got := ids(search(t, c, fulltext.Query{Q: `"投诉 投诉"`})); !slices.Equal(got, []string{"twice"}) {
		t.Errorf("repeated word: %v", got)
	}
}
