package demo_test

import (
	"reflect"
	"testing"
	"time"

	"dongting/analyzer/analyzertest"
	"dongting/data"
	"dongting/index/demo"
)

func TestGenerator(t *testing.T) {
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	g1, g2 := demo.NewGenerator(tm, 7, end), demo.NewGenerator(tm, 7, end)
	a := analyzertest.New(t, "property")
	kinds, months, regions := map[string]int{}, map[string]bool{}, map[string]bool{}
	tagged, p1, turns := 0, 0, 0
	const n = 2000
	for range n {
		r := g1.Next()
		if !reflect.DeepEqual(r, g2.Next()) {
			t.Fatal("same seed, different records")
		}
		kinds[r.Kind]++
		at, err := time.Parse(time.RFC3339, r.OccurredAt)
		if err != nil || at.After(end) || at.Before(end.AddDate(-1, 0, -1)) {
			t.Fatalf("%s: occurred_at %s", r.ID, r.OccurredAt)
		}
		months[at.Format("2006-01")] = true
		regions[r.Org[:len("华南区域")]] = true
		if len(r.Turns) > 0 {
			turns++
		}
		res, err := a.Analyze(&r)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		if len(res.Tags) > 0 {
			tagged++
		}
		if res.Severity == "P1" {
			p1++
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
	// red lines, not most.
	if tagged < n*8/10 || p1 == 0 || p1 > n/5 || turns == 0 {
		t.Errorf("tagged %d, P1 %d, transcripts %d of %d", tagged, p1, turns, n)
	}
}
