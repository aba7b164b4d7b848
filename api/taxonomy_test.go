package api_test

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/api"
	"dongting/data"
	"dongting/index/indextest"
)

// droneDraft adds a touchpoint the built-in taxonomy lacks.
func droneDraft(t *testing.T) string {
	src, err := fs.ReadFile(data.FS(), "taxonomy/property.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i := strings.Index(s, "  - id: security\n")
	j := strings.Index(s[i:], "    touchpoints:\n") + i + len("    touchpoints:\n")
	return s[:j] + "      - {id: security.drone, name: 无人机, terms: [无人机, 航拍]}\n" + s[j:]
}

func (s *authServer) raw(t *testing.T, who, method, path, ctype string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+s.secrets[who])
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTaxonomyLifecycleAPI(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	var recs []analyzer.Record
	at := time.Now().Add(-2 * time.Hour).Format(time.RFC3339)
	for i, text := range []string{
		"最近小区上空经常有无人机飞来飞去，侵犯隐私",
		"晚上无人机一直在窗外盘旋，拍到我家里面了",
		"有人在楼顶放无人机，太危险了",
		"无人机天天在阳台外面拍，隐私怎么保障",
		"物业费太贵了，服务一点都不好",
		"保洁阿姨很负责，楼道打扫得很干净",
	} {
		for j := range 3 {
			recs = append(recs, analyzer.Record{ID: fmt.Sprintf("d%d-%d", i, j), Kind: "complaint", Channel: "app", Org: "华南区域/深圳/碧海花园", OccurredAt: at, Text: text})
		}
	}
	indextest.Ingest(t, s.corpus, recs)
	draft := droneDraft(t)

	// Who may do what: changes need an unscoped admin or analyst.
	for _, who := range []string{"south-analyst", "sz-viewer", "east-admin", "south-ingest"} {
		if code, _ := s.raw(t, who, "PUT", "/api/v1/taxonomy", "application/yaml", strings.NewReader(draft)); code != 403 {
			t.Errorf("%s PUT taxonomy: %d, want 403", who, code)
		}
	}
	_, secret, err := s.keys.Create("cx-lead", "analyst", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	s.secrets["cx-lead"] = secret

	// Discovery finds 无人机 in the untagged records.
	code, out := s.call(t, "cx-lead", "GET", "/api/v1/discovery/terms?target=untagged&min_docs=3", "")
	cl, _ := out["clusters"].([]any)
	if code != 200 || len(cl) == 0 {
		t.Fatalf("discovery: %d %v", code, out)
	}
	first := cl[0].(map[string]any)
	if term := first["terms"].([]any)[0].(map[string]any)["term"]; term != "无人机" {
		t.Fatalf("discovery lead term %v", term)
	}
	if code, out := s.call(t, "cx-lead", "GET", "/api/v1/discovery/terms?target=everything", ""); code != 422 {
		t.Fatalf("bad target: %d %v", code, out)
	}

	// A rule and a draft tried on the records.
	code, out = s.call(t, "cx-lead", "POST", "/api/v1/taxonomy/dryrun/rule?samples=2", `{"rule":"无人机 & 隐私"}`)
	if code != 200 || out["matches"] != float64(6) || len(out["samples"].([]any)) != 2 {
		t.Fatalf("rule dry run: %d %v", code, out)
	}
	// The drone records have no touchpoint yet: counted as untagged, not
	// under a blank node id.
	if tagged, _ := out["tagged"].(map[string]any); out["untagged"] != float64(6) || len(tagged) != 0 {
		t.Fatalf("rule dry run: untagged %v, tagged %v", out["untagged"], out["tagged"])
	}
	code, out = s.call(t, "cx-lead", "POST", "/api/v1/taxonomy/dryrun/rule", `{"rule":"物业费 | 无人机"}`)
	if tagged, _ := out["tagged"].(map[string]any); code != 200 || out["matches"] != float64(15) || out["untagged"] != float64(12) || tagged["fees.property-fee"] != float64(3) || tagged[""] != nil {
		t.Fatalf("rule dry run over tagged and untagged records: %d %v", code, out)
	}
	code, out = s.call(t, "cx-lead", "POST", "/api/v1/taxonomy/dryrun/rule", `{"rule":"无人机 & (隐私"}`)
	if c, f := errOf(out); code != 422 || f != "rule" || c != "invalid_rule" {
		t.Fatalf("bad rule: %d %v", code, out)
	}
	code, body := s.raw(t, "cx-lead", "POST", "/api/v1/taxonomy/dryrun", "application/yaml", strings.NewReader(draft))
	if code != 200 || !strings.Contains(body, `"node":"security.drone","name":"无人机","before":0,"after":12,"gained":12,"lost":0`) {
		t.Fatalf("draft dry run: %d %s", code, body)
	}

	// Invalid drafts change nothing and say where.
	bad := strings.Replace(draft, "terms: [无人机, 航拍]", "rule: '无人机 & (航拍'", 1)
	code, out = s.call(t, "cx-lead", "PUT", "/api/v1/taxonomy", bad)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	if c, f := errOf(out); code != 422 || f != "taxonomy" || c != "invalid_taxonomy" || !strings.Contains(msg, "security.drone") || !strings.Contains(msg, "line") {
		t.Fatalf("invalid taxonomy: %d %v", code, out)
	}
	if code, out := s.call(t, "cx-lead", "PUT", "/api/v1/taxonomy", strings.Replace(draft, "id: property", "id: mall", 1)); code != 422 {
		t.Fatalf("another taxonomy id: %d %v", code, out)
	}
	if code, _ := s.raw(t, "cx-lead", "PUT", "/api/v1/taxonomy", "application/yaml", strings.NewReader("\xff\xfe")); code != 400 {
		t.Fatalf("invalid UTF-8: %d", code)
	}
	if code, _ := s.raw(t, "cx-lead", "PUT", "/api/v1/taxonomy", "application/yaml", strings.NewReader(strings.Repeat("#", 1<<20+1))); code != 413 {
		t.Fatalf("oversized: %d", code)
	}
	if code, out := s.call(t, "cx-lead", "GET", "/api/v1/taxonomy/versions", ""); code != 200 || len(out["versions"].([]any)) != 1 {
		t.Fatalf("versions after refusals: %d %v", code, out)
	}

	// The change: stored, in force, re-tagged in the background.
	code, body = s.raw(t, "cx-lead", "PUT", "/api/v1/taxonomy?note="+url.QueryEscape("无人机投诉"), "application/yaml", strings.NewReader(draft))
	if code != 200 || !strings.Contains(body, `"version":2`) || !strings.Contains(body, `"author":"cx-lead (`) {
		t.Fatalf("replace: %d %s", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, out = s.call(t, "cx-lead", "GET", "/api/v1/taxonomy/job", "")
		if out["state"] == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-tagging did not finish: %v", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out["total"] != float64(24) || out["done"] != float64(24) || out["version"] != float64(2) {
		t.Fatalf("job: %v", out)
	}
	if err := s.corpus.WaitIndexed(t.Context(), s.corpus.Store().LastSeq()); err != nil {
		t.Fatal(err)
	}
	code, out = s.call(t, "root", "GET", "/api/v1/search?touchpoint=security.drone&size=1", "")
	if code != 200 || out["total"] != float64(12) {
		t.Fatalf("search after re-tag: %d %v", code, out)
	}
	code, out = s.call(t, "root", "GET", "/api/v1/trends?metric=volume&touchpoint=security&group_by=touchpoint&interval=month", "")
	if code != 200 || !strings.Contains(fmt.Sprint(out), "security.drone") {
		t.Fatalf("trends after re-tag: %d %v", code, out)
	}

	// A change that hurts the golden set is refused with the report, then
	// forced.
	worse := strings.Replace(draft, "      - {id: facilities.elevator.entrapment", "      - {id: facilities.elevator.stuck", 1)
	code, out = s.call(t, "cx-lead", "PUT", "/api/v1/taxonomy", worse)
	if c, _ := errOf(out); code != 409 || c != "golden_regression" || out["golden"].(map[string]any)["worse"] != true {
		t.Fatalf("worse change: %d %v", code, out)
	}
	code, body = s.raw(t, "cx-lead", "PUT", "/api/v1/taxonomy?force=true", "application/yaml", strings.NewReader(worse))
	if code != 200 || !strings.Contains(body, `"forced":true`) {
		t.Fatalf("forced change: %d %s", code, body)
	}
	// The version keeps which nodes the forced change made worse.
	code, out = s.call(t, "sz-viewer", "GET", "/api/v1/taxonomy/versions/3", "")
	g, _ := out["golden"].(map[string]any)
	if code != 200 || out["forced"] != true || g["worse"] != true || fmt.Sprint(g["worse_nodes"]) != "[facilities.elevator.entrapment]" {
		t.Fatalf("forced version: %d %v", code, out)
	}
	code, out = s.call(t, "sz-viewer", "GET", "/api/v1/taxonomy/versions", "")
	if g := out["versions"].([]any)[0].(map[string]any)["golden"].(map[string]any); code != 200 || fmt.Sprint(g["worse_nodes"]) != "[facilities.elevator.entrapment]" {
		t.Fatalf("versions: the forced one's golden %v", g)
	}
	if g := out["versions"].([]any)[1].(map[string]any)["golden"].(map[string]any); fmt.Sprint(g["worse_nodes"]) != "[]" {
		t.Fatalf("versions: a change that was not worse: golden %v", g)
	}

	// Roll back to the built-in version: stored as version 4.
	code, out = s.call(t, "cx-lead", "POST", "/api/v1/taxonomy/rollback", `{"version":1}`)
	v, _ := out["version"].(map[string]any)
	if code != 200 || v["version"] != float64(4) || v["rollback_of"] != float64(1) {
		t.Fatalf("rollback: %d %v", code, out)
	}
	if code, out := s.call(t, "cx-lead", "POST", "/api/v1/taxonomy/rollback", `{"version":99}`); code != 404 {
		t.Fatalf("rollback to a missing version: %d %v", code, out)
	}
	code, yaml := s.raw(t, "sz-viewer", "GET", "/api/v1/taxonomy/versions/2?format=yaml", "", nil)
	if code != 200 || yaml != draft {
		t.Fatalf("version 2 source: %d", code)
	}
	code, out = s.call(t, "sz-viewer", "GET", "/api/v1/taxonomy/versions", "")
	vs, _ := out["versions"].([]any)
	if code != 200 || len(vs) != 4 {
		t.Fatalf("versions: %d %v", code, out)
	}
	if d := vs[2].(map[string]any)["diff"].([]any)[0].(map[string]any); d["node"] != "security.drone" || d["change"] != "added" {
		t.Fatalf("version 2 diff: %v", d)
	}

	// Every change is in the audit log with the key that made it.
	_, out = s.call(t, "root", "GET", "/api/v1/audit?action=taxonomy.replace", "")
	if es, _ := out["entries"].([]any); len(es) != 2 {
		t.Fatalf("audit taxonomy.replace: %v", out)
	}
	_, out = s.call(t, "root", "GET", "/api/v1/audit?action=taxonomy.rollback", "")
	if es, _ := out["entries"].([]any); len(es) != 1 {
		t.Fatalf("audit taxonomy.rollback: %v", out)
	}

	// The golden set: a bad line is refused with its number; a good one
	// is stored and used.
	code, out = s.call(t, "cx-lead", "PUT", "/api/v1/taxonomy/golden", "{\"text\":\"电梯坏了\",\"expect\":[\"facilities.elevator.fault\"]}\n{\"text\":\"电梯坏了\",\"expect\":[\"nope\"]}")
	if c, f := errOf(out); code != 422 || f != "golden" || c != "invalid_golden" || !strings.Contains(out["error"].(map[string]any)["message"].(string), "line 2") {
		t.Fatalf("bad golden: %d %v", code, out)
	}
	code, out = s.call(t, "cx-lead", "PUT", "/api/v1/taxonomy/golden", `{"text":"3栋电梯困人了","expect":["facilities.elevator.entrapment"]}`)
	if code != 200 || out["cases"] != float64(1) {
		t.Fatalf("golden: %d %v", code, out)
	}
	code, body = s.raw(t, "sz-viewer", "GET", "/api/v1/taxonomy/golden", "", nil)
	if code != 200 || !strings.Contains(body, "3栋电梯困人了") {
		t.Fatalf("get golden: %d %s", code, body)
	}
}
