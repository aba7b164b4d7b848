package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"dongting/api"
)

// TestBatchBadLinesKeepGoodOnes puts every kind of bad record among 1,000
// good ones: each bad one is a line error with its field, and every good
// one is stored (the chunk it shares with them included).
func TestBatchBadLinesKeepGoodOnes(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	deep := strings.Repeat("层/", 1000) + "项目"
	bad := map[int]struct{ rec, field string }{
		10:  {`{"id":"bad-1999","text":"电梯坏了","occurred_at":"1999-12-31T23:59:59+08:00"}`, "occurred_at"},
		20:  {`{"id":"bad-0001","text":"电梯坏了","occurred_at":"0001-01-01T00:00:00Z"}`, "occurred_at"},
		30:  {`{"id":"bad-2202","text":"电梯坏了","occurred_at":"2202-01-01T00:00:00Z"}`, "occurred_at"},
		40:  {`{"id":"bad-9999","text":"电梯坏了","occurred_at":"9999-12-31T23:59:59Z"}`, "occurred_at"},
		50:  {fmt.Sprintf(`{"id":"bad-future","text":"电梯坏了","occurred_at":%q}`, time.Now().Add(3*time.Hour).Format(time.RFC3339)), "occurred_at"},
		60:  {fmt.Sprintf(`{"id":"bad-channel","text":"电梯坏了","channel":%q}`, strings.Repeat("渠", 40000)), "channel"},
		70:  {fmt.Sprintf(`{"id":"bad-level","text":"电梯坏了","org":%q}`, "华南/"+strings.Repeat("深", 40000)), "org"},
		80:  {fmt.Sprintf(`{"id":"bad-deep","text":"电梯坏了","org":%q}`, deep), "org"},
		90:  {`{"id":"bad-turns","turns":[{"speaker":"customer","text":"  "},{"speaker":"agent","text":""}]}`, "turns"},
		100: {`{"id":"bad-surrogate","text":"电梯\ud800坏了"}`, ""},
		110: {fmt.Sprintf(`{"id":%q,"text":"电梯坏了"}`, strings.Repeat("i", 300)), "id"},
		120: {fmt.Sprintf(`{"id":"bad-meta","text":"电梯坏了","meta":{%q:"x"}}`, strings.Repeat("k", 100)), "meta"},
	}
	var body strings.Builder
	good := 0
	for line := 1; line <= 1000+len(bad); line++ {
		if b, ok := bad[line]; ok {
			body.WriteString(b.rec + "\n")
			continue
		}
		good++
		fmt.Fprintf(&body, `{"id":"good-%d","text":"%d号楼电梯坏了","org":"华南区域/深圳/碧海花园","occurred_at":"2026-03-01T09:00:00+08:00"}`+"\n", line, line)
	}
	code, out := do(t, "POST", s.URL+"/api/v1/records/batch?wait=indexed", "application/x-ndjson", strings.NewReader(body.String()))
	if code != 200 || out["accepted"] != float64(good) || out["failed"] != float64(len(bad)) {
		t.Fatalf("batch: %d accepted %v failed %v (want %d, %d): %v", code, out["accepted"], out["failed"], good, len(bad), out["errors"])
	}
	for _, e := range out["errors"].([]any) {
		le := e.(map[string]any)
		line := int(le["line"].(float64))
		b, ok := bad[line]
		if !ok {
			t.Errorf("line %d reported bad: %v", line, le)
			continue
		}
		if f, _ := le["field"].(string); b.field != "" && f != b.field {
			t.Errorf("line %d: field %q, want %q (%v)", line, f, b.field, le)
		}
	}
	_, out = do(t, "GET", s.URL+"/api/v1/search?limit=1", "", nil)
	if out["total"] != float64(good) {
		t.Errorf("stored and searchable: %v, want %d", out["total"], good)
	}
}

// TestOrgNormalised: levels are trimmed and a full-width slash separates
// them, so the same project written three ways is one org.
func TestOrgNormalised(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	for i, org := range []string{"华南区域/深圳/碧海花园", " 华南区域 ／ 深圳／碧海花园 ", "/华南区域/深圳/碧海花园/"} {
		rec := fmt.Sprintf(`{"id":"o-%d","text":"电梯坏了","org":%q}`, i, org)
		if code, out := do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(rec)); code != 201 {
			t.Fatalf("%q: %d %v", org, code, out)
		}
		_, out := do(t, "GET", s.URL+fmt.Sprintf("/api/v1/records/o-%d", i), "", nil)
		if got := out["record"].(map[string]any)["org"]; got != "华南区域/深圳/碧海花园" {
			t.Errorf("%q stored as %q", org, got)
		}
	}
}

// TestReservedCharacterIDs: any id round-trips through GET, explain and
// DELETE when percent-encoded, and a literal %2F is not a slash.
func TestReservedCharacterIDs(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	ids := []string{"工单/2026/001", "a/b", "a%2Fb", "a%41", "a b", "a?b=c", "a#b", "a+b", "100%", `引"号`, "..", ".", "a\\b", "😀/🏠", "a;b,c", "~user", "a&b"}
	for _, id := range ids {
		body, _ := json.Marshal(map[string]string{"id": id, "text": "电梯坏了"})
		if code, out := do(t, "POST", s.URL+"/api/v1/records?wait=indexed", "application/json", strings.NewReader(string(body))); code != 201 {
			t.Fatalf("create %q: %d %v", id, code, out)
		}
	}
	for _, id := range ids {
		path := s.URL + "/api/v1/records/" + url.PathEscape(id)
		code, out := do(t, "GET", path, "", nil)
		if code != 200 || out["record"].(map[string]any)["id"] != id {
			t.Errorf("GET %q: %d %v", id, code, out)
			continue
		}
		if code, out = do(t, "GET", path+"/explain?node=delivery.leakage", "", nil); code != 200 {
			t.Errorf("explain %q: %d %v", id, code, out)
		}
	}
	// Deleting a%2Fb (literal) leaves a/b alone, and the other way round.
	if code, out := do(t, "DELETE", s.URL+"/api/v1/records/"+url.PathEscape("a%2Fb"), "", nil); code != 200 || out["id"] != "a%2Fb" {
		t.Fatalf("delete a%%2Fb: %d %v", code, out)
	}
	if code, _ := do(t, "GET", s.URL+"/api/v1/records/"+url.PathEscape("a/b"), "", nil); code != 200 {
		t.Errorf("a/b gone after deleting a%%2Fb")
	}
	for _, id := range ids {
		if id == "a%2Fb" {
			continue
		}
		if code, out := do(t, "DELETE", s.URL+"/api/v1/records/"+url.PathEscape(id)+"?wait=indexed", "", nil); code != 200 || out["id"] != id {
			t.Errorf("DELETE %q: %d %v", id, code, out)
		}
	}
	_, out := do(t, "GET", s.URL+"/api/v1/search?limit=1", "", nil)
	if out["total"] != 0.0 {
		t.Errorf("%v records left after deleting all", out["total"])
	}
}

// TestNoUnmaskedPII: a number in any digit form is masked before it is
// stored or indexed, so a search for its digits finds nothing.
func TestNoUnmaskedPII(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	texts := []string{
		"电话１３８１２３４５６７８请回电", "电话一三八一二三四五六七八请回电", "电话138 1234 5678请回电",
		"电话138-1234-5678请回电", "电话+86 13812345678请回电", "身份证１１０１０１１９９００３０７１２３３", "邮箱a@b.cn",
	}
	for i, text := range texts {
		body, _ := json.Marshal(map[string]string{"id": fmt.Sprint("p-", i), "text": text})
		if code, out := do(t, "POST", s.URL+"/api/v1/records?wait=indexed", "application/json", strings.NewReader(string(body))); code != 201 {
			t.Fatalf("%q: %d %v", text, code, out)
		}
	}
	for _, q := range []string{"13812345678", "1234", "19900307", "a@b.cn"} {
		if _, out := do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape(q), "", nil); out["total"] != 0.0 {
			t.Errorf("search %q finds %v", q, hitIDs(out))
		}
	}
	for i := range texts {
		_, out := do(t, "GET", s.URL+fmt.Sprint("/api/v1/records/p-", i), "", nil)
		text := out["record"].(map[string]any)["text"].(string)
		if !strings.Contains(text, "*") {
			t.Errorf("stored unmasked: %q", text)
		}
	}
}

// TestAgentWordsMakeNoAnalysis: a transcript is analysed on the customer's
// turns only; an agent-only record is neutral, untagged, and raises nothing.
func TestAgentWordsMakeNoAnalysis(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	agentOnly := `{"id":"t-agent","kind":"hotline","org":"华南区域/深圳/碧海花园","turns":[{"speaker":"agent","text":"您好，物业服务中心，已经为您登记工单，电梯困人的情况我们马上处理，服务不周到请见谅，谢谢"}]}`
	code, out := do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(agentOnly))
	if code != 201 {
		t.Fatalf("%d %v", code, out)
	}
	a := out["analysis"].(map[string]any)
	sent := a["sentiment"].(map[string]any)
	if sent["label"] != "neutral" || a["severity"] != "none" || a["praise"] != false || len(a["tags"].([]any)) != 0 || len(a["dimensions"].([]any)) != 0 || len(a["redline"].([]any)) != 0 {
		t.Errorf("agent-only record analysed: %v", a)
	}
	mixed := `{"id":"t-mixed","kind":"hotline","turns":[{"speaker":"customer","text":"小区大门坏了好几天了，一直没人修"},{"speaker":"agent","text":"已经为您登记工单，物业服务中心会尽快处理，感谢您的理解，服务周到是我们的宗旨"},{"speaker":"customer","text":"嗯"}]}`
	_, out = do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(mixed))
	a = out["analysis"].(map[string]any)
	if a["praise"] != false || a["sentiment"].(map[string]any)["label"] != "negative" {
		t.Errorf("agent's thanks moved the customer's analysis: %v", a)
	}
	for _, tg := range append(a["tags"].([]any), a["dimensions"].([]any)...) {
		for _, ev := range tg.(map[string]any)["evidence"].([]any) {
			if turn, _ := ev.(map[string]any)["turn"].(float64); turn == 1 {
				t.Errorf("evidence from the agent's turn: %v", tg)
			}
		}
	}
}

// TestEvidenceBounded: a record that repeats a phrase thousands of times
// carries a bounded analysis.
func TestEvidenceBounded(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	body, _ := json.Marshal(map[string]string{"id": "big", "text": strings.Repeat("楼上漏水，", 40000)})
	code, out := do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(string(body)))
	if code != 201 {
		t.Fatalf("%d %v", code, out["error"])
	}
	a := out["analysis"].(map[string]any)
	spans := 0
	for _, tg := range a["tags"].([]any) {
		spans += len(tg.(map[string]any)["evidence"].([]any))
	}
	if len(a["tags"].([]any)) == 0 || spans > 16*len(a["tags"].([]any)) {
		t.Errorf("%d tags with %d evidence spans", len(a["tags"].([]any)), spans)
	}
}

// TestTimeWithoutZone: a record without occurred_at gets the time of
// ingest in the service's zone, as CSV times are.
func TestTimeWithoutZone(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(`{"id":"nz","text":"电梯坏了"}`))
	_, out := do(t, "GET", s.URL+"/api/v1/records/nz", "", nil)
	at := out["record"].(map[string]any)["occurred_at"].(string)
	if !strings.HasSuffix(at, "+08:00") {
		t.Errorf("occurred_at %q, want the service zone (+08:00)", at)
	}
}
