package index_test

import (
	"maps"
	"testing"
	"time"

	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
)

// Facets count the hits of a filtered or worded query, not the whole
// index: every hit has one sentiment and one channel, so a channel filter's
// facets add up to its total and name only that channel. (Checked against
// brute force over the stored records for a word query, with replaced
// records' old versions deleted in older segments.)
func TestFacetsCountTheHits(t *testing.T) {
	recs := indextest.Demo(t, 7, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 3000)
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	for lo := 0; lo < len(recs); lo += 500 { // several segments
		ingestAll(t, c, recs[lo:lo+500])
	}
	// Records sent again with another kind and channel replace their first
	// version, which stays in the older segments as deleted documents.
	for i := range 400 {
		recs[i].Kind, recs[i].Channel = "comment", recs[len(recs)-1].Channel
	}
	ingestAll(t, c, recs[:400])

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
	p := search(t, c, fulltext.Query{Channel: []string{channel}, Facets: []string{"sentiment", "channel"}, Size: 1})
	n := 0
	for _, f := range p.Facets["sentiment"] {
		n += f.Count
	}
	if uint64(n) != p.Total || len(p.Facets["channel"]) != 1 || p.Facets["channel"][0].Value != channel || uint64(p.Facets["channel"][0].Count) != p.Total {
		t.Errorf("channel %s: total %d, sentiment facet %v (sum %d), channel facet %v", channel, p.Total, p.Facets["sentiment"], n, p.Facets["channel"])
	}

	// A word: facets against the stored records and analyses of every
	// hit.
	want := map[string]map[string]int{"sentiment": {}, "kind": {}, "month": {}}
	var total uint64
	err := c.Each(t.Context(), fulltext.Query{Q: "漏水"}, func(h *index.Hit) error {
		want["sentiment"][h.Analysis.Sentiment.Label]++
		want["kind"][h.Record.Kind]++
		at, err := time.Parse(time.RFC3339, h.Record.OccurredAt)
		want["month"][at.In(c.Location()).Format("2006-01")]++
		total++
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p = search(t, c, fulltext.Query{Q: "漏水", Facets: []string{"sentiment", "kind", "month"}, Size: 1})
	if p.Total != total || total == 0 {
		t.Fatalf("total %d, Each saw %d", p.Total, total)
	}
	for name, counts := range want {
		got := map[string]int{}
		for _, f := range p.Facets[name] {
			got[f.Value] = f.Count
		}
		if !maps.Equal(got, counts) {
			t.Errorf("%s facet %v, hits %v", name, got, counts)
		}
	}

	// A filter on the second column: its facet names only its value.
	kind := recs0Kind(t, c)
	p = search(t, c, fulltext.Query{Kind: []string{kind}, Facets: []string{"kind", "channel"}, Size: 1})
	n = 0
	for _, f := range p.Facets["channel"] {
		n += f.Count
	}
	if len(p.Facets["kind"]) != 1 || p.Facets["kind"][0].Value != kind || uint64(p.Facets["kind"][0].Count) != p.Total || uint64(n) != p.Total || p.Total == 0 {
		t.Errorf("kind %s: total %d, kind facet %v, channel facet sums to %d", kind, p.Total, p.Facets["kind"], n)
	}
}

// recs0Kind is the kind of some indexed record.
func recs0Kind(t *testing.T, c *index.Corpus) string {
	t.Helper()
	p := search(t, c, fulltext.Query{Size: 1})
	if len(p.Hits) == 0 {
		t.Fatal("no records")
	}
	return p.Hits[0].Kind
}
