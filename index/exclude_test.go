package index_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
)

// Excluded values leave out exactly the hits that have them: checked
// against the stored records of every hit of the same query without the
// exclusion, with words, filters and a scene that excludes its whole
// subtree.
func TestExclude(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, indextest.Demo(t, 5, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 1200))
	has := map[string]func(h *index.Hit, v string) bool{
		"channel":   func(h *index.Hit, v string) bool { return h.Channel == v },
		"sentiment": func(h *index.Hit, v string) bool { return h.Analysis.Sentiment.Label == v },
		"touchpoint": func(h *index.Hit, v string) bool {
			return slices.ContainsFunc(h.Tags, func(id string) bool { return id == v || strings.HasPrefix(id, v+".") })
		},
	}
	for _, tc := range []struct {
		q       fulltext.Query
		facet   string
		exclude []string
	}{
		{fulltext.Query{}, "channel", []string{"400"}},
		{fulltext.Query{}, "touchpoint", []string{"facilities", "repair.response"}},
		{fulltext.Query{Q: "物业"}, "sentiment", []string{"negative", "neutral"}},
		{fulltext.Query{Kind: []string{"complaint"}}, "touchpoint", []string{"service"}},
	} {
		var want []string
		err := c.Each(t.Context(), tc.q, func(h *index.Hit) error {
			if !slices.ContainsFunc(tc.exclude, func(v string) bool { return has[tc.facet](h, v) }) {
				want = append(want, h.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		q := tc.q
		q.Exclude = map[string][]string{tc.facet: tc.exclude}
		var got []string
		if err := c.Each(t.Context(), q, func(h *index.Hit) error { got = append(got, h.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		slices.Sort(got)
		q.Facets, q.Size = []string{"channel"}, 1
		total := search(t, c, q).Total
		if len(want) == 0 || !slices.Equal(got, want) || total != uint64(len(want)) {
			t.Errorf("%+v without %s %v: %d hits (total %d), want %d", tc.q, tc.facet, tc.exclude, len(got), total, len(want))
		}
	}
	if _, err := c.Search(t.Context(), &fulltext.Query{Exclude: map[string][]string{"org": {"华南区域"}}}); err == nil {
		t.Error("excluding by org is not offered, and should say so")
	}
}
