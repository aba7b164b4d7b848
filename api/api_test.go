package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/api"
)

func newServer(t *testing.T) *httptest.Server {
	a := analyzertest.New(t, "property")
	demo := []analyzer.Record{{ID: "d1", Text: "电梯坏了"}}
	srv := httptest.NewServer(mustNew(t, api.Config{Analyzer: a, Demo: demo, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url string, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	return resp.StatusCode, out
}

func TestAnalyzeEndpoint(t *testing.T) {
	srv := newServer(t)
	code, out := post(t, srv.URL+"/api/v1/analyze", []byte(`{"id":"r1","text":"电梯又坏了，困了半个小时没人管，我要打12345投诉！"}`))
	if code != 200 || out["severity"] != "P1" || out["id"] != "r1" {
		t.Fatalf("%d %v", code, out)
	}
	tags := out["tags"].([]any)
	if tags[0].(map[string]any)["scene"] != "facilities" {
		t.Errorf("tags %v", tags)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	srv := newServer(t)
	big, _ := json.Marshal(map[string]string{"text": strings.Repeat("电", api.MaxBody/3+10)})
	tests := []struct {
		body   []byte
		status int
		code   string
		field  string
	}{
		{[]byte(`{"text":`), 400, "invalid_json", ""},
		{[]byte(`{"txt":"x"}`), 400, "invalid_json", "txt"},
		{[]byte(`{"text":"x","nps":"ten"}`), 400, "invalid_json", "nps"},
		{[]byte(`{"text":"x"} {"text":"y"}`), 400, "invalid_json", ""},
		{[]byte(`{"text":""}`), 422, "invalid_field", "text"},
		{[]byte(`{"text":"x","nps":11}`), 422, "invalid_field", "nps"},
		{[]byte("{\"text\":\"\xff\xfe\"}"), 400, "invalid_json", ""},
		{big, 413, "too_large", ""},
	}
	for _, tt := range tests {
		code, out := post(t, srv.URL+"/api/v1/analyze", tt.body)
		e, _ := out["error"].(map[string]any)
		if code != tt.status || e == nil || e["code"] != tt.code || (tt.field != "" && e["field"] != tt.field) {
			t.Errorf("%.40q: %d %v, want %d %s field %q", tt.body, code, out, tt.status, tt.code, tt.field)
		}
	}
	resp, err := http.Get(srv.URL + "/api/v1/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown route: %d", resp.StatusCode)
	}
}

func TestDemoAndTaxonomy(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/api/v1/demo", "/api/v1/taxonomy", "/healthz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %d %v", path, resp.StatusCode, err)
		}
		if path == "/api/v1/taxonomy" && len(out["scenes"].([]any)) != 17 {
			t.Errorf("taxonomy has %d scenes", len(out["scenes"].([]any)))
		}
	}
}

// Request logs carry method, path and status, never the customer's words,
// not even when the request fails.
func TestLogsCarryNoText(t *testing.T) {
	var logs bytes.Buffer
	a := analyzertest.New(t, "property")
	srv := httptest.NewServer(mustNew(t, api.Config{Analyzer: a, Log: slog.New(slog.NewJSONHandler(&logs, nil))}).Handler())
	defer srv.Close()
	post(t, srv.URL+"/api/v1/analyze", []byte(`{"text":"业主王秀英说电梯坏了"}`))
	post(t, srv.URL+"/api/v1/analyze", []byte(`{"text":"业主王秀英说电梯坏了","nps":99}`))
	out := logs.String()
	if !strings.Contains(out, `"path":"/api/v1/analyze"`) || !strings.Contains(out, `"status":422`) {
		t.Fatalf("logs lack the request lines: %s", out)
	}
	if strings.Contains(out, "王秀英") || strings.Contains(out, "电梯") {
		t.Errorf("logs carry record text: %s", out)
	}
}

func mustNew(t testing.TB, cfg api.Config) *api.Server {
	t.Helper()
	s, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
