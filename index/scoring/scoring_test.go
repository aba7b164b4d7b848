package scoring_test

import (
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/data"
	"dongting/index"
	"dongting/index/indextest"
	"dongting/index/rollup"
	"dongting/index/scoring"
	"dongting/index/store"
	"dongting/taxonomy"
)

var end = time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

func openCorpus(t testing.TB, dir string) *index.Corpus {
	return indextest.Open(t, index.Options{Dir: dir})
}

func ingest(t testing.TB, c *index.Corpus, recs []analyzer.Record) { indextest.Ingest(t, c, recs) }

func generate(t testing.TB, seed uint64, n int) []analyzer.Record {
	return indextest.Demo(t, seed, end, n)
}

// build stores 600 demo records, then re-sends 150 ids with other content
// and deletes 60, so the rollups have been moved down as well as up.
func build(t *testing.T, c *index.Corpus) {
	recs := generate(t, 11, 600)
	ingest(t, c, recs)
	other := generate(t, 99, 150)
	for i := range other {
		other[i].ID = recs[i*4].ID
	}
	ingest(t, c, other)
	for i := 0; i < 60; i++ {
		if _, err := c.Delete(recs[i*10+1].ID); err != nil {
			t.Fatal(err)
		}
	}
}

func live(t *testing.T, c *index.Corpus) []*store.Stored {
	var out []*store.Stored
	err := c.Store().Scan(0, math.MaxInt, func(st *store.Stored) error {
		if !st.Deleted {
			out = append(out, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// brute answers a trend query by reading every stored record: the
// reference the rollups must agree with exactly.
func brute(tax *taxonomy.Taxonomy, loc *time.Location, recs []*store.Stored, q scoring.TrendQuery, groups []scoring.Series) map[string]map[string]*rollup.Counts {
	under := func(a *analyzer.Analysis, node string) (bool, analyzer.Sentiment) {
		n, _ := tax.Node(node)
		found, best := false, analyzer.Sentiment{}
		for _, tg := range a.Tags {
			tn, ok := tax.Node(tg.ID)
			if ok && taxonomy.IsAncestor(n, tn) {
				if !found || tg.Sentiment.Score < best.Score {
					best = tg.Sentiment
				}
				found = true
			}
		}
		return found, best
	}
	dim := func(a *analyzer.Analysis, id string) (bool, analyzer.Sentiment) {
		for _, d := range a.Dimensions {
			if d.ID == id {
				return true, d.Sentiment
			}
		}
		return false, analyzer.Sentiment{}
	}
	out := map[string]map[string]*rollup.Counts{}
	for _, st := range recs {
		r, a := &st.Record, st.Analysis
		at, _ := time.Parse(time.RFC3339, r.OccurredAt)
		day := at.In(loc).Format(time.DateOnly)
		if day < q.From.Format(time.DateOnly) || day > q.To.Format(time.DateOnly) {
			continue
		}
		if q.Org != "" && r.Org != q.Org && !strings.HasPrefix(r.Org, q.Org+"/") {
			continue
		}
		if len(q.Channels) > 0 && !slices.Contains(q.Channels, r.Channel) || len(q.Kinds) > 0 && !slices.Contains(q.Kinds, r.Kind) {
			continue
		}
		node, d := q.Touchpoint, q.Dimension
		for _, g := range groups {
			node, d := node, d
			switch q.GroupBy {
			case "scene", "touchpoint":
				node = g.Key
			case "dimension":
				d = g.Key
			case "channel":
				if r.Channel != g.Key {
					continue
				}
			case "kind":
				if r.Kind != g.Key {
					continue
				}
			case "org":
				if r.Org != g.Key && !strings.HasPrefix(r.Org, g.Key+"/") {
					continue
				}
			}
			sent := a.Sentiment
			if node != "" {
				ok, s := under(a, node)
				if !ok {
					continue
				}
				sent = s
			}
			if d != "" {
				ok, s := dim(a, d)
				if !ok {
					continue
				}
				if node == "" {
					sent = s
				}
			}
			var c rollup.Counts
			c[rollup.CVolume] = 1
			c[rollup.CSentiment] = int64(math.Round(sent.Score * rollup.SentimentScale))
			if sent.Label == "negative" {
				c[rollup.CNegative] = 1
			}
			if r.NPS != nil {
				switch {
				case *r.NPS >= 9:
					c[rollup.CPromoters] = 1
				case *r.NPS >= 7:
					c[rollup.CPassives] = 1
				default:
					c[rollup.CDetractors] = 1
				}
			}
			if r.CSAT != nil {
				c[rollup.CCSATSum], c[rollup.CCSATN] = int64(*r.CSAT), 1
			}
			p := scoring.PeriodOf(at.In(loc), q.Interval)
			if out[g.Key] == nil {
				out[g.Key] = map[string]*rollup.Counts{}
			}
			if out[g.Key][p] == nil {
				out[g.Key][p] = new(rollup.Counts)
			}
			out[g.Key][p].Add(&c)
		}
	}
	return out
}

func value(metric string, c *rollup.Counts) *float64 {
	if c == nil {
		c = new(rollup.Counts)
	}
	var v float64
	vol := float64(c[rollup.CVolume])
	switch metric {
	case "volume":
		v = vol
	case "negative_rate":
		if vol == 0 {
			return nil
		}
		v = float64(c[rollup.CNegative]) / vol
	case "sentiment":
		if vol == 0 {
			return nil
		}
		v = float64(c[rollup.CSentiment]) / rollup.SentimentScale / vol
	case "nps":
		n := c[rollup.CPromoters] + c[rollup.CPassives] + c[rollup.CDetractors]
		if n == 0 {
			return nil
		}
		v = 100 * float64(c[rollup.CPromoters]-c[rollup.CDetractors]) / float64(n)
	case "csat":
		if c[rollup.CCSATN] == 0 {
			return nil
		}
		v = float64(c[rollup.CCSATSum]) / float64(c[rollup.CCSATN])
	}
	return &v
}

// TestTrendsAgreeWithRecords compares random trend queries with a brute
// force recomputation over the stored records, after re-sends and deletes,
// then again after a rebuild of the rollups and after a reopen.
func TestTrendsAgreeWithRecords(t *testing.T) {
	dir := t.TempDir()
	c := openCorpus(t, dir)
	build(t, c)
	check := func(label string, c *index.Corpus) {
		t.Helper()
		s := scoring.New(c.Rollups())
		s.Now = func() time.Time { return end }
		recs := live(t, c)
		tax := c.Analyzer().Taxonomy()
		rng := rand.New(rand.NewPCG(5, 6))
		pick := func(list []string) string { return list[rng.IntN(len(list))] }
		orgs := []string{""}
		channels, kinds := map[string]bool{}, map[string]bool{}
		for _, st := range recs {
			orgs = append(orgs, analyzer.OrgPrefixes(st.Record.Org)...)
			channels[st.Record.Channel], kinds[st.Record.Kind] = true, true
		}
		for i := range 120 {
			q := scoring.TrendQuery{Metric: pick([]string{"volume", "negative_rate", "sentiment", "nps", "csat"}),
				Interval: pick(scoring.Intervals), GroupBy: pick(scoring.GroupBys)}
			q.From = end.AddDate(0, -rng.IntN(12)-1, -rng.IntN(28))
			q.To = q.From.AddDate(0, rng.IntN(12), rng.IntN(28))
			if rng.IntN(3) == 0 {
				q.Org = pick(orgs)
			}
			if rng.IntN(3) == 0 {
				for ch := range channels {
					if rng.IntN(2) == 0 {
						q.Channels = append(q.Channels, ch)
					}
				}
			}
			if rng.IntN(4) == 0 {
				for k := range kinds {
					q.Kinds = append(q.Kinds, k)
					break
				}
			}
			if rng.IntN(3) == 0 && q.GroupBy != "scene" {
				q.Touchpoint = pick([]string{"repair", "facilities", "facilities.elevator", "fees", "service"})
				if _, ok := tax.Node(q.Touchpoint); !ok {
					q.Touchpoint = "repair"
				}
			}
			if rng.IntN(4) == 0 && q.GroupBy != "dimension" {
				q.Dimension = tax.Dimensions[rng.IntN(len(tax.Dimensions))].ID
			}
			tr, err := s.Trend(q)
			if err != nil {
				if q.GroupBy == "touchpoint" && q.Touchpoint != "" || q.GroupBy == "org" && q.Org != "" && strings.Count(q.Org, "/") == 2 {
					continue // a leaf has no children to group by
				}
				t.Fatalf("%s: query %d %+v: %v", label, i, q, err)
			}
			q.From, q.To = q.From.In(s.Location()), q.To.In(s.Location())
			want := brute(tax, s.Location(), recs, q, tr.Series)
			tol := 1e-4 // values are rounded to 4 places, NPS to 2
			if q.Metric == "nps" {
				tol = 0.006
			}
			for _, se := range tr.Series {
				for _, p := range se.Points {
					w := value(q.Metric, want[se.Key][p.Period])
					if (w == nil) != (p.Value == nil) || w != nil && math.Abs(*w-*p.Value) > tol {
						t.Fatalf("%s: query %d %+v: series %s period %s: got %v, brute force %v", label, i, q, se.Key, p.Period, deref(p.Value), deref(w))
					}
				}
			}
		}
	}
	check("incremental", c)
	if err := c.RebuildRollups(nil); err != nil {
		t.Fatal(err)
	}
	check("rebuilt", c)
	c.Close()
	c = openCorpus(t, dir)
	defer c.Close()
	check("reopened", c) // folded at open
	// Folded cells plus unfolded commits on top of them.
	more := generate(t, 1234, 120)
	for i := range more {
		more[i].ID = fmt.Sprintf("demo-%07d", i*3+1) // half re-sends, some of deleted ids
	}
	ingest(t, c, more)
	check("mixed", c)
}

func deref(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func TestNPSInterval(t *testing.T) {
	n := scoring.NPSOf(50, 30, 20)
	if n.NPS != 30 || n.N != 100 {
		t.Fatalf("%+v", n)
	}
	// var = (0.5+0.2) − 0.3² = 0.61; se = √(0.61/100) = 0.0781; ±15.31
	if math.Abs(n.Low-14.69) > 0.01 || math.Abs(n.High-45.31) > 0.01 {
		t.Fatalf("interval %v–%v", n.Low, n.High)
	}
	if all := scoring.NPSOf(10, 0, 0); all.NPS != 100 || all.High != 100 {
		t.Fatalf("%+v", all)
	}
}

func TestPeriods(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	from, to := time.Date(2025, 12, 29, 0, 0, 0, 0, loc), time.Date(2026, 1, 12, 0, 0, 0, 0, loc)
	if got := scoring.Periods(from, to, "week"); !slices.Equal(got, []string{"2026-W01", "2026-W02", "2026-W03"}) {
		t.Fatal(got)
	}
	if got := scoring.Periods(from, to, "month"); !slices.Equal(got, []string{"2025-12", "2026-01"}) {
		t.Fatal(got)
	}
}

func TestScoresAndErrors(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingest(t, c, generate(t, 3, 1500))
	s := scoring.New(c.Rollups())
	s.Now = func() time.Time { return end }

	ind, err := s.ParseIndicators(mustRead(t, "scoring/indicators.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.Experience(ind, scoring.Filter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Index.Score == nil || *ex.Index.Score <= 0 || *ex.Index.Score >= 100 || ex.NPS.N == 0 || ex.CSAT == nil {
		t.Fatalf("index %+v", ex)
	}
	if len(ex.Index.Children) != 2 || ex.Index.Children[0].Children[0].ID != "sibao_yifu" {
		t.Fatalf("hierarchy %+v", ex.Index.Children)
	}
	// A small project: most scenes fall under min_n and are marked, not hidden.
	small, err := s.Experience(ind, scoring.Filter{Org: "华南区域/深圳/碧海花园"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !small.Index.Insufficient || small.Index.Score != nil || len(small.Index.Children[0].Children) != 3 {
		t.Fatalf("small %+v", small.Index)
	}
	if _, err := s.ParseIndicators([]byte("level1: [{id: experience, weight: 1}]\n")); err == nil {
		t.Fatal("level1 without nps accepted")
	}
	if _, err := s.ParseIndicators([]byte("level1: [{id: experience, weight: 1}, {id: nps, weight: 1}]\nlevel2: [{id: x, weight: 1, scenes: {nosuch: 1}}]\n")); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("unknown scene: %v", err)
	}

	dr, err := s.Drivers(scoring.Filter{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(dr.Drivers) == 0 || dr.Drivers[0].Rank != 1 {
		t.Fatalf("drivers %+v", dr)
	}
	for i, d := range dr.Drivers[1:] {
		prev := dr.Drivers[i]
		if !d.Insufficient && !prev.Insufficient && d.Impact > prev.Impact {
			t.Fatalf("not ranked by impact: %+v after %+v", d, prev)
		}
	}

	for _, q := range []scoring.TrendQuery{
		{Metric: "nope"}, {Interval: "hour"}, {GroupBy: "colour"},
		{Filter: scoring.Filter{Touchpoint: "nosuch"}},
		{Filter: scoring.Filter{Dimension: "repair"}},
		{Filter: scoring.Filter{From: end, To: end.AddDate(0, -1, 0)}},
		{GroupBy: "scene", Filter: scoring.Filter{Touchpoint: "repair"}},
	} {
		if _, err := s.Trend(q); err == nil {
			t.Fatalf("%+v accepted", q)
		} else if _, ok := err.(*analyzer.Error); !ok {
			t.Fatalf("%+v: %T %v", q, err, err)
		}
	}
	share, err := s.Trend(scoring.TrendQuery{Metric: "share", Interval: "month", GroupBy: "scene"})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, se := range share.Series {
		if se.Total.Value != nil {
			sum += *se.Total.Value
		}
	}
	if sum < 1 { // records can mention several scenes, so the shares sum to ≥ 1
		t.Fatalf("shares sum to %v", sum)
	}
}

// TestMovers spreads demo records evenly over eight weeks (no real change
// between the two four-week periods: nothing may be reported), then plants
// a surge of elevator complaints in the last four weeks (it must be the
// top riser).
func TestMovers(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	recs := generate(t, 21, 3000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range recs {
		recs[i].OccurredAt = end.Add(-time.Duration(rng.Int64N(int64(56 * 24 * time.Hour)))).Format(time.RFC3339)
	}
	ingest(t, c, recs)
	s := scoring.New(c.Rollups())
	s.Now = func() time.Time { return end.Add(-time.Minute) }
	// With no real change, Benjamini–Hochberg at q still reports a fluke
	// in up to q of such draws (one in twenty at the default 0.05, and this
	// seed's draw has one at p = 0.0004): the steady check asks for a
	// stricter q, so one random draw cannot fail it.
	m, err := s.Movers(scoring.MoversQuery{Q: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	if m.Tested < 10 || len(m.Rising)+len(m.Falling) > 0 {
		t.Fatalf("steady data: %d tested, rising %+v, falling %+v", m.Tested, m.Rising, m.Falling)
	}
	var surge []analyzer.Record
	for i := range 80 {
		surge = append(surge, analyzer.Record{ID: fmt.Sprintf("surge-%d", i), Kind: "complaint", Channel: "app",
			Org: "华南区域/深圳/碧海花园", OccurredAt: end.AddDate(0, 0, -1-i%20).Format(time.RFC3339),
			Text: "电梯又坏了，困在里面半天没人来"})
	}
	ingest(t, c, surge)
	if m, err = s.Movers(scoring.MoversQuery{}); err != nil {
		t.Fatal(err)
	}
	if len(m.Rising) == 0 || !strings.Contains(m.Rising[0].Touchpoint, "elevator") || m.Rising[0].P > 0.001 {
		t.Fatalf("surge not found: %+v", m)
	}
	if _, err := s.Movers(scoring.MoversQuery{Measure: "loudness"}); err == nil {
		t.Fatal("bad measure accepted")
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(data.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCoverage(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	s := scoring.New(c.Rollups())
	s.Now = func() time.Time { return end }
	at := end.AddDate(0, 0, -3).Format(time.RFC3339)
	rec := func(id, channel, text string) analyzer.Record {
		return analyzer.Record{ID: id, Kind: "comment", Channel: channel, Org: "华南区域/深圳/碧海花园", OccurredAt: at, Text: text}
	}
	ingest(t, c, []analyzer.Record{
		rec("a", "app", "电梯又坏了"), rec("b", "app", "物业费太贵"), rec("c", "400", "垃圾没人清运"),
		rec("d", "400", "今天天气不错"), rec("e", "app", "谢谢"),
	})
	cov := func(q scoring.CoverageQuery) *scoring.Coverage {
		t.Helper()
		out, err := s.Coverage(q)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := cov(scoring.CoverageQuery{})
	if tot := all.Series[0].Total; tot.Records != 5 || tot.Untagged != 2 || *tot.Coverage != 0.6 {
		t.Fatalf("coverage %+v", tot)
	}
	by := cov(scoring.CoverageQuery{GroupBy: "channel"})
	got := map[string]int64{}
	for _, se := range by.Series {
		got[se.Key] = se.Total.Untagged
	}
	if got["app"] != 1 || got["400"] != 1 {
		t.Fatalf("by channel %v", got)
	}
	// The taxonomy learns nothing here; the record does: re-sent with words
	// a touchpoint matches, then deleted.
	ingest(t, c, []analyzer.Record{rec("d", "400", "停车场的道闸坏了")})
	if tot := cov(scoring.CoverageQuery{}).Series[0].Total; tot.Untagged != 1 || tot.Records != 5 {
		t.Fatalf("after re-send %+v", tot)
	}
	if _, err := c.Delete("e"); err != nil {
		t.Fatal(err)
	}
	if tot := cov(scoring.CoverageQuery{}).Series[0].Total; tot.Untagged != 0 || *tot.Coverage != 1 {
		t.Fatalf("after delete %+v", tot)
	}
	if _, err := s.Coverage(scoring.CoverageQuery{GroupBy: "scene"}); err == nil {
		t.Fatal("coverage by scene accepted")
	}
}
