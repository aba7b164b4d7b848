package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"dongting/api"
)

func TestAlertsAPI(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	now := time.Now().Add(-time.Minute).Format(time.RFC3339)
	rec := `{"id":"wo-9","kind":"hotline","channel":"400","org":"华南区域/深圳/碧海花园","occurred_at":"` + now + `","text":"3栋电梯困人二十分钟，物业一直没人管，我要打12345投诉！"}`
	if code, out := do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(rec)); code != 201 {
		t.Fatalf("post: %d %v", code, out)
	}
	code, out := do(t, "GET", s.URL+"/api/v1/alerts?source=redline&org=华南区域", "", nil)
	list, _ := out["alerts"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	al := list[0].(map[string]any)
	id := al["id"].(string)
	if al["severity"] != "P1" || al["status"] != "open" || al["record_ids"].([]any)[0] != "wo-9" {
		t.Fatalf("alert %v", al)
	}
	if code, out = do(t, "GET", s.URL+"/api/v1/alerts?org=华东区域", "", nil); len(out["alerts"].([]any)) != 0 {
		t.Fatalf("other region sees %v", out)
	}
	act := func(action, body string) (int, map[string]any) {
		return do(t, "POST", s.URL+"/api/v1/alerts/"+id+"/"+action, "application/json", strings.NewReader(body))
	}
	if code, out = act("acknowledge", `{"by":"李经理","note":"已到场"}`); code != 200 || out["status"] != "acknowledged" {
		t.Fatalf("ack: %d %v", code, out)
	}
	for _, c := range []struct {
		action, body string
		status       int
		field        string
	}{
		{"acknowledge", `{"by":"李经理"}`, 409, "action"},
		{"explode", `{"by":"李经理"}`, 404, "action"},
		{"resolve", `{}`, 422, "by"},
		{"resolve", `{"by":`, 400, ""},
		{"resolve", "{\"by\":\"\xff\xfe\"}", 400, ""},
		{"resolve", `{"by":"x","note":"` + strings.Repeat("长", 30_000) + `"}`, 413, ""},
		{"resolve", `{"by":"x","note":"` + strings.Repeat("长", 2_000) + `"}`, 422, "note"},
	} {
		code, out := act(c.action, c.body)
		if _, field := errOf(out); code != c.status || field != c.field {
			t.Errorf("%s %s: %d %v", c.action, c.body, code, out)
		}
	}
	if code, out = do(t, "POST", s.URL+"/api/v1/alerts/al-99999999/resolve", "application/json", strings.NewReader(`{"by":"x"}`)); code != 404 {
		t.Errorf("unknown alert: %d %v", code, out)
	}
	if code, out = do(t, "GET", s.URL+"/api/v1/alerts/"+id, "", nil); code != 200 || len(out["history"].([]any)) < 2 {
		t.Fatalf("get: %d %v", code, out)
	}

	// Routing: a bad one is refused with its field; a good one is stored
	// and its secrets are not shown.
	bad := `{"window":"2h","max_age":"168h","repeat_days":7,"spike":{"baseline_days":28,"min_count":5,"p":0.001},"receivers":[{"id":"a","url":"nope","secret":"0123456789abcdef"}]}`
	code, out = do(t, "PUT", s.URL+"/api/v1/alerts/routing", "application/json", strings.NewReader(bad))
	if _, field := errOf(out); code != 422 || field != "receivers[0].url" {
		t.Fatalf("bad routing: %d %v", code, out)
	}
	if code, out = do(t, "PUT", s.URL+"/api/v1/alerts/routing", "application/json", strings.NewReader(strings.Repeat(" ", 2<<20))); code != 413 {
		t.Fatalf("oversized routing: %d %v", code, out)
	}
	good := strings.Replace(bad, `"nope"`, `"http://127.0.0.1:9/hook"`, 1)
	if code, out = do(t, "PUT", s.URL+"/api/v1/alerts/routing", "application/json", strings.NewReader(good)); code != 200 {
		t.Fatalf("routing: %d %v", code, out)
	}
	_, out = do(t, "GET", s.URL+"/api/v1/alerts/routing", "", nil)
	if r := out["receivers"].([]any)[0].(map[string]any); r["secret"] != "********" {
		t.Fatalf("secret shown: %v", r)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `dongting_alerts_raised_total{source="redline"} 1`) {
		t.Errorf("metrics lack the alert count")
	}
	// The default routing has no receivers: the red line's three levels
	// reached nobody, and the metrics say so.
	// Both derived stores have applied every write before it answered.
	for _, m := range []string{"dongting_alerts_unrouted_total 3", "dongting_store_write_stalls_total 0", "dongting_store_write_wait_seconds 0",
		`dongting_feed_lag_commits{follower="alerts"} 0`, `dongting_feed_lag_commits{follower="rollups"} 0`} {
		if !strings.Contains(string(body), m+"\n") {
			t.Errorf("metrics lack %q", m)
		}
	}
}
