package index_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
)

// Time ranges (months, days, hours and seconds combined) and NPS ranges select
// exactly the records a plain comparison selects, with and without a text
// query (term ranges, or a filter on each hit's time): random records, random
// ranges, ends on month, day, hour and record boundaries and open ends.
func TestTimeAndNPSRanges(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	sh, _ := time.LoadLocation(index.DefaultZone)
	zones := []*time.Location{sh, time.UTC, time.FixedZone("", -5*3600)}
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2026, 1, 28, 0, 0, 0, 0, sh)
	span := time.Date(2026, 5, 3, 0, 0, 0, 0, sh).Sub(start)
	// boundary picks a time near a month or day start in Shanghai, or any.
	boundary := func() time.Time {
		t := start.Add(time.Duration(rng.Int64N(int64(span))))
		y, m, d := t.In(sh).Date()
		switch rng.IntN(5) {
		case 0:
			t = time.Date(y, m, 1, 0, 0, 0, 0, sh)
		case 1:
			t = time.Date(y, m, d, 0, 0, 0, 0, sh)
		case 2:
			t = time.Date(y, m, d, t.In(sh).Hour(), 0, 0, 0, sh)
		}
		return t.Truncate(time.Second).Add(time.Duration(rng.IntN(3)-1) * time.Second)
	}
	type rec struct {
		id  string
		at  time.Time
		nps *int
	}
	var recs []analyzer.Record
	var want []rec
	for i := range 400 {
		at := boundary()
		r := analyzer.Record{ID: fmt.Sprintf("t%03d", i), Kind: "survey", Text: "物业服务还可以",
			OccurredAt: at.In(zones[i%len(zones)]).Format(time.RFC3339)}
		if i%3 > 0 {
			r.NPS = ptr(rng.IntN(11))
		}
		recs = append(recs, r)
		want = append(want, rec{r.ID, at, r.NPS})
	}
	ingestAll(t, c, recs)

	for i := range 400 {
		var q fulltext.Query
		if i%2 == 0 {
			q.From, q.To = boundary(), boundary()
			if q.To.Before(q.From) {
				q.From, q.To = q.To, q.From
			}
			switch i % 10 {
			case 0:
				q.From = time.Time{}
			case 2:
				q.To = time.Time{}
			case 4:
				q.From = want[rng.IntN(len(want))].at // a record's own second
				q.To = q.From.Add(time.Duration(rng.IntN(3)) * time.Second)
			}
			if q.From.Equal(q.To) {
				q.To = q.To.Add(time.Second)
			}
		}
		if i%3 == 0 {
			lo, hi := rng.IntN(12)-1, rng.IntN(12)
			q.NPSMin, q.NPSMax = &lo, &hi
			if i%9 == 0 {
				q.NPSMax = nil
			}
		}
		var expect []string
		for _, r := range want {
			inTime := (q.From.IsZero() || !r.at.Before(q.From)) && (q.To.IsZero() || r.at.Before(q.To))
			inNPS := (q.NPSMin == nil && q.NPSMax == nil) ||
				r.nps != nil && (q.NPSMin == nil || *r.nps >= *q.NPSMin) && (q.NPSMax == nil || *r.nps <= *q.NPSMax)
			if inTime && inNPS {
				expect = append(expect, r.id)
			}
		}
		// Without a text query the range is term ranges; with one, its
		// hits are filtered by their time's doc value.
		for _, text := range []string{"", "物业"} {
			q.Q = text
			var got []string
			err := c.Each(context.Background(), q, func(h *index.Hit) error { got = append(got, h.ID); return nil })
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, expect) {
				t.Fatalf("q %q from %v to %v, nps %v–%v: got %d records, want %d\nmissing %v\nextra %v",
					text, q.From, q.To, deref(q.NPSMin), deref(q.NPSMax), len(got), len(expect), minus(expect, got), minus(got, expect))
			}
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return "open"
	}
	return *p
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Day, hour and month terms are in the service's zone: reopened in another
// zone, the index is rebuilt, and a day is that zone's day.
func TestIndexRebuiltInAnotherZone(t *testing.T) {
	dir := t.TempDir()
	// 23:30 UTC on 28 February is 07:30 on 1 March in Shanghai: another
	// day and another month.
	rec := analyzer.Record{ID: "z1", Kind: "complaint", Text: "楼道灯坏了", OccurredAt: "2026-02-28T23:30:00Z"}
	c := openCorpus(t, dir)
	ingestAll(t, c, []analyzer.Record{rec})
	c.Close()

	c = indextest.Open(t, index.Options{Dir: dir, Location: time.UTC})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitIndexed(ctx, 1); err != nil {
		t.Fatal(err)
	}
	day := fulltext.Query{From: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	if got := ids(search(t, c, day)); !slices.Equal(got, []string{"z1"}) {
		t.Errorf("28 February in UTC: %v", got)
	}
	month := fulltext.Query{Facets: []string{"month"}}
	if f := search(t, c, month).Facets["month"]; len(f) != 1 || f[0].Value != "2026-02" {
		t.Errorf("month facet %v", f)
	}
}
