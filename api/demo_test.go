package api_test

import (
	"net/url"
	"testing"
	"time"

	"dongting/analyzer/demo"
	"dongting/api"
	"dongting/data"
	"dongting/index/indextest"
)

// The demo data's story can be found through the API, as a user of the
// web app would find it: the planted elevator incident rises first among
// the movers and peaks in its project's daily histogram inside its days,
// and the worse project has the group's lowest NPS and highest negative
// rate.
func TestDemoStoryThroughTheAPI(t *testing.T) {
	s := startServer(t, api.Limits{}, false)
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	// A fixed end, so the data is the same in every run (the generator
	// draws days along the year's season, so its records depend on the end).
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, s.corpus.Location())
	recs := indextest.Demo(t, 1, now, 3000)
	res := indextest.Ingest(t, s.corpus, recs)
	if err := s.corpus.WaitIndexed(t.Context(), res[len(res)-1].Seq); err != nil {
		t.Fatal(err)
	}

	last4 := "from=" + now.AddDate(0, 0, -27).Format(time.DateOnly) + "&to=" + now.Format(time.DateOnly)
	code, out := do(t, "GET", s.URL+"/api/v1/movers?"+last4, "", nil)
	rising, _ := out["rising"].([]any)
	if code != 200 || len(rising) == 0 {
		t.Fatalf("movers: %d %v", code, out)
	}
	if first := rising[0].(map[string]any)["touchpoint"].(string); first != "facilities.elevator" && first != "facilities.elevator.fault" && first != "facilities.elevator.entrapment" {
		t.Errorf("the first mover is %s, not the elevator incident: %v", first, rising)
	}

	inc := tm.Incident
	from := now.AddDate(0, 0, -inc.FromDays-28).Format(time.DateOnly)
	code, out = do(t, "GET", s.URL+"/api/v1/search/histogram?interval=day&touchpoint=facilities.elevator&from="+from+"&org="+url.QueryEscape(inc.Org), "", nil)
	if code != 200 {
		t.Fatalf("histogram: %d %v", code, out)
	}
	peak, peakDay := 0, ""
	for _, b := range out["buckets"].([]any) {
		m := b.(map[string]any)
		if c := int(m["count"].(float64)); c > peak {
			peak, peakDay = c, m["start"].(string)
		}
	}
	lo, hi := now.AddDate(0, 0, -inc.FromDays-1).Format(time.DateOnly), now.AddDate(0, 0, -inc.ToDays+1).Format(time.DateOnly)
	if peak < 3 || peakDay < lo || peakDay > hi {
		t.Errorf("elevator records at %s peak at %d on %s, not within %s..%s", inc.Org, peak, peakDay, lo, hi)
	}

	year := now.AddDate(-1, 0, 1).Format(time.DateOnly)
	code, out = do(t, "GET", s.URL+"/api/v1/scores/nps?group_by=org&level=3&from="+year, "", nil)
	if code != 200 {
		t.Fatalf("nps: %d %v", code, out)
	}
	if worst, _ := extreme(out["nps"].(map[string]any)["series"].([]any), false); worst != tm.Worse.Org { // of projects with enough answers
		t.Errorf("lowest NPS: %s, not %s", worst, tm.Worse.Org)
	}
	code, out = do(t, "GET", s.URL+"/api/v1/trends?metric=negative_rate&group_by=org&level=3&from="+year, "", nil)
	if code != 200 {
		t.Fatalf("trends: %d %v", code, out)
	}
	if worst, _ := extreme(out["series"].([]any), true); worst != tm.Worse.Org {
		t.Errorf("highest negative rate: %s, not %s", worst, tm.Worse.Org)
	}
}

// extreme is the series key with the highest (or lowest) total value,
// of the series with enough answers (a project with a dozen survey answers
// has an NPS interval of ±50: not insufficient ones).
func extreme(series []any, highest bool) (string, float64) {
	key, best := "", 0.0
	for _, s := range series {
		m := s.(map[string]any)
		total := m["total"].(map[string]any)
		v, ok := total["value"].(float64)
		if !ok || total["insufficient"] == true {
			continue
		}
		if key == "" || highest && v > best || !highest && v < best {
			key, best = m["key"].(string), v
		}
	}
	return key, best
}
