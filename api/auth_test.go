package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/api"
	"dongting/api/access"
	"dongting/index/indextest"
)

type authServer struct {
	*corpusServer
	secrets map[string]string // name → secret
}

// newAuthServer serves a corpus with keys enforced and records in three
// projects of two regions, each with a red line (so each has an alert).
func newAuthServer(t *testing.T, limits api.Limits) *authServer {
	t.Helper()
	cs := startServer(t, limits, true)
	now := time.Now().Add(-time.Hour).Format(time.RFC3339)
	var recs []analyzer.Record
	for i, org := range []string{"华南区域/深圳/碧海花园", "华南区域/深圳/碧海花园", "华南区域/广州/云山府", "华东区域/杭州/西溪云庐", "华东区域/杭州/西溪云庐", "华东区域/杭州/西溪云庐"} {
		recs = append(recs, analyzer.Record{ID: fmt.Sprintf("r%d", i), Kind: "complaint", Channel: "400", Org: org, OccurredAt: now,
			Text: "3栋电梯困人二十分钟，物业一直没人管，我要打12345投诉！"})
	}
	res := indextest.Ingest(t, cs.corpus, recs)
	if err := cs.corpus.WaitIndexed(t.Context(), res[len(res)-1].Seq); err != nil {
		t.Fatal(err)
	}
	s := &authServer{corpusServer: cs, secrets: map[string]string{}}
	for _, k := range []struct{ name, role, scope string }{
		{"root", access.Admin, ""},
		{"south-analyst", access.Analyst, "华南区域"},
		{"sz-viewer", access.Viewer, "华南区域/深圳"},
		{"south-ingest", access.Ingest, "华南区域"},
		{"east-admin", access.Admin, "华东区域"},
	} {
		_, secret, err := cs.keys.Create(k.name, k.role, k.scope, "test")
		if err != nil {
			t.Fatal(err)
		}
		s.secrets[k.name] = secret
	}
	return s
}

func (s *authServer) call(t *testing.T, who, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+s.secrets[who])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestKeysRolesEndpoints(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	// Public: health, metrics and the page (static: it asks for a key).
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/"} {
		if resp, err := http.Get(s.URL + p); err != nil || resp.StatusCode != 200 {
			t.Errorf("%s without a key: %v %v", p, err, resp.StatusCode)
		}
	}
	rec := `{"id":"new-1","org":"华南区域/深圳/碧海花园","text":"垃圾三天没人清运"}`
	type ep struct{ method, path, body string }
	eps := []ep{
		{"POST", "/api/v1/analyze", `{"text":"电梯坏了"}`},
		{"GET", "/api/v1/taxonomy", ""},
		{"GET", "/api/v1/openapi.json", ""},
		{"GET", "/api/v1/search", ""},
		{"GET", "/api/v1/records/r0", ""},
		{"GET", "/api/v1/export", ""},
		{"GET", "/api/v1/trends", ""},
		{"GET", "/api/v1/movers", ""},
		{"GET", "/api/v1/scores/nps", ""},
		{"GET", "/api/v1/scores/experience", ""},
		{"GET", "/api/v1/scores/drivers", ""},
		{"GET", "/api/v1/alerts", ""},
		{"POST", "/api/v1/records", rec},
		{"GET", "/api/v1/status", ""},
		{"GET", "/api/v1/alerts/routing", ""},
		{"GET", "/api/v1/alerts/outbox", ""},
		{"GET", "/api/v1/keys", ""},
		{"GET", "/api/v1/audit", ""},
	}
	// allowed[who] lists the endpoints (by index) that key may use; the
	// rest must be 403. Every endpoint is 401 without a key.
	allowed := map[string][]int{
		"root":          {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17},
		"east-admin":    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, // r0 is outside: 404, checked below
		"south-analyst": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
		"sz-viewer":     {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11},
		"south-ingest":  {0, 1, 2, 12},
	}
	for i, e := range eps {
		if code, out := s.call(t, "", e.method, e.path, e.body); code != 401 {
			t.Errorf("no key, %s %s: %d %v", e.method, e.path, code, out)
		}
		for who, ok := range allowed {
			want := 403
			for _, j := range ok {
				if j == i {
					want = 200
				}
			}
			if who == "east-admin" && i == 4 {
				want = 404 // r0 is in 华南区域
			}
			if who == "east-admin" && i == 12 {
				want = 403 // a record outside its scope
			}
			code, out := s.call(t, who, e.method, e.path, e.body)
			if code == 201 {
				code = 200
			}
			if code != want {
				t.Errorf("%s: %s %s: %d %v, want %d", who, e.method, e.path, code, out, want)
			}
		}
	}
	// A wrong or forged secret is a 401 like none.
	s.secrets["forged"] = strings.Replace(s.secrets["root"], "_", "_0", 1)
	if code, _ := s.call(t, "forged", "GET", "/api/v1/search", ""); code != 401 {
		t.Errorf("forged key: %d", code)
	}
}

func TestScopes(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	total := func(who, q string) (int, map[string]any) {
		t.Helper()
		code, out := s.call(t, who, "GET", "/api/v1/search?facets=scene,channel&size=1&"+q, "")
		if code != 200 {
			t.Fatalf("%s search %s: %d %v", who, q, code, out)
		}
		return int(out["total"].(float64)), out
	}
	for who, want := range map[string]int{"root": 6, "south-analyst": 3, "sz-viewer": 2, "east-admin": 3} {
		n, out := total(who, "")
		if n != want {
			t.Errorf("%s sees %d records, want %d", who, n, want)
		}
		// Facet counts cover only the scope too.
		for _, f := range out["facets"].(map[string]any)["channel"].([]any) {
			if c := int(f.(map[string]any)["count"].(float64)); c > want {
				t.Errorf("%s: channel facet counts %d > %d", who, c, want)
			}
		}
	}
	if code, _ := s.call(t, "sz-viewer", "GET", "/api/v1/search?org="+url.QueryEscape("华南区域"), ""); code != 403 {
		t.Errorf("viewer widening its org: %d", code)
	}
	if n, _ := total("south-analyst", "org="+url.QueryEscape("华南区域/深圳")); n != 2 {
		t.Errorf("analyst narrowing to 深圳: %d", n)
	}
	// A cursor from the whole group's first page, used by a scoped key,
	// still returns only that scope.
	_, out := s.call(t, "root", "GET", "/api/v1/search?size=1&sort=newest", "")
	cursor := out["next"].(string)
	_, out = s.call(t, "sz-viewer", "GET", "/api/v1/search?size=50&sort=newest&cursor="+url.QueryEscape(cursor), "")
	for _, h := range out["hits"].([]any) {
		if org := h.(map[string]any)["org"].(string); !strings.HasPrefix(org, "华南区域/深圳") {
			t.Errorf("forged cursor leaked %s", org)
		}
	}
	// Export: only the scope's rows.
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/export?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+s.secrets["south-analyst"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(strings.NewReader(strings.TrimPrefix(readAll(resp), "\ufeff"))).ReadAll()
	if len(rows) != 4 {
		t.Errorf("export rows %d, want header + 3", len(rows))
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r[4], "华南区域") {
			t.Errorf("export leaked %v", r)
		}
	}
	// Records, trends, alerts.
	if code, _ := s.call(t, "sz-viewer", "GET", "/api/v1/records/r2", ""); code != 404 {
		t.Errorf("viewer fetching 广州's record: %d", code)
	}
	if code, _ := s.call(t, "sz-viewer", "GET", "/api/v1/records/r0", ""); code != 200 {
		t.Errorf("viewer fetching its own record: %d", code)
	}
	_, out = s.call(t, "south-analyst", "GET", "/api/v1/trends?interval=month", "")
	if v := out["series"].([]any)[0].(map[string]any)["total"].(map[string]any)["value"]; v != 3.0 {
		t.Errorf("analyst's trend volume %v, want 3", v)
	}
	_, out = s.call(t, "south-analyst", "GET", "/api/v1/trends?interval=month&group_by=org&level=2", "")
	for _, se := range out["series"].([]any) {
		if k := se.(map[string]any)["key"].(string); !strings.HasPrefix(k, "华南区域/") {
			t.Errorf("trend group outside the scope: %s", k)
		}
	}
	if code, _ := s.call(t, "south-analyst", "GET", "/api/v1/scores/nps?org="+url.QueryEscape("华东区域"), ""); code != 403 {
		t.Errorf("analyst reading another region's NPS: %d", code)
	}
	var eastAlert string
	_, out = s.call(t, "root", "GET", "/api/v1/alerts?org="+url.QueryEscape("华东区域"), "")
	eastAlert = out["alerts"].([]any)[0].(map[string]any)["id"].(string)
	_, out = s.call(t, "south-analyst", "GET", "/api/v1/alerts", "")
	for _, a := range out["alerts"].([]any) {
		if org := a.(map[string]any)["org"].(string); !strings.HasPrefix(org, "华南区域") {
			t.Errorf("alert leaked: %s", org)
		}
	}
	if code, _ := s.call(t, "south-analyst", "GET", "/api/v1/alerts/"+eastAlert, ""); code != 404 {
		t.Errorf("analyst fetching an east alert: %d", code)
	}
	if code, _ := s.call(t, "south-analyst", "POST", "/api/v1/alerts/"+eastAlert+"/acknowledge", `{"by":"x"}`); code != 404 {
		t.Errorf("analyst acknowledging an east alert: %d", code)
	}
	// Ingest within its scope only.
	if code, out := s.call(t, "south-ingest", "POST", "/api/v1/records", `{"id":"r9","org":"华东区域/杭州/西溪云庐","text":"写到别的区域"}`); code != 403 || out["error"].(map[string]any)["field"] != "org" {
		t.Errorf("ingest outside its scope: %d %v", code, out)
	}
}

// A scoped key has ids of its own: sending an id that a record outside its
// scope holds answers exactly as a fresh id does, keeps that record as it
// was, and the key (and every key of the same scope) sees its own record
// under the id it sent. Nothing tells it the id was taken.
func TestScopedKeysHaveTheirOwnIDs(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	post := func(who, id, text string) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"id": id, "org": "华南区域/深圳/碧海花园", "text": text})
		return s.call(t, who, "POST", "/api/v1/records?wait=indexed", string(body))
	}
	// r3 belongs to 华东区域; fresh-1 to nobody. The answers must not differ
	// but for the id.
	taken, takenOut := post("south-ingest", "r3", "5栋门口的垃圾三天没人清运")
	fresh, freshOut := post("south-ingest", "fresh-1", "5栋门口的垃圾三天没人清运")
	if taken != 201 || fresh != 201 || takenOut["id"] != "r3" || freshOut["id"] != "fresh-1" || takenOut["replaced"] != false {
		t.Fatalf("taken id: %d %v; fresh id: %d %v", taken, takenOut, fresh, freshOut)
	}
	for _, out := range []map[string]any{takenOut, freshOut} {
		delete(out, "id")
		delete(out, "seq")
		delete(out["analysis"].(map[string]any), "id")
	}
	if fmt.Sprint(takenOut) != fmt.Sprint(freshOut) {
		t.Errorf("the answers differ:\n%v\n%v", takenOut, freshOut)
	}
	// Sending it again updates the key's own record, like any re-send.
	if code, out := post("south-ingest", "r3", "5栋门口的垃圾四天没人清运"); code != 200 || out["replaced"] != true || out["id"] != "r3" {
		t.Errorf("re-send: %d %v", code, out)
	}
	// The east record is untouched.
	_, out := s.call(t, "root", "GET", "/api/v1/records/r3", "")
	if rec := out["record"].(map[string]any); rec["org"] != "华东区域/杭州/西溪云庐" || !strings.Contains(rec["text"].(string), "电梯困人") {
		t.Errorf("the east record changed: %v", rec)
	}
	// The south scope sees its own r3 by that id: fetch, search, export.
	code, out := s.call(t, "south-analyst", "GET", "/api/v1/records/r3", "")
	if code != 200 || out["record"].(map[string]any)["id"] != "r3" || !strings.Contains(out["record"].(map[string]any)["text"].(string), "四天") {
		t.Fatalf("south fetching its r3: %d %v", code, out)
	}
	_, out = s.call(t, "south-analyst", "GET", "/api/v1/search?q="+url.QueryEscape("四天"), "")
	if hits := out["hits"].([]any); len(hits) != 1 || hits[0].(map[string]any)["id"] != "r3" {
		t.Errorf("south searching: %v", out)
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/export?format=csv&q="+url.QueryEscape("四天"), nil)
	req.Header.Set("Authorization", "Bearer "+s.secrets["south-analyst"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); !strings.Contains(body, "\nr3,") || strings.Contains(body, "\x1f") {
		t.Errorf("south export: %q", body)
	}
	// The whole group sees both, the south one under its namespaced id.
	ns := analyzer.NamespacedID("华南区域", "r3")
	_, out = s.call(t, "root", "GET", "/api/v1/search?q="+url.QueryEscape("四天"), "")
	if hits := out["hits"].([]any); len(hits) != 1 || hits[0].(map[string]any)["id"] != ns {
		t.Errorf("root searching: %v", out)
	}
	if code, out := s.call(t, "root", "GET", "/api/v1/records/"+url.PathEscape(ns), ""); code != 200 || out["record"].(map[string]any)["org"] != "华南区域/深圳/碧海花园" {
		t.Errorf("root fetching the namespaced record: %d %v", code, out)
	}
	// A key of another scope neither sees it nor the east record's absence.
	if code, _ := s.call(t, "sz-viewer", "GET", "/api/v1/records/r3", ""); code != 404 {
		t.Errorf("a narrower scope fetching r3: %d", code)
	}
	// A scoped key may not send namespaced ids itself.
	if code, out := post("south-ingest", ns, "伪造"); code != 403 || out["error"].(map[string]any)["field"] != "id" {
		t.Errorf("a namespaced id from a scoped key: %d %v", code, out)
	}
	// Deleting r3 in the south deletes the south's record only.
	if code, out := s.call(t, "south-ingest", "DELETE", "/api/v1/records/r3", ""); code != 200 || out["id"] != "r3" {
		t.Errorf("south deleting its r3: %d %v", code, out)
	}
	if code, _ := s.call(t, "root", "GET", "/api/v1/records/r3", ""); code != 200 {
		t.Errorf("the east r3 went with the south's: %d", code)
	}
	if code, _ := s.call(t, "south-ingest", "DELETE", "/api/v1/records/r3", ""); code != 404 {
		t.Errorf("south deleting r3 again (the east one): %d", code)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestKeyLifecycleAuditAndRateLimit(t *testing.T) {
	s := newAuthServer(t, api.Limits{KeyRate: 1, KeyBurst: 30})
	code, out := s.call(t, "root", "POST", "/api/v1/keys", `{"name":"张三","role":"viewer","scope":"华东区域/杭州"}`)
	if code != 201 || out["secret"] == nil {
		t.Fatalf("create: %d %v", code, out)
	}
	s.secrets["zhang"] = out["secret"].(string)
	id := out["key"].(map[string]any)["id"].(string)
	if code, _ := s.call(t, "zhang", "GET", "/api/v1/search", ""); code != 200 {
		t.Fatalf("new key: %d", code)
	}
	if code, out := s.call(t, "root", "POST", "/api/v1/keys", `{"role":"owner"}`); code != 422 || out["error"].(map[string]any)["field"] != "role" {
		t.Errorf("bad role: %d %v", code, out)
	}
	_, out = s.call(t, "root", "GET", "/api/v1/keys", "")
	if b, _ := json.Marshal(out); strings.Contains(string(b), "hash") || strings.Contains(string(b), s.secrets["zhang"]) {
		t.Errorf("key list shows secrets or hashes: %s", b)
	}
	if code, _ := s.call(t, "root", "DELETE", "/api/v1/keys/"+id, ""); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _ := s.call(t, "zhang", "GET", "/api/v1/search", ""); code != 401 {
		t.Errorf("revoked key: %d", code)
	}
	s.call(t, "root", "GET", "/api/v1/export?format=ndjson", "")
	_, out = s.call(t, "root", "GET", "/api/v1/audit", "")
	var actions []string
	for _, e := range out["entries"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if strings.Join(actions, ",") != "export,key.revoke,key.create" {
		t.Errorf("audit %v", actions)
	}
	// The rate limit: 30 at once, then 1/s.
	var last int
	var retry string
	for range 40 {
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/taxonomy", nil)
		req.Header.Set("X-API-Key", s.secrets["sz-viewer"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
		last, retry = resp.StatusCode, resp.Header.Get("Retry-After")
		if last == 429 {
			break
		}
	}
	if last != 429 || retry == "" {
		t.Errorf("no 429 with Retry-After after 40 requests at a 1/s limit: %d %q", last, retry)
	}
	// Another key is not held up by it.
	if code, _ := s.call(t, "south-analyst", "GET", "/api/v1/taxonomy", ""); code != 200 {
		t.Errorf("other key limited too: %d", code)
	}
}
