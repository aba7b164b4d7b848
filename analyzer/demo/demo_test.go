package demo_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/analyzer/demo"
	"dongting/data"
)

type sample struct {
	rec analyzer.Record
	res *analyzer.Analysis
	at  time.Time
}

func generate(t *testing.T, seed uint64, end time.Time, n int) []sample {
	t.Helper()
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	g1, g2 := demo.NewGenerator(tm, seed, end), demo.NewGenerator(tm, seed, end)
	a := analyzertest.New(t, "property")
	out := make([]sample, n)
	for i := range out {
		r := g1.Next()
		if !reflect.DeepEqual(r, g2.Next()) {
			t.Fatal("same seed, different records")
		}
		at, err := time.Parse(time.RFC3339, r.OccurredAt)
		if err != nil || at.After(end) || at.Before(end.AddDate(-1, 0, -1)) {
			t.Fatalf("%s: occurred_at %s", r.ID, r.OccurredAt)
		}
		res, err := a.Analyze(&r)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		out[i] = sample{r, res, at}
	}
	return out
}

func words(r *analyzer.Record) string {
	if len(r.Turns) == 0 {
		return r.Text
	}
	var b strings.Builder
	for _, tu := range r.Turns {
		b.WriteString(tu.Text + "\n")
	}
	return b.String()
}

var end = time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

func TestGenerator(t *testing.T) {
	const n = 3000
	recs := generate(t, 7, end, n)
	kinds, months, regions, texts := map[string]int{}, map[string]int{}, map[string]bool{}, map[string]int{}
	tagged, p1, praise, turns := 0, 0, 0, 0
	for _, s := range recs {
		kinds[s.rec.Kind]++
		months[s.at.Format("2006-01")]++
		regions[s.rec.Org[:len("华南区域")]] = true
		texts[words(&s.rec)]++
		if len(s.rec.Turns) > 0 {
			turns++
			if s.rec.Turns[0].Speaker != "agent" || s.rec.Turns[1].Speaker != "customer" {
				t.Errorf("%s: a transcript opens with the agent, then the owner: %v", s.rec.ID, s.rec.Turns)
			}
		}
		if len(s.res.Tags) > 0 {
			tagged++
		}
		if s.res.Severity == "P1" {
			p1++
		}
		if s.res.Praise {
			praise++
		}
	}
	for _, k := range []string{"complaint", "hotline", "survey", "comment", "workorder"} {
		if kinds[k] < n/20 {
			t.Errorf("kind %s: %d of %d", k, kinds[k], n)
		}
	}
	if len(months) < 12 || len(regions) < 4 {
		t.Errorf("%d months, %d regions", len(months), len(regions))
	}
	// Most demo records are about something the taxonomy knows; some are
	// red lines, not most; owners also praise.
	if tagged < n*8/10 || p1 == 0 || p1 > n/10 || turns == 0 || praise < n/20 {
		t.Errorf("tagged %d, P1 %d, transcripts %d, praise %d of %d", tagged, p1, turns, praise, n)
	}
	// Composed words: most records say something no other record says in
	// the same words; the most repeated text (a short survey comment) is
	// a small share.
	most := 0
	for _, c := range texts {
		most = max(most, c)
	}
	if len(texts) < n/2 || most > n/40 {
		t.Errorf("%d distinct texts of %d, the most repeated %d times", len(texts), n, most)
	}
	// The year's season: the wet summer is busier than the Spring Festival.
	if summer, feb := months["2026-07"]+months["2026-08"], months["2026-02"]; summer < 3*feb {
		t.Errorf("July+August %d records, February %d", summer, feb)
	}
}

// A scene's season: heating and water complaints in winter and summer,
// mosquitoes and rubbish in summer.
func TestSeasons(t *testing.T) {
	recs := generate(t, 3, end, 4000)
	in, out := map[string][2]int{}, map[string][2]int{}
	season := map[string][]time.Month{"utilities": {1, 2, 7, 8, 12}, "cleaning": {6, 7, 8, 9}}
	for _, s := range recs {
		if s.rec.Kind == "survey" || s.rec.Kind == "comment" {
			continue
		}
		for scene, months := range season {
			has := slices.ContainsFunc(s.res.Tags, func(tg analyzer.Tag) bool { return tg.Scene == scene })
			m := in
			if !slices.Contains(months, s.at.Month()) {
				m = out
			}
			c := m[scene]
			c[1]++
			if has {
				c[0]++
			}
			m[scene] = c
		}
	}
	for scene := range season {
		shareIn := float64(in[scene][0]) / float64(in[scene][1])
		shareOut := float64(out[scene][0]) / float64(out[scene][1])
		if shareIn < 1.5*shareOut {
			t.Errorf("%s: %.3f of complaints in season, %.3f out of it", scene, shareIn, shareOut)
		}
	}
}

// The planted incident: one project's elevator complaints in the week
// before the last three days are many times its usual week; and one
// project is clearly worse than every other: most negative, lowest NPS.
func TestIncidentAndWorseProject(t *testing.T) {
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	recs := generate(t, 5, end, 6000)
	inc := tm.Incident
	from, to := end.AddDate(0, 0, -inc.FromDays), end.AddDate(0, 0, -inc.ToDays)
	during, before := 0, 0
	type score struct{ n, negative, promoters, detractors, answers int }
	orgs := map[string]*score{}
	for _, s := range recs {
		o := orgs[s.rec.Org]
		if o == nil {
			o = &score{}
			orgs[s.rec.Org] = o
		}
		o.n++
		if s.res.Sentiment.Label == "negative" {
			o.negative++
		}
		if s.rec.NPS != nil {
			o.answers++
			switch {
			case *s.rec.NPS >= 9:
				o.promoters++
			case *s.rec.NPS <= 6:
				o.detractors++
			}
		}
		elevator := slices.ContainsFunc(s.res.Tags, func(tg analyzer.Tag) bool { return strings.HasPrefix(tg.ID, "facilities.elevator") })
		if s.rec.Org != inc.Org || !elevator {
			continue
		}
		switch {
		case !s.at.Before(from) && s.at.Before(to):
			during++
		case s.at.Before(from) && !s.at.Before(from.AddDate(0, 0, -8*7)):
			before++
		}
	}
	week := float64(inc.FromDays-inc.ToDays) / 7
	if perWeek := float64(before) / 8; float64(during)/week < 5*max(perWeek, 1) {
		t.Errorf("incident: %d elevator records in its %.1f weeks, %d in the 8 weeks before", during, week, before)
	}
	nps := func(o *score) float64 { return 100 * float64(o.promoters-o.detractors) / float64(max(o.answers, 1)) }
	worse := orgs[tm.Worse.Org]
	for org, o := range orgs {
		if org == tm.Worse.Org {
			continue
		}
		if nps(o) < nps(worse)+20 || float64(o.negative)/float64(o.n) >= float64(worse.negative)/float64(worse.n) {
			t.Errorf("%s (NPS %.0f, %d/%d negative) is not clearly better than %s (NPS %.0f, %d/%d negative)",
				org, nps(o), o.negative, o.n, tm.Worse.Org, nps(worse), worse.negative, worse.n)
		}
	}
}
