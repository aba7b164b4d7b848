package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"dongting/analyzer/analyzertest"
	"dongting/api"
	"dongting/api/access"
	"dongting/data"
	"dongting/index"
	"dongting/index/alerts"
	"dongting/index/indextest"
	"dongting/index/review"
	"dongting/index/tagging"
)

type corpusServer struct {
	*httptest.Server
	dir     string // the corpus's directory
	corpus  *index.Corpus
	logs    *analyzertest.Buffer // the server's and the corpus's log
	alerts  *alerts.Engine
	tagging *tagging.Manager
	review  *review.Review
	keys    *access.Keys // nil: keys not enforced
	once    sync.Once
}

// newCorpusServer serves a real corpus with alerts, keys not enforced.
func newCorpusServer(t *testing.T, limits api.Limits) *corpusServer {
	return startServer(t, limits, false)
}

// startServer serves a real corpus (bbolt and Bleve in t.TempDir()) with
// its alert engine through the real echo server; withKeys enforces API keys.
func startServer(t *testing.T, limits api.Limits, withKeys bool) *corpusServer {
	t.Helper()
	return startServerIn(t, limits, withKeys, nil)
}

// startServerIn is startServer with the service in zone loc (nil: the
// default, index.DefaultZone).
func startServerIn(t *testing.T, limits api.Limits, withKeys bool, loc *time.Location) *corpusServer {
	t.Helper()
	return startServerWith(t, limits, withKeys, index.Options{Location: loc})
}

// startServerWith is startServer with the corpus's options (Dir is a
// new directory unless set; OnIndexed also updates the metrics).
func startServerWith(t *testing.T, limits api.Limits, withKeys bool, opt index.Options) *corpusServer {
	t.Helper()
	metrics := api.NewMetrics()
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	dir, then := opt.Dir, opt.OnIndexed
	opt.OnIndexed = func(n int, lag time.Duration) {
		metrics.OnIndexed(n, lag)
		if then != nil {
			then(n, lag)
		}
	}
	logs := new(analyzertest.Buffer)
	log := slog.New(slog.NewJSONHandler(logs, nil))
	if opt.Log == nil {
		opt.Log = log
	}
	c := indextest.Open(t, opt)
	routing, err := fs.ReadFile(data.FS(), "alerts/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := alerts.ParseConfig(routing)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := alerts.Open(c, cfg, alerts.Options{Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src, err := fs.ReadFile(data.FS(), "taxonomy/property.yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := fs.ReadFile(data.FS(), "eval/property_tags.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	curator, err := tagging.Open(c, c.Analyzer(), tagging.Options{Default: src, Golden: golden})
	if err != nil {
		t.Fatal(err)
	}
	rv, err := review.Open(c, curator, review.Options{Shipped: c.Analyzer().Models()})
	if err != nil {
		t.Fatal(err)
	}
	s := &corpusServer{dir: dir, corpus: c, logs: logs, alerts: engine, tagging: curator, review: rv}
	if withKeys {
		if s.keys, err = access.Open(c.Store(), nil); err != nil {
			t.Fatal(err)
		}
	}
	s.Server = httptest.NewServer(mustNew(t, api.Config{Analyzer: c.Analyzer(), Corpus: c, Log: log,
		Limits: limits, Metrics: metrics, Alerts: engine, Keys: s.keys, Tagging: curator, Review: rv}).Handler())
	t.Cleanup(s.close)
	return s
}

// close stops the server, the engine and the corpus (once).
func (s *corpusServer) close() {
	s.once.Do(func() {
		s.Server.Close()
		s.alerts.Close()
		s.tagging.Close()
		s.corpus.Close()
	})
}

func do(t *testing.T, method, url, ctype string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: response is not JSON: %v", method, url, err)
	}
	return resp.StatusCode, out
}

func errOf(out map[string]any) (code, field string) {
	e, _ := out["error"].(map[string]any)
	if e == nil {
		return "", ""
	}
	f, _ := e["field"].(string)
	return e["code"].(string), f
}

func hitIDs(out map[string]any) []string {
	var ids []string
	hits, _ := out["hits"].([]any)
	for _, h := range hits {
		ids = append(ids, h.(map[string]any)["id"].(string))
	}
	slices.Sort(ids)
	return ids
}

func TestRecordLifecycle(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	rec := `{"id":"wo-1","kind":"complaint","channel":"app","org":"华南区域/深圳/碧海花园","occurred_at":"2026-03-01T09:00:00+08:00","customer":"13812345678","text":"3栋电梯困人半小时，物业电话13812345678打不通！"}`
	code, out := do(t, "POST", s.URL+"/api/v1/records?wait=indexed", "application/json", strings.NewReader(rec))
	if code != 201 || out["id"] != "wo-1" || out["indexed"] != true || out["replaced"] != false {
		t.Fatalf("create: %d %v", code, out)
	}
	code, out = do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape("电梯困人"), "", nil)
	if code != 200 || !slices.Equal(hitIDs(out), []string{"wo-1"}) {
		t.Fatalf("search: %d %v", code, out)
	}
	_, out = do(t, "GET", s.URL+"/api/v1/records/wo-1", "", nil)
	stored := out["record"].(map[string]any)
	if c, _ := stored["customer"].(string); c == "" || strings.Contains(c, "13812345678") || !strings.HasPrefix(c, "c_") {
		t.Errorf("customer stored as %q", c)
	}
	if strings.Contains(stored["text"].(string), "13812345678") {
		t.Errorf("phone stored unmasked: %v", stored["text"])
	}
	// Same id again: replaced, not duplicated.
	code, out = do(t, "POST", s.URL+"/api/v1/records?wait=indexed", "application/json",
		strings.NewReader(`{"id":"wo-1","kind":"complaint","text":"垃圾三天没人清运"}`))
	if code != 200 || out["replaced"] != true {
		t.Fatalf("replace: %d %v", code, out)
	}
	if _, out = do(t, "GET", s.URL+"/api/v1/search", "", nil); out["total"] != 1.0 {
		t.Errorf("after replace: total %v", out["total"])
	}
	if _, out = do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape("电梯"), "", nil); len(hitIDs(out)) != 0 {
		t.Errorf("old text still found: %v", out)
	}
	code, out = do(t, "GET", s.URL+"/api/v1/records/wo-1", "", nil)
	rec2 := out["record"].(map[string]any)
	if code != 200 || rec2["text"] != "垃圾三天没人清运" || out["analysis"] == nil {
		t.Errorf("get: %d %v", code, out)
	}
	code, out = do(t, "DELETE", s.URL+"/api/v1/records/wo-1?wait=indexed", "", nil)
	if code != 200 || out["indexed"] != true {
		t.Errorf("delete: %d %v", code, out)
	}
	for _, m := range []string{"GET", "DELETE"} {
		code, out = do(t, m, s.URL+"/api/v1/records/wo-1", "", nil)
		if c, f := errOf(out); code != 404 || c != "not_found" || f != "id" {
			t.Errorf("%s after delete: %d %v", m, code, out)
		}
	}
	if strings.Contains(s.logs.String(), "电梯") || strings.Contains(s.logs.String(), "13812345678") {
		t.Errorf("logs carry record text: %s", s.logs.String())
	}
	if !strings.Contains(s.logs.String(), `"request_id":"`) {
		t.Errorf("logs carry no request id: %s", s.logs.String())
	}
}

func TestRecordErrors(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	for _, tc := range []struct {
		body   string
		status int
		code   string
		field  string
	}{
		{`{"text":"没有编号"}`, 422, "invalid_field", "id"},
		{`{"id":"a","text":"x","csat":9}`, 422, "invalid_field", "csat"},
		{`{"id":"a","txt":"x"}`, 400, "invalid_json", "txt"},
		{`{"id":"a","text":"` + strings.Repeat("长", api.MaxBody/3+1) + `"}`, 413, "too_large", ""},
	} {
		code, out := do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(tc.body))
		if c, f := errOf(out); code != tc.status || c != tc.code || f != tc.field {
			t.Errorf("%.40s: %d %v, want %d %s %s", tc.body, code, out, tc.status, tc.code, tc.field)
		}
	}
	if st, _ := s.corpus.Status(); st.Records != 0 {
		t.Errorf("bad records stored: %+v", st)
	}
}

func TestBatch(t *testing.T) {
	s := newCorpusServer(t, api.Limits{BatchRecords: 50, BatchBody: 64 << 10})
	csvBody, err := os.ReadFile("../analyzer/testdata/records.csv")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status             int
		accepted, failed   float64
		errLines           []float64
		stopCode, stopFied string
	}
	ndjson := `{"id":"n1","text":"电梯坏了"}
{"id":"n2","txt":"拼错"}

{"id":"n3","text":"楼道灯不亮","kind":"tweet"}
{"id":"n1","text":"电梯又坏了，第三次了"}
`
	var big strings.Builder
	for i := range 60 {
		fmt.Fprintf(&big, `{"id":"b%d","text":"停车费太贵"}`+"\n", i)
	}
	var huge strings.Builder
	for i := 0; huge.Len() < 80<<10; i++ {
		fmt.Fprintf(&huge, `{"id":"h%d","text":"%s"}`+"\n", i, strings.Repeat("垃圾没人清运", 100))
	}
	for _, tc := range []struct {
		name, ctype, query, body string
		want                     want
	}{
		{"csv", "text/csv", "", string(csvBody), want{200, 3, 3, []float64{4, 5, 6}, "", ""}},
		{"ndjson with a repeated id", "application/x-ndjson", "", ndjson, want{200, 2, 2, []float64{2, 4}, "", ""}},
		{"json array", "application/json", "", `[{"id":"j1","text":"保洁很好"},{"id":"j2","nps":11,"text":"x"}]`, want{200, 1, 1, []float64{2}, "", ""}},
		{"format parameter", "application/octet-stream", "?format=ndjson", `{"id":"f1","text":"绿化没人修剪"}`, want{200, 1, 0, nil, "", ""}},
		{"all bad", "application/x-ndjson", "", `{"id":"x"}` + "\n", want{422, 0, 1, []float64{1}, "no_valid_records", ""}},
		{"broken array keeps what came before", "application/json", "", `[{"id":"k1","text":"电梯坏了"},{"id":`, want{400, 1, 0, nil, "invalid_json", "body"}},
		{"over the record limit", "application/x-ndjson", "", big.String(), want{413, 50, 0, nil, "too_many_records", "body"}},
		{"over the size limit", "application/x-ndjson", "", huge.String(), want{413, -1, 0, nil, "too_large", "body"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := do(t, "POST", s.URL+"/api/v1/records/batch"+tc.query, tc.ctype, strings.NewReader(tc.body))
			if code != tc.want.status {
				t.Fatalf("status %d, want %d: %v", code, tc.want.status, out)
			}
			if tc.want.accepted >= 0 && out["accepted"] != tc.want.accepted {
				t.Errorf("accepted %v, want %v", out["accepted"], tc.want.accepted)
			}
			if out["failed"] != tc.want.failed {
				t.Errorf("failed %v, want %v: %v", out["failed"], tc.want.failed, out["errors"])
			}
			var lines []float64
			for _, e := range out["errors"].([]any) {
				lines = append(lines, e.(map[string]any)["line"].(float64))
			}
			if !slices.Equal(lines, tc.want.errLines) {
				t.Errorf("error lines %v, want %v", lines, tc.want.errLines)
			}
			if c, f := errOf(out); c != tc.want.stopCode || f != tc.want.stopFied {
				t.Errorf("error %q %q, want %q %q", c, f, tc.want.stopCode, tc.want.stopFied)
			}
		})
	}
	// What the size-limited upload got through before the limit is kept.
	if st, err := s.corpus.Get("h0"); err != nil || st == nil {
		t.Errorf("first records of an oversized upload lost: %v", err)
	}
	if st, _ := s.corpus.Get("n1"); st == nil || !strings.Contains(st.Record.Text, "第三次") {
		t.Errorf("repeated id in a batch: %+v", st)
	}
	code, out := do(t, "POST", s.URL+"/api/v1/records/batch", "text/plain", strings.NewReader("x"))
	if c, f := errOf(out); code != 415 || c != "unsupported_media_type" || f != "Content-Type" {
		t.Errorf("text/plain: %d %v", code, out)
	}
	code, out = do(t, "POST", s.URL+"/api/v1/records/batch", "text/csv", strings.NewReader("id,channel\n1,app\n"))
	if c, f := errOf(out); code != 400 || c != "invalid_field" || f != "header" {
		t.Errorf("csv without text: %d %v", code, out)
	}
}

// TestServiceZone runs the service in a zone other than the default: CSV
// times without a zone, search dates and the month facet all follow it.
func TestServiceZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York") // time/tzdata: never missing
	if err != nil {
		t.Fatal(err)
	}
	s := startServerIn(t, api.Limits{}, false, ny)
	rows := "id,occurred_at,text\n" +
		"late,2026-04-30 23:30,电梯又坏了\n" + // 2026-05-01 03:30 UTC, 11:30 in Shanghai
		"early,2026-05-01 00:30,电梯没人修\n" +
		"utc,2026-05-01T02:00:00Z,电梯一直响\n" // 2026-04-30 22:00 in New York
	code, out := do(t, "POST", s.URL+"/api/v1/records/batch?wait=indexed", "text/csv", strings.NewReader(rows))
	if code != 200 || out["accepted"] != 3.0 {
		t.Fatalf("batch: %d %v", code, out)
	}
	_, out = do(t, "GET", s.URL+"/api/v1/records/late", "", nil)
	if at := out["record"].(map[string]any)["occurred_at"]; at != "2026-04-30T23:30:00-04:00" {
		t.Errorf("a CSV time without a zone is stored as %v, want it read in New York", at)
	}
	for _, tt := range []struct {
		from, to string
		want     []string
	}{
		{"2026-04-30", "2026-05-01", []string{"late", "utc"}},
		{"2026-05-01", "2026-05-02", []string{"early"}},
		{"2026-04-30T23:00:00-04:00", "2026-05-01T00:30:00-04:00", []string{"late"}}, // to is exclusive
	} {
		code, out := do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape("电梯")+"&sort=oldest&facets=month&from="+url.QueryEscape(tt.from)+"&to="+url.QueryEscape(tt.to), "", nil)
		if got := hitIDs(out); code != 200 || !slices.Equal(got, tt.want) {
			t.Errorf("%s–%s: %d %v, want %v", tt.from, tt.to, code, got, tt.want)
		}
		month := out["facets"].(map[string]any)["month"].([]any)
		if wantMonth := tt.from[:7]; len(month) != 1 || month[0].(map[string]any)["value"] != wantMonth {
			t.Errorf("%s–%s: month facet %v, want all in %s", tt.from, tt.to, month, wantMonth)
		}
	}
}

func TestSearchAndExport(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	var body strings.Builder
	texts := []string{"电梯困人了，物业半天没人来", "物业费又涨价了", "保洁阿姨很负责，楼道很干净", "小區的電梯經常故障"}
	for i := range 30 {
		fmt.Fprintf(&body, `{"id":"s%02d","kind":"complaint","channel":"app","org":"华东区域/杭州/西溪云庐","occurred_at":"2026-0%d-1%dT10:00:00+08:00","text":"%s"}`+"\n",
			i, 1+i%9, i%10, texts[i%len(texts)])
	}
	code, out := do(t, "POST", s.URL+"/api/v1/records/batch?wait=indexed", "application/x-ndjson", strings.NewReader(body.String()))
	if code != 200 || out["accepted"] != 30.0 || out["indexed"] != true {
		t.Fatalf("batch: %d %v", code, out)
	}
	code, out = do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape("電梯")+"&facets=scene,touchpoint,channel,sentiment&size=5", "", nil)
	if code != 200 || out["total"] != 15.0 || len(out["hits"].([]any)) != 5 || out["next"] == nil {
		t.Fatalf("search: %d total %v next %v", code, out["total"], out["next"])
	}
	hit := out["hits"].([]any)[0].(map[string]any)
	if sn, _ := hit["snippets"].([]any); len(sn) == 0 || !strings.Contains(sn[0].(string), "<mark>") {
		t.Errorf("snippets %v", hit["snippets"])
	}
	facets := out["facets"].(map[string]any)
	if sc := facets["scene"].([]any); sc[0].(map[string]any)["value"] != "facilities" || sc[0].(map[string]any)["count"] != 15.0 {
		t.Errorf("scene facet %v", sc)
	}
	// A worded search in a time range (to is exclusive: s04 is at exactly
	// that second) with facets that add up to its total.
	shanghai := time.FixedZone("CST", 8*3600)
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai), time.Date(2026, 5, 14, 10, 0, 0, 0, shanghai)
	want := 0
	for i := range 30 {
		at := time.Date(2026, time.Month(1+i%9), 10+i%10, 10, 0, 0, 0, shanghai)
		if (i%4 == 0 || i%4 == 3) && !at.Before(from) && at.Before(to) {
			want++
		}
	}
	code, out = do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape("电梯")+"&from=2026-03-01&to="+url.QueryEscape(to.Format(time.RFC3339))+"&facets=channel&size=50", "", nil)
	if ch := out["facets"].(map[string]any)["channel"].([]any); code != 200 || out["total"] != float64(want) || len(hitIDs(out)) != want ||
		len(ch) != 1 || ch[0].(map[string]any)["count"] != float64(want) || slices.Contains(hitIDs(out), "s04") {
		t.Errorf("ranged search: %d total %v (want %d) hits %v channel facet %v", code, out["total"], want, hitIDs(out), ch)
	}
	// Pages follow the cursor without repeats.
	seen := map[string]bool{}
	next := ""
	for {
		u := s.URL + "/api/v1/search?q=" + url.QueryEscape("电梯") + "&size=7&sort=newest"
		if next != "" {
			u += "&cursor=" + next
		}
		_, page := do(t, "GET", u, "", nil)
		for _, id := range hitIDs(page) {
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
		}
		n, _ := page["next"].(string)
		if n == "" {
			break
		}
		next = n
	}
	if len(seen) != 15 {
		t.Errorf("paged through %d of 15", len(seen))
	}
	for _, tc := range []struct{ query, field string }{
		{"q=" + url.QueryEscape("电梯 AND"), "q"},
		{"touchpoint=nope", "touchpoint"},
		{"sentiment=angry", "sentiment"},
		{"from=yesterday", "from"},
		{"from=2026-05-01&to=2026-04-01", "to"},
		{"nps_min=11", "nps_min"},
		{"size=1000", "size"},
		{"sort=random", "sort"},
		{"facets=colour", "facets"},
		{"cursor=AAAA", "cursor"},
	} {
		code, out := do(t, "GET", s.URL+"/api/v1/search?"+tc.query, "", nil)
		if c, f := errOf(out); code != 400 || c != "bad_parameter" || f != tc.field {
			t.Errorf("%s: %d %v, want 400 on %s", tc.query, code, out, tc.field)
		}
	}

	resp, err := http.Get(s.URL + "/api/v1/export?format=csv&scene=fees")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(rows) != 1+8 {
		t.Fatalf("csv export: %d, %d rows, %v", resp.StatusCode, len(rows), err)
	}
	if rows[1][len(rows[1])-1] != "物业费又涨价了" || !strings.Contains(rows[1][8], "fees.") {
		t.Errorf("csv row %v", rows[1])
	}
	resp, err = http.Get(s.URL + "/api/v1/export?format=ndjson")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := bytes.Count(b, []byte("\n")); n != 30 {
		t.Errorf("ndjson export: %d lines", n)
	}
	code, out = do(t, "GET", s.URL+"/api/v1/export?format=xml", "", nil)
	if _, f := errOf(out); code != 400 || f != "format" {
		t.Errorf("bad export format: %d %v", code, out)
	}
}

func TestMetrics(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	do(t, "POST", s.URL+"/api/v1/records?wait=indexed", "application/json", strings.NewReader(`{"id":"m1","text":"电梯困人，我要打12345"}`))
	do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(`{"id":"m2","text":""}`))
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`dongting_ingest_records_total{result="stored"} 1`,
		`dongting_ingest_records_total{result="failed"} 1`,
		`dongting_ingest_severity_total{severity="P1"} 1`,
		`dongting_index_lag_entries 0`,
		`dongting_index_entries_total 1`,
		`dongting_http_request_duration_seconds_count{method="POST",route="/api/v1/records",status="201"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestOpenAPI keeps the description true: every route the server answers
// is described, and every described path is a route.
func TestOpenAPI(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	resp, err := http.Get(s.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Parameters map[string]map[string]any `json:"parameters"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.OpenAPI == "" {
		t.Fatalf("openapi.json: %v", err)
	}
	resp.Body.Close()
	// A comma in an unquoted flow-style value ends it, and what follows
	// becomes a key without a value: every key of a parameter has one.
	for name, p := range doc.Components.Parameters {
		for k, v := range p {
			if v == nil {
				t.Errorf("parameter %s: key %q has no value (an unquoted comma?)", name, k)
			}
		}
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			described[strings.ToUpper(method)+" "+path] = true
		}
	}
	keys, err := access.Open(s.corpus.Store(), nil)
	if err != nil {
		t.Fatal(err)
	}
	routes := api.Routes(mustNew(t, api.Config{Analyzer: s.corpus.Analyzer(), Corpus: s.corpus, Alerts: s.alerts, Keys: keys, Tagging: s.tagging, Review: s.review}))
	served := map[string]bool{}
	for _, r := range routes {
		p := r
		// echo's :id is OpenAPI's {id}
		p = strings.NewReplacer(":id", "{id}", ":action", "{action}", ":n", "{n}").Replace(p)
		served[p] = true
		if !described[p] && !strings.HasSuffix(p, " /") && !strings.HasSuffix(p, " /*") { // the web app
			t.Errorf("route %s is not in openapi.yaml", p)
		}
	}
	for d := range described {
		if !served[d] {
			t.Errorf("openapi.yaml describes %s, which is not a route", d)
		}
	}
}
