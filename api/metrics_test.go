package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"dongting/api"
)

// The Bearer scheme's name is case-insensitive (RFC 7235).
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	for _, h := range []string{"Bearer %s", "bearer %s", "BEARER %s", "bEaReR   %s  ", " Bearer %s"} {
		if code := s.withHeader(t, "/api/v1/search?q=%E7%94%B5%E6%A2%AF", "Authorization", strings.Replace(h, "%s", s.secrets["root"], 1)); code != 200 {
			t.Errorf("Authorization %q: %d", h, code)
		}
	}
	for _, h := range []string{"Basic %s", "Bearer", "Bearer%s", "%s", "Bearer " + "dt_0_0"} {
		if code := s.withHeader(t, "/api/v1/search?q=%E7%94%B5%E6%A2%AF", "Authorization", strings.Replace(h, "%s", s.secrets["root"], 1)); code != 401 {
			t.Errorf("Authorization %q: %d, want 401", h, code)
		}
	}
}

func (s *authServer) withHeader(t *testing.T, path, name, value string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set(name, value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// /metrics shows anyone how the process runs, and only an admin key over
// the whole group what the records say (severities, alerts, volumes).
func TestMetricsOfTheBusinessNeedAnAdminKey(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	if code, out := s.call(t, "root", "POST", "/api/v1/records", `{"id":"m1","kind":"complaint","org":"华南区域/深圳/碧海花园","text":"电梯困人半小时，我要打12345投诉！"}`); code/100 != 2 {
		t.Fatalf("ingest: %d %v", code, out)
	}
	business := []string{"dongting_ingest_severity_total", "dongting_alerts_raised_total", "dongting_ingest_records_total"}
	operational := []string{"dongting_http_request_duration_seconds", "dongting_index_lag_entries", "go_goroutines", "dongting_webhook_outbox"}
	scrape := func(who string) (int, string) {
		req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+s.secrets[who])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, who := range []string{"", "sz-viewer", "south-analyst", "east-admin", "root"} {
		code, body := scrape(who)
		if code != 200 {
			t.Fatalf("%q: %d", who, code)
		}
		for _, m := range operational {
			if !strings.Contains(body, m) {
				t.Errorf("%q: no %s", who, m)
			}
		}
		for _, m := range business {
			if shown := strings.Contains(body, m); shown != (who == "root") {
				t.Errorf("%q: %s shown %v", who, m, shown)
			}
		}
	}
	if code := s.withHeader(t, "/metrics", "Authorization", "Bearer dt_0_0"); code != 401 {
		t.Errorf("an unknown key: %d", code)
	}
}
