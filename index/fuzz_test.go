package index_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"dongting/index"
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
		_, err := c.Search(context.Background(), &index.Query{Q: q, Facets: []string{"scene"}, Highlight: true})
		var qe *index.QueryError
		if err != nil && (!errors.As(err, &qe) || qe.Field != "q") {
			t.Fatalf("%q: %v", q, err)
		}
	})
}
