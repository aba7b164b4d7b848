package index_test

import (
	"maps"
	"testing"
	"time"

	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
)

// The day facet (a histogram's source) counts every hit on its day in the
// service's zone: checked against the stored records of every hit, for a
// word query with and without a time range, across several segments and
// a record replaced with another day (its old version deleted in an
// older segment).
func TestDayFacet(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	recs := indextest.Demo(t, 11, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 1500)
	for lo := 0; lo < len(recs); lo += 500 {
		ingestAll(t, c, recs[lo:lo+500])
	}
	recs[3].OccurredAt = "2026-02-01T23:30:00Z" // 2 February in Shanghai
	ingestAll(t, c, recs[3:4])

	from := time.Date(2026, 5, 1, 12, 0, 0, 0, c.Location())
	for _, q := range []fulltext.Query{
		{},
		{Q: "物业"},
		{Q: "物业", From: from, To: from.AddDate(0, 3, 0)},
		{Sentiment: []string{"negative"}, From: from},
	} {
		want := map[string]int{}
		err := c.Each(t.Context(), q, func(h *index.Hit) error {
			at, err := time.Parse(time.RFC3339, h.Record.OccurredAt)
			want[at.In(c.Location()).Format("20060102")]++
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		q.Facets, q.Size = []string{"day"}, 1
		p := search(t, c, q)
		got := map[string]int{}
		n := 0
		for _, f := range p.Facets["day"] {
			got[f.Value] = f.Count
			n += f.Count
		}
		if len(want) < 20 || !maps.Equal(got, want) || uint64(n) != p.Total {
			t.Errorf("%q from %v: day facet %d days (sum %d, total %d), hits on %d days", q.Q, q.From, len(got), n, p.Total, len(want))
		}
	}
}
