package index_test

import (
	"testing"
	"time"

	"dongting/index"
	"dongting/index/indextest"
)

// Facets count the hits of a filtered or worded query, not the whole
// index: every hit has one sentiment and one channel, so a channel filter's
// facets add up to its total and name only that channel. (Checked against
// brute force over the stored records for a word query.)
func TestFacetsCountTheHits(t *testing.T) {
	recs := indextest.Demo(t, 7, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 3000)
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	for lo := 0; lo < len(recs); lo += 500 { // several segments
		ingestAll(t, c, recs[lo:lo+500])
	}

	// Segments as built, and once Bleve has merged them.
	for _, phase := range []string{"built", "merged"} {
		if phase == "merged" {
			if err := c.WaitSettled(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		checkFacets(t, c, recs[0].Channel)
	}
}

func checkFacets(t *testing.T, c *index.Corpus, channel string) {
	t.Helper()
	p := search(t, c, index.Query{Channel: []string{channel}, Facets: []string{"sentiment", "channel"}, Size: 1})
	n := 0
	for _, f := range p.Facets["sentiment"] {
		n += f.Count
	}
	if uint64(n) != p.Total || len(p.Facets["channel"]) != 1 || p.Facets["channel"][0].Value != channel || uint64(p.Facets["channel"][0].Count) != p.Total {
		t.Errorf("channel %s: total %d, sentiment facet %v (sum %d), channel facet %v", channel, p.Total, p.Facets["sentiment"], n, p.Facets["channel"])
	}

	// A word: the facet against the stored analyses of every hit.
	want := map[string]int{}
	var total uint64
	err := c.Each(t.Context(), index.Query{Q: "漏水"}, func(h *index.Hit) error {
		want[h.Analysis.Sentiment.Label]++
		total++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p = search(t, c, index.Query{Q: "漏水", Facets: []string{"sentiment"}, Size: 1})
	if p.Total != total || total == 0 {
		t.Fatalf("total %d, Each saw %d", p.Total, total)
	}
	for _, f := range p.Facets["sentiment"] {
		if want[f.Value] != f.Count {
			t.Errorf("sentiment %s: facet %d, hits %d", f.Value, f.Count, want[f.Value])
		}
	}
}
