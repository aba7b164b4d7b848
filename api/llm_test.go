package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/api"
	"dongting/api/llm"
	"dongting/index/indextest"
)

// fakeModel is an OpenAI-compatible chat endpoint on loopback: it answers
// by the task its system prompt names and keeps every prompt it was sent.
type fakeModel struct {
	*httptest.Server
	mu      sync.Mutex
	prompts []string
	delay   time.Duration
}

func newFakeModel(t *testing.T, delay time.Duration) *fakeModel {
	f := &fakeModel{delay: delay}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, `{"error":{"message":"bad path or key"}}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Model    string
			Messages []struct{ Role, Content string }
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.prompts = append(f.prompts, req.Messages[0].Content+"\n"+req.Messages[1].Content)
		f.mu.Unlock()
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		sys := req.Messages[0].Content
		var answer string
		switch {
		case strings.Contains(sys, "要点总结"):
			answer = "1. 无人机在小区上空拍摄，业主担心隐私 [d0-0][d1-0]\n2. 有业主反映无人机坠落风险 [d2-0][ghost-9]"
		case strings.Contains(sys, "触点分类"):
			answer = `{"id":"security.drone","name":"无人机","scene":"security","rule":"无人机 | 航拍","reason":"无人机扰民与隐私"}`
		case strings.Contains(sys, "建议触点标签"):
			answer = `{"suggestions":[{"id":"d0-0","tags":["security","made.up"],"reason":"无人机"},{"id":"not-asked","tags":["security"]}]}`
		default:
			answer = "?"
		}
		json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": answer}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": 90, "completion_tokens": 10, "total_tokens": 100},
		})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeModel) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.prompts)
}

// llmServer serves the corpus of cs with an assistant on model.
func llmServer(t *testing.T, cs *corpusServer, cfg llm.Config) *httptest.Server {
	a, err := llm.Open(cs.corpus.Store(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mustNew(t, api.Config{Analyzer: cs.corpus.Analyzer(), Corpus: cs.corpus, Tagging: cs.tagging, LLM: a}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestLLMHelp(t *testing.T) {
	cs := newCorpusServer(t, api.Limits{})
	at := time.Now().Add(-time.Hour).Format(time.RFC3339)
	var recs []analyzer.Record
	for i, text := range []string{
		"最近小区上空经常有无人机飞来飞去，侵犯隐私，我电话13812345678",
		"晚上无人机一直在窗外盘旋，拍到我家里面了",
		"有人在楼顶放无人机，掉下来差点砸到人",
	} {
		recs = append(recs, analyzer.Record{ID: fmt.Sprintf("d%d-0", i), Kind: "complaint", Channel: "app", Org: "华南区域/深圳/碧海花园", OccurredAt: at, Text: text})
	}
	res := indextest.Ingest(t, cs.corpus, recs)
	if err := cs.corpus.WaitIndexed(t.Context(), res[len(res)-1].Seq); err != nil {
		t.Fatal(err)
	}

	// Off by default: the service says so and works without it.
	code, out := do(t, "GET", cs.URL+"/api/v1/llm", "", nil)
	if code != 200 || out["enabled"] != false {
		t.Fatalf("llm status when off: %d %v", code, out)
	}
	code, out = do(t, "GET", cs.URL+"/api/v1/llm/summary?q="+url.QueryEscape("无人机"), "", nil)
	if c, _ := errOf(out); code != 503 || c != "llm_not_configured" {
		t.Fatalf("summary when off: %d %v", code, out)
	}

	model := newFakeModel(t, 0)
	srv := llmServer(t, cs, llm.Config{BaseURL: model.URL + "/v1", Key: "test-key", Model: "test-model", Timeout: 5 * time.Second})
	code, out = do(t, "GET", srv.URL+"/api/v1/llm/summary?max=10&q="+url.QueryEscape("无人机"), "", nil)
	sum, _ := out["summary"].(map[string]any)
	if code != 200 || sum == nil {
		t.Fatalf("summary: %d %v", code, out)
	}
	if fmt.Sprint(sum["cited"]) != "[d0-0 d1-0 d2-0]" || fmt.Sprint(sum["unknown"]) != "[ghost-9]" || len(sum["used"].([]any)) != 3 || sum["cached"] != false || sum["tokens"] != float64(100) {
		t.Fatalf("summary citations: %v", sum)
	}
	// The same question again comes from the cache.
	_, out = do(t, "GET", srv.URL+"/api/v1/llm/summary?max=10&q="+url.QueryEscape("无人机"), "", nil)
	if out["summary"].(map[string]any)["cached"] != true || model.calls() != 1 {
		t.Fatalf("second summary not cached: %v (calls %d)", out, model.calls())
	}

	code, out = do(t, "POST", srv.URL+"/api/v1/llm/suggest-node", "application/json", strings.NewReader(`{"terms":["无人机","隐私"],"record_ids":["d0-0","d1-0"]}`))
	if code != 200 || out["rule"] != "无人机 | 航拍" || out["scene"] != "security" || out["rule_error"] != nil {
		t.Fatalf("suggest node: %d %v", code, out)
	}
	code, out = do(t, "POST", srv.URL+"/api/v1/llm/suggest-tags", "application/json", strings.NewReader(`{"record_ids":["d0-0","d1-0"]}`))
	sugg, _ := out["suggestions"].([]any)
	if code != 200 || out["applied"] != false || len(sugg) != 1 {
		t.Fatalf("suggest tags: %d %v", code, out)
	}
	if s := sugg[0].(map[string]any); fmt.Sprint(s["tags"]) != "[security]" || fmt.Sprint(s["invalid"]) != "[made.up]" {
		t.Fatalf("suggestion: %v", s)
	}
	if st, _ := cs.corpus.Get("d0-0"); len(st.Analysis.Tags) != 0 {
		t.Fatalf("a suggestion was applied: %v", st.Analysis.Tags)
	}
	if code, out := do(t, "POST", srv.URL+"/api/v1/llm/suggest-tags", "application/json", strings.NewReader(`{"record_ids":["nope"]}`)); code != 422 {
		t.Fatalf("unknown record: %d %v", code, out)
	}
	code, out = do(t, "GET", srv.URL+"/api/v1/llm", "", nil)
	if u, _ := out["usage"].(map[string]any); code != 200 || u["used"] != float64(300) {
		t.Fatalf("usage: %d %v", code, out)
	}
	// Only masked text left the process.
	for _, p := range model.prompts {
		if strings.Contains(p, "13812345678") {
			t.Fatalf("a phone number reached the model: %q", p)
		}
	}

	// The day's budget, then a model too slow for the timeout.
	poor := llmServer(t, cs, llm.Config{BaseURL: model.URL + "/v1", Key: "test-key", Model: "other-model", DailyTokens: 500})
	code, out = do(t, "GET", poor.URL+"/api/v1/llm/summary?q="+url.QueryEscape("无人机"), "", nil)
	if c, _ := errOf(out); code != 429 || c != "llm_budget" {
		t.Fatalf("over budget: %d %v", code, out)
	}
	slow := newFakeModel(t, time.Second)
	impatient := llmServer(t, cs, llm.Config{BaseURL: slow.URL + "/v1", Key: "test-key", Model: "m", Timeout: 100 * time.Millisecond})
	code, out = do(t, "GET", impatient.URL+"/api/v1/llm/summary?q="+url.QueryEscape("无人机"), "", nil)
	if c, _ := errOf(out); code != 504 || c != "llm_timeout" {
		t.Fatalf("slow model: %d %v", code, out)
	}
	wrongKey := llmServer(t, cs, llm.Config{BaseURL: model.URL + "/v1", Key: "wrong", Model: "m3"})
	code, out = do(t, "GET", wrongKey.URL+"/api/v1/llm/summary?q="+url.QueryEscape("无人机"), "", nil)
	if c, _ := errOf(out); code != 502 || c != "llm_upstream" {
		t.Fatalf("refused by the endpoint: %d %v", code, out)
	}
}
