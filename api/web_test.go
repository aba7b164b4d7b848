package api_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/api"
	"dongting/index/indextest"
)

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// The web app: its pages get index.html (never cached), its hashed
// assets are cached for good and sent gzipped to clients that take it;
// nothing outside the bundle is served, and API paths stay JSON 404s.
func TestWebApp(t *testing.T) {
	js := "console.log('洞听');" + strings.Repeat("/* padding */", 200)
	bundle := fstest.MapFS{
		"web/dist/app/index.html":         {Data: []byte(`<!doctype html><html lang="zh-CN"><div id="app"></div>`)},
		"web/dist/app/assets/index-1a.js": {Data: []byte(js)},
		"web/dist/app/favicon.svg":        {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	}
	a := analyzertest.New(t, "property")
	srv := httptest.NewServer(mustNew(t, api.Config{Analyzer: a, Web: bundle}).Handler())
	defer srv.Close()

	for _, p := range []string{"/", "/overview", "/verbatims?q=" + url.QueryEscape("电梯") + "&scene=facilities", "/alerts/al-00000001", "/index.html"} {
		resp, b := get(t, srv.URL+p)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `lang="zh-CN"`) || resp.Header.Get("Cache-Control") != "no-cache" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q %v", p, resp.StatusCode, b, resp.Header)
		}
	}
	resp, b := get(t, srv.URL+"/assets/index-1a.js", "Accept-Encoding", "gzip, br")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") ||
		!strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("asset: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != js || len(b) >= len(js) {
		t.Errorf("gzipped asset: %d bytes for %d, decoded %d", len(b), len(js), len(plain))
	}
	if resp, b = get(t, srv.URL+"/assets/index-1a.js"); resp.Header.Get("Content-Encoding") != "" || string(b) != js {
		t.Errorf("asset without gzip: %v", resp.Header)
	}
	for _, p := range []string{"/nope", "/assets/missing.js", "/assets", "/assets/../web.go", "/api/v1/nope", "/api/"} {
		resp, b := get(t, srv.URL+p)
		if resp.StatusCode != 404 || !strings.Contains(string(b), `"not_found"`) {
			t.Errorf("%s: %d %s", p, resp.StatusCode, b)
		}
	}

	for _, c := range []struct {
		method, path string
		status       int
	}{{"POST", "/api/v1/nope", 404}, {"DELETE", "/api/v1/nope/deeper", 404}, {"POST", "/api/v1/taxonomy", 405}, {"POST", "/overview", 405}} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}

	// No bundle: the page says how to build it, and the API still works.
	bare := httptest.NewServer(mustNew(t, api.Config{Analyzer: a, Web: fstest.MapFS{"web/dist/README.md": {Data: []byte("x")}}}).Handler())
	defer bare.Close()
	for _, p := range []string{"/", "/overview"} {
		if resp, b := get(t, bare.URL+p); resp.StatusCode != 200 || !strings.Contains(string(b), "make build") {
			t.Errorf("no bundle %s: %d %s", p, resp.StatusCode, b)
		}
	}
	if resp, _ := get(t, bare.URL+"/api/v1/taxonomy"); resp.StatusCode != 200 {
		t.Errorf("taxonomy without a bundle: %d", resp.StatusCode)
	}
}

// /me names the calling key and what it may do; /orgs is the org tree of
// its scope with live counts, the scope's node as the root.
func TestMeAndOrgs(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	code, out := s.call(t, "sz-viewer", "GET", "/api/v1/me", "")
	may, _ := out["may"].(map[string]any)
	if code != 200 || out["role"] != "viewer" || out["scope"] != "华南区域/深圳" || out["name"] != "sz-viewer" || may["read"] != true || may["act"] != false || may["admin"] != false {
		t.Fatalf("me: %d %v", code, out)
	}
	if _, out = s.call(t, "east-admin", "GET", "/api/v1/me", ""); out["may"].(map[string]any)["admin"] != false || out["may"].(map[string]any)["act"] != true {
		t.Errorf("a scoped admin may not administer the group: %v", out)
	}
	if _, out = s.call(t, "root", "GET", "/api/v1/me", ""); out["may"].(map[string]any)["admin"] != true || out["may"].(map[string]any)["curate"] != true {
		t.Errorf("root: %v", out)
	}
	s.secrets["forged"] = "dt_00000000_00000000000000000000000000000000"
	if code, out = s.call(t, "forged", "GET", "/api/v1/me", ""); code != 401 {
		t.Errorf("forged key: %d %v", code, out)
	}
	if code, _ = s.call(t, "", "GET", "/api/v1/me", ""); code != 401 {
		t.Errorf("no key: %d", code)
	}

	code, out = s.call(t, "root", "GET", "/api/v1/orgs", "")
	if code != 200 || out["records"] != 6.0 || out["scope"] != "" {
		t.Fatalf("orgs: %d %v", code, out)
	}
	want := "华东区域 3 [杭州 3 [西溪云庐 3]]; 华南区域 3 [广州 1 [云山府 1]; 深圳 2 [碧海花园 2]]"
	if got := treeString(out["orgs"]); got != want {
		t.Errorf("tree %s, want %s", got, want)
	}
	if n := out["orgs"].([]any)[1].(map[string]any)["children"].([]any)[1].(map[string]any); n["path"] != "华南区域/深圳" || n["level"] != 2.0 {
		t.Errorf("node %v", n)
	}
	_, out = s.call(t, "sz-viewer", "GET", "/api/v1/orgs", "")
	if got := treeString(out["orgs"]); got != "深圳 2 [碧海花园 2]" || out["records"] != 2.0 {
		t.Errorf("scoped tree %s %v", got, out)
	}
	if code, _ = s.call(t, "south-ingest", "GET", "/api/v1/orgs", ""); code != 403 {
		t.Errorf("an ingest key reads the org tree: %d", code)
	}
}

func treeString(v any) string {
	var parts []string
	for _, n := range v.([]any) {
		m := n.(map[string]any)
		s := fmt.Sprintf("%s %v", m["name"], m["records"])
		if ch, ok := m["children"]; ok {
			s += " [" + treeString(ch) + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// The histogram counts a search's hits per day, week or month in the
// service's zone, fills empty periods, honours every filter and the key's
// scope, and answers the bad parameters with their field.
func TestHistogram(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	var recs []analyzer.Record
	add := func(id, org, at, text string) {
		recs = append(recs, analyzer.Record{ID: id, Kind: "complaint", Channel: "app", Org: org, OccurredAt: at, Text: text})
	}
	// Monday 2 March 2026 … ; 23:30 UTC on 3 March is 4 March in Shanghai.
	add("h1", "华南区域/深圳/碧海花园", "2026-03-02T09:00:00+08:00", "楼道的垃圾没人清运，臭气熏天")
	add("h2", "华南区域/深圳/碧海花园", "2026-03-02T18:00:00+08:00", "垃圾桶满了没人管")
	add("h3", "华东区域/杭州/西溪云庐", "2026-03-03T23:30:00Z", "垃圾清运太慢了")
	add("h4", "华南区域/深圳/碧海花园", "2026-03-10T10:00:00+08:00", "垃圾分类点很脏")
	add("h5", "华南区域/深圳/碧海花园", "2026-04-20T10:00:00+08:00", "停车费又涨了")
	res := indextest.Ingest(t, s.corpus, recs)
	if err := s.corpus.WaitIndexed(t.Context(), res[len(res)-1].Seq); err != nil {
		t.Fatal(err)
	}
	type bucket struct {
		label string
		count int
	}
	hist := func(who, params string) (int, []bucket, map[string]any) {
		t.Helper()
		code, out := s.call(t, who, "GET", "/api/v1/search/histogram?"+params, "")
		var bs []bucket
		list, _ := out["buckets"].([]any)
		for _, b := range list {
			m := b.(map[string]any)
			bs = append(bs, bucket{m["label"].(string), int(m["count"].(float64))})
		}
		return code, bs, out
	}
	q := "q=" + url.QueryEscape("垃圾")
	code, bs, out := hist("root", q+"&interval=day")
	if code != 200 || out["total"] != 4.0 || len(bs) != 9 || bs[0] != (bucket{"2026-03-02", 2}) || bs[1] != (bucket{"2026-03-03", 0}) ||
		bs[2] != (bucket{"2026-03-04", 1}) || bs[8] != (bucket{"2026-03-10", 1}) || out["from"] != "2026-03-02" || out["to"] != "2026-03-11" {
		t.Fatalf("days: %d %v %v", code, bs, out)
	}
	if _, bs, _ = hist("root", q+"&interval=week"); len(bs) != 2 || bs[0] != (bucket{"2026-W10", 3}) || bs[1] != (bucket{"2026-W11", 1}) {
		t.Errorf("weeks: %v", bs)
	}
	if _, bs, out = hist("root", "interval=month"); out["total"] != 11.0 || len(bs) < 2 {
		t.Errorf("months of everything: %v %v", bs, out)
	}
	// from..to sets the span; to is exclusive.
	if _, bs, out = hist("root", q+"&from=2026-03-01&to=2026-03-04"); out["interval"] != "day" || len(bs) != 3 || bs[0] != (bucket{"2026-03-01", 0}) || bs[2] != (bucket{"2026-03-03", 0}) || out["total"] != 2.0 {
		t.Errorf("from..to: %v %v", bs, out)
	}
	// Filters and the scope apply.
	if _, bs, out = hist("root", q+"&org="+url.QueryEscape("华东区域")+"&interval=day"); out["total"] != 1.0 || len(bs) != 1 || bs[0] != (bucket{"2026-03-04", 1}) {
		t.Errorf("org filter: %v %v", bs, out)
	}
	if _, _, out = hist("sz-viewer", q+"&interval=month"); out["total"] != 3.0 {
		t.Errorf("scoped: %v", out)
	}
	if _, bs, out = hist("root", "q="+url.QueryEscape("不存在的词")); len(bs) != 0 || out["total"] != 0.0 {
		t.Errorf("no hits: %v %v", bs, out)
	}
	for _, c := range []struct {
		who, params string
		status      int
		field       string
	}{
		{"root", "interval=hour", 400, "interval"},
		{"root", "interval=day&from=2000-01-01&to=2026-01-01", 400, "interval"},
		{"root", "q=" + url.QueryEscape("(垃圾"), 400, "q"},
		{"root", "from=yesterday", 400, "from"},
		{"sz-viewer", "org=" + url.QueryEscape("华东区域"), 403, "org"},
		{"south-ingest", "", 403, ""},
	} {
		code, out := s.call(t, c.who, "GET", "/api/v1/search/histogram?"+c.params, "")
		if _, field := errOf(out); code != c.status || field != c.field {
			t.Errorf("%s %s: %d %v", c.who, c.params, code, out)
		}
	}
}

// Taxonomy facets name their values (the path from the scene down).
func TestFacetNames(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	_, out := s.call(t, "root", "GET", "/api/v1/search?size=1&facets=scene,touchpoint,channel", "")
	facets := out["facets"].(map[string]any)
	names := map[string]string{}
	for _, f := range []string{"scene", "touchpoint", "channel"} {
		for _, v := range facets[f].([]any) {
			m := v.(map[string]any)
			name, _ := m["name"].(string)
			names[m["value"].(string)] = name
		}
	}
	if names["facilities"] != "公共设施设备" || names["facilities.elevator.entrapment"] != "公共设施设备/电梯/电梯困人" || names["400"] != "" {
		t.Errorf("facet names %v", names)
	}
}

// The summary counts alerts by status and the unresolved ones by severity
// and source, in the key's scope, and follows the lifecycle.
func TestAlertSummary(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	var summary map[string]any
	waitFor(t, func() bool {
		_, summary = s.call(t, "root", "GET", "/api/v1/alerts/summary", "")
		st, _ := summary["status"].(map[string]any)
		return st != nil && st["open"].(float64) >= 3
	})
	unresolved := summary["unresolved"].(map[string]any)
	if p1 := unresolved["severity"].(map[string]any)["P1"]; p1 != 3.0 || unresolved["records"].(float64) < 6 {
		t.Fatalf("summary %v", summary)
	}
	_, out := s.call(t, "root", "GET", "/api/v1/alerts?source=redline&org="+url.QueryEscape("华南区域/深圳"), "")
	id := out["alerts"].([]any)[0].(map[string]any)["id"].(string)
	if code, out := s.call(t, "root", "POST", "/api/v1/alerts/"+id+"/acknowledge", `{"by":"李经理"}`); code != 200 {
		t.Fatalf("ack: %d %v", code, out)
	}
	_, summary = s.call(t, "sz-viewer", "GET", "/api/v1/alerts/summary", "")
	st := summary["status"].(map[string]any)
	if st["open"] != 0.0 || st["acknowledged"] != 1.0 || summary["unresolved"].(map[string]any)["severity"].(map[string]any)["P1"] != 1.0 {
		t.Errorf("scoped summary after ack: %v", summary)
	}
	if code, out := s.call(t, "root", "GET", "/api/v1/alerts/summary?severity=P9", ""); code != 400 {
		t.Errorf("bad severity: %d %v", code, out)
	}
	if code, _ := s.call(t, "sz-viewer", "GET", "/api/v1/alerts/summary?org="+url.QueryEscape("华东区域"), ""); code != 403 {
		t.Errorf("outside the scope: %d", code)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("condition not met in 5 s")
}

// exclude=facet:value leaves those hits out of searches, histograms and
// exports; bad ones are 400s naming the parameter.
func TestExcludeParameter(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	recs := []analyzer.Record{
		{ID: "x1", Kind: "complaint", Channel: "app", Org: "华南区域/深圳/碧海花园", OccurredAt: "2026-03-02T09:00:00+08:00", Text: "停车费又涨了"},
		{ID: "x2", Kind: "workorder", Channel: "工单系统", Org: "华南区域/深圳/碧海花园", OccurredAt: "2026-03-02T10:00:00+08:00", Text: "道闸识别不了车牌"},
	}
	res := indextest.Ingest(t, s.corpus, recs)
	if err := s.corpus.WaitIndexed(t.Context(), res[len(res)-1].Seq); err != nil {
		t.Fatal(err)
	}
	count := func(path string) float64 {
		t.Helper()
		code, out := s.call(t, "root", "GET", path, "")
		if code != 200 {
			t.Fatalf("%s: %d %v", path, code, out)
		}
		return out["total"].(float64)
	}
	if n := count("/api/v1/search?scene=parking&exclude=channel:" + url.QueryEscape("工单系统")); n != 1 {
		t.Errorf("search without 工单系统: %v", n)
	}
	if n := count("/api/v1/search?exclude=scene:facilities,kind:workorder"); n != 1 {
		t.Errorf("search without facilities and work orders: %v (the 6 elevator records and x2 are out)", n)
	}
	if n := count("/api/v1/search/histogram?exclude=touchpoint:parking.fee"); n != 7 {
		t.Errorf("histogram without parking fees: %v", n)
	}
	for _, bad := range []string{"channel", "org:华南区域", "scene:nowhere", "sentiment:angry", "severity:P9", "touchpoint:"} {
		code, out := s.call(t, "root", "GET", "/api/v1/search?exclude="+url.QueryEscape(bad), "")
		if _, field := errOf(out); code != 400 || field != "exclude" {
			t.Errorf("exclude=%s: %d %v", bad, code, out)
		}
	}
}
