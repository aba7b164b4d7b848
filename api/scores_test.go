package api_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"dongting/api"
)

func series(t *testing.T, out map[string]any) map[string][]any {
	t.Helper()
	m := map[string][]any{}
	ss, _ := out["series"].([]any)
	for _, s := range ss {
		se := s.(map[string]any)
		m[se["key"].(string)] = se["points"].([]any)
	}
	return m
}

func pointValue(t *testing.T, points []any, period string) any {
	t.Helper()
	for _, p := range points {
		pm := p.(map[string]any)
		if pm["period"] == period {
			return pm["value"]
		}
	}
	t.Fatalf("no period %s in %v", period, points)
	return nil
}

// TestTrendsAPI stores records over HTTP and follows one id through a
// re-send and a delete: the monthly volume per scene moves with it.
func TestTrendsAPI(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	post := func(body string) {
		t.Helper()
		if code, out := do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(body)); code/100 != 2 {
			t.Fatalf("post: %d %v", code, out)
		}
	}
	post(`{"id":"a","kind":"complaint","channel":"app","org":"华南区域/深圳/碧海花园","occurred_at":"2026-03-02T09:00:00+08:00","text":"3栋电梯又坏了，困了半小时"}`)
	post(`{"id":"b","kind":"survey","channel":"用后即评","org":"华南区域/广州/云山府","occurred_at":"2026-03-20T09:00:00+08:00","nps":3,"text":"物业费太贵了，服务还差"}`)
	post(`{"id":"c","kind":"survey","channel":"用后即评","org":"华东区域/杭州/西溪云庐","occurred_at":"2026-04-01T09:00:00+08:00","nps":10,"text":"保安很负责，小区很安全"}`)
	trend := func(params string) map[string]any {
		t.Helper()
		code, out := do(t, "GET", s.URL+"/api/v1/trends?from=2026-03-01&to=2026-04-30&"+params, "", nil)
		if code != 200 {
			t.Fatalf("trends %s: %d %v", params, code, out)
		}
		return out
	}
	out := trend("interval=month&group_by=scene")
	if v := pointValue(t, series(t, out)["facilities"], "2026-03"); v != 1.0 {
		t.Fatalf("facilities March: %v", v)
	}
	if v := pointValue(t, series(t, out)["fees"], "2026-03"); v != 1.0 {
		t.Fatalf("fees March: %v", v)
	}
	// Re-send a: now about fees, in April. The facilities count leaves March.
	post(`{"id":"a","kind":"complaint","channel":"app","org":"华南区域/深圳/碧海花园","occurred_at":"2026-04-02T09:00:00+08:00","text":"物业费收费标准不公开"}`)
	out = trend("interval=month&group_by=scene")
	if v := pointValue(t, series(t, out)["facilities"], "2026-03"); v != 0.0 {
		t.Fatalf("facilities March after re-send: %v", v)
	}
	if v := pointValue(t, series(t, out)["fees"], "2026-04"); v != 1.0 {
		t.Fatalf("fees April after re-send: %v", v)
	}
	out = trend("metric=nps&interval=month&group_by=org&level=1")
	if v := pointValue(t, series(t, out)["华南区域"], "2026-03"); v != -100.0 {
		t.Fatalf("south NPS March: %v", v)
	}
	if v := pointValue(t, series(t, out)["华东区域"], "2026-04"); v != 100.0 {
		t.Fatalf("east NPS April: %v", v)
	}
	if code, _ := do(t, "DELETE", s.URL+"/api/v1/records/b", "", nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	out = trend("metric=volume&interval=month&org=华南区域")
	if v := pointValue(t, series(t, out)["all"], "2026-03"); v != 0.0 {
		t.Fatalf("south March after delete: %v", v)
	}

	// CSV for BI tools.
	resp, err := http.Get(s.URL + "/api/v1/trends?from=2026-03-01&to=2026-04-30&interval=month&group_by=kind&format=csv")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
	if err != nil || resp.StatusCode != 200 || len(rows) != 1+2*2 || rows[0][0] != "period" {
		t.Fatalf("csv %d %v %q", resp.StatusCode, err, body)
	}

	for _, c := range []struct{ params, field string }{
		{"metric=loudness", "metric"},
		{"interval=hour", "interval"},
		{"group_by=colour", "group_by"},
		{"touchpoint=nosuch", "touchpoint"},
		{"from=yesterday", "from"},
		{"from=2026-05-01&to=2026-04-01", "from"},
		{"tz=America/New_York", "tz"},
		{"kind=letter", "kind"},
		{"format=xml", "format"},
		{"group_by=scene&touchpoint=repair", "group_by"},
	} {
		code, out := do(t, "GET", s.URL+"/api/v1/trends?"+c.params, "", nil)
		if _, field := errOf(out); code != 400 || field != c.field {
			t.Errorf("%s: %d %v, want 400 on %s", c.params, code, out, c.field)
		}
	}
	for _, path := range []string{"/api/v1/scores/nps?group_by=org", "/api/v1/scores/experience", "/api/v1/scores/drivers?min_n=1", "/api/v1/movers", "/api/v1/coverage?group_by=channel"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		if code, out := do(t, "GET", s.URL+path+sep+"from=2026-03-01&to="+url.QueryEscape("2026-04-30"), "", nil); code != 200 {
			t.Errorf("%s: %d %v", path, code, out)
		}
	}
	if code, out := do(t, "GET", s.URL+"/api/v1/coverage?group_by=scene", "", nil); code != 400 {
		t.Errorf("coverage by scene: %d %v", code, out)
	}
	if code, out := do(t, "GET", s.URL+"/api/v1/scores/nps?group_by=dimension", "", nil); code != 400 {
		t.Errorf("nps by dimension: %d %v", code, out)
	}
}
