package index_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"dongting/analyzer"
	"dongting/index/fulltext"
)

// FuzzSearchQuery: any query string gives results or a QueryError naming
// the q parameter; never a panic or an internal error.
func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"电梯", `"电梯困人"`, "物业费 AND 停车费", "电梯 NOT 困人", "(保洁 | 绿化) & !投诉", "電梯", "NEAR/2(a, b)", "customer(电梯)", "=物业", `"`, "((((", "，。", ""} {
		f.Add(s)
	}
	c := openCorpus(f, f.TempDir())
	defer c.Close()
	ingestAll(f, c, slices.Clone(corpus))
	f.Fuzz(func(t *testing.T, q string) {
		if !utf8.ValidString(q) || len(q) > 2000 {
			return // the API refuses these before the index sees them
		}
		_, err := c.Search(context.Background(), &fulltext.Query{Q: q, Facets: []string{"scene"}, Highlight: true})
		var qe *analyzer.Error
		if err != nil && (!errors.As(err, &qe) || qe.Field != "q") {
			t.Fatalf("%q: %v", q, err)
		}
	})
}

// FuzzSearchCursor: any cursor, with any sort, gives a page or a
// QueryError naming the cursor; never a panic, recovered or not.
func FuzzSearchCursor(f *testing.F) {
	for _, s := range []string{
		cursorOf(`{"s":"relevance","a":["x"]}`),
		cursorOf(`{"s":"relevance","a":["0.25","r1"]}`),
		cursorOf(`{"s":"newest","a":["20260301010000","r3"]}`),
		cursorOf(`{"s":"oldest","a":["\u0000","r2"]}`),
		cursorOf(`{"s":"oldest","a":["20260301010000","r3","r4","r5"]}`),
		cursorOf(`{"s":"newest","a":[null,"r1"]}`),
		"", "e30", "!!!",
	} {
		for order := range uint8(3) {
			f.Add(s, order)
		}
	}
	c := openCorpus(f, f.TempDir())
	defer c.Close()
	ingestAll(f, c, slices.Clone(corpus))
	f.Fuzz(func(t *testing.T, cur string, order uint8) {
		q := fulltext.Query{Sort: fulltext.SortOrders[int(order)%len(fulltext.SortOrders)], Cursor: cur, Size: 2, Facets: []string{"scene"}, Highlight: true}
		if q.Sort == "relevance" {
			q.Q = "电梯"
		}
		_, err := c.Search(context.Background(), &q)
		var qe *analyzer.Error
		if err != nil && (!errors.As(err, &qe) || qe.Field != "cursor") {
			t.Fatalf("%q sorted by %s: %v", cur, q.Sort, err)
		}
	})
}
