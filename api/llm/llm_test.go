package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"dongting/analyzer"
	"dongting/api/llm"
	"dongting/index/indextest"
	"dongting/index/store"
	"fmt"
)

// chatRequest is what the endpoint reads of a chat-completions request.
type chatRequest struct {
	Path, Auth string `json:"-"`

	Model          string  `json:"model"`
	MaxTokens      int     `json:"max_tokens"`
	Temperature    float64 `json:"temperature"`
	ResponseFormat *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

// estimate is what the assistant charges for a request when the endpoint
// reports no usage: its prompt's characters and the completion's limit.
func (r chatRequest) estimate() int {
	n := r.MaxTokens
	for _, m := range r.Messages {
		n += utf8.RuneCountInString(m.Content)
	}
	return n
}

// format is the response format asked for ("" when none).
func (r chatRequest) format() string {
	if r.ResponseFormat == nil {
		return ""
	}
	return r.ResponseFormat.Type
}

// user is the user message: the records and the question.
func (r chatRequest) user() string { return r.Messages[len(r.Messages)-1].Content }

// quotes fails the test unless the user message holds every part.
func quotes(t *testing.T, r chatRequest, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(r.user(), part) {
			t.Errorf("prompt %q lacks %q", r.user(), part)
		}
	}
}

// endpoint is an OpenAI-compatible chat endpoint on loopback. answer writes
// the response to each request; the requests are kept.
type endpoint struct {
	*httptest.Server
	answer func(w http.ResponseWriter, r *http.Request)
	mu     sync.Mutex
	got    []chatRequest
}

func newEndpoint(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *endpoint {
	e := &endpoint{answer: answer}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := chatRequest{Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("endpoint: %v", err)
		}
		e.mu.Lock()
		e.got = append(e.got, req)
		e.mu.Unlock()
		e.answer(w, r)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) requests() []chatRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]chatRequest(nil), e.got...)
}

// replies answers every request with text, reporting tokens as used.
func replies(text string, tokens int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "served-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": text}}},
			"usage": map[string]any{"prompt_tokens": tokens / 2, "completion_tokens": tokens - tokens/2, "total_tokens": tokens},
		})
	}
}

// fails answers every request with a status and a body.
func fails(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// day is the test's now: 07:30 in Shanghai, still the day before in UTC.
var day = time.Date(2025, 3, 2, 7, 30, 0, 0, time.FixedZone("CST", 8*3600))

// open makes an assistant on e with cfg (URL, key and model filled in
// where empty) and its cache in db.
func open(t *testing.T, db *store.Store, e *endpoint, cfg llm.Config) *llm.Assistant {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = e.URL + "/v1"
	}
	if cfg.Key == "" {
		cfg.Key = "sk-test"
	}
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	a, err := llm.Open(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Now = func() time.Time { return day }
	return a
}

func newAssistant(t *testing.T, e *endpoint, cfg llm.Config) *llm.Assistant {
	t.Helper()
	return open(t, indextest.DB(t, filepath.Join(t.TempDir(), "llm.db")), e, cfg)
}

func stored(id, text string) *store.Stored {
	return &store.Stored{Record: analyzer.Record{ID: id, Text: text}}
}

var someRecords = []*store.Stored{stored("r1", "电梯又坏了"), stored("r2", "电梯困人半小时")}

func usage(t *testing.T, a *llm.Assistant) llm.Usage {
	t.Helper()
	u, err := a.Usage()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNotConfigured(t *testing.T) {
	for _, cfg := range []llm.Config{{}, {BaseURL: "http://127.0.0.1:1/v1"}, {Model: "m"}} {
		if cfg.Enabled() {
			t.Errorf("%+v is enabled", cfg)
		}
	}
	if !(llm.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "m"}).Enabled() {
		t.Error("a URL and a model are not enabled")
	}

	tax := loadTaxonomy(t)
	off, err := llm.Open(nil, llm.Config{Model: "m"}) // no database needed when off
	if err != nil {
		t.Fatal(err)
	}
	var none *llm.Assistant
	for name, a := range map[string]*llm.Assistant{"without an endpoint": off, "nil": none} {
		if a.Enabled() {
			t.Errorf("%s: enabled", name)
		}
		if _, err := a.Summarize(t.Context(), someRecords, "电梯"); !errors.Is(err, llm.ErrNotConfigured) {
			t.Errorf("%s: summarize: %v", name, err)
		}
		if _, err := a.SuggestNode(t.Context(), tax, []string{"电梯"}, someRecords); !errors.Is(err, llm.ErrNotConfigured) {
			t.Errorf("%s: suggest node: %v", name, err)
		}
		if _, _, err := a.SuggestTags(t.Context(), tax, someRecords); !errors.Is(err, llm.ErrNotConfigured) {
			t.Errorf("%s: suggest tags: %v", name, err)
		}
	}
	if _, err := off.Usage(); !errors.Is(err, llm.ErrNotConfigured) {
		t.Errorf("usage: %v", err)
	}
}

func TestRequest(t *testing.T) {
	e := newEndpoint(t, replies("好的", 10))
	long := strings.Repeat("很", 301)
	recs := []*store.Stored{
		stored("r1", "电梯坏了，电话13812345678"),
		stored("r2", "第一行\n第二行"),
		stored("r3", long),
	}
	if _, err := newAssistant(t, e, llm.Config{}).Summarize(t.Context(), recs, "电梯"); err != nil {
		t.Fatal(err)
	}
	if _, err := newAssistant(t, e, llm.Config{Key: "sk-other", Model: "m2", MaxTokens: 50}).Summarize(t.Context(), recs[:1], "电梯"); err != nil {
		t.Fatal(err)
	}
	got := e.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	req := got[0]
	if req.Path != "/v1/chat/completions" || req.Auth != "Bearer sk-test" || req.Model != "test-model" ||
		req.MaxTokens != 800 || req.Temperature != 0.2 || req.format() != "" || len(req.Messages) != 2 ||
		req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("request %+v", req)
	}
	masked, _ := analyzer.MaskPII("[r1] 电梯坏了，电话13812345678")
	quotes(t, req,
		"关注点：电梯\n",
		masked+"\n",
		"[r2] 第一行 / 第二行\n",
		"[r3] "+long[:len(long)-len("很")]+"…\n", // 300 characters of 301
	)
	if strings.Contains(req.user(), "13812345678") {
		t.Errorf("a phone number reached the model: %q", req.user())
	}
	if req := got[1]; req.Auth != "Bearer sk-other" || req.Model != "m2" || req.MaxTokens != 50 {
		t.Fatalf("configured request %+v", req)
	}
}

func TestUsageAndCache(t *testing.T) {
	e := newEndpoint(t, replies("要点 [r1]", 120))
	a := newAssistant(t, e, llm.Config{})
	if u := usage(t, a); u != (llm.Usage{Day: "2025-03-01", Used: 0, Budget: 200_000}) {
		t.Fatalf("usage before any call: %+v", u)
	}

	first, err := a.Summarize(t.Context(), someRecords, "电梯")
	if err != nil {
		t.Fatal(err)
	}
	if first.Answer != (llm.Answer{Text: "要点 [r1]", Tokens: 120, Cached: false, Model: "test-model"}) {
		t.Fatalf("first answer %+v", first.Answer)
	}
	again, err := a.Summarize(t.Context(), someRecords, "电梯")
	if err != nil {
		t.Fatal(err)
	}
	if again.Answer != (llm.Answer{Text: "要点 [r1]", Tokens: 120, Cached: true, Model: "test-model"}) || len(e.requests()) != 1 {
		t.Fatalf("the same question again: %+v after %d requests", again.Answer, len(e.requests()))
	}
	if u := usage(t, a); u.Used != 120 {
		t.Fatalf("a cached answer was charged: %+v", u)
	}
	if _, err := a.Summarize(t.Context(), someRecords, "噪音"); err != nil {
		t.Fatal(err)
	}
	if u := usage(t, a); u.Used != 240 || len(e.requests()) != 2 {
		t.Fatalf("after another question: %+v, %d requests", u, len(e.requests()))
	}

	// Spending is counted per UTC day; the cache is not.
	a.Now = func() time.Time { return day.Add(time.Hour) }
	if u := usage(t, a); u != (llm.Usage{Day: "2025-03-02", Used: 0, Budget: 200_000}) {
		t.Fatalf("usage the next UTC day: %+v", u)
	}
	if s, err := a.Summarize(t.Context(), someRecords, "电梯"); err != nil || !s.Cached {
		t.Fatalf("the next day: %+v, %v", s, err)
	}
}

// A server that reports no usage is charged the estimate.
func TestUsageEstimated(t *testing.T) {
	e := newEndpoint(t, replies("要点", 0))
	a := newAssistant(t, e, llm.Config{MaxTokens: 100})
	s, err := a.Summarize(t.Context(), someRecords, "电梯")
	if err != nil {
		t.Fatal(err)
	}
	want := e.requests()[0].estimate()
	if s.Tokens != want || usage(t, a).Used != want {
		t.Fatalf("charged %d (usage %d), want the estimate %d", s.Tokens, usage(t, a).Used, want)
	}
}

// The cache and the day's spending are kept in the database; a cached
// answer is one of the same model.
func TestCacheReopened(t *testing.T) {
	e := newEndpoint(t, replies("要点", 70))
	path := filepath.Join(t.TempDir(), "llm.db")
	db := indextest.DB(t, path)
	if _, err := open(t, db, e, llm.Config{}).Summarize(t.Context(), someRecords, "电梯"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = indextest.DB(t, path)
	a := open(t, db, e, llm.Config{})
	if u := usage(t, a); u.Used != 70 {
		t.Fatalf("usage after reopening: %+v", u)
	}
	if s, err := a.Summarize(t.Context(), someRecords, "电梯"); err != nil || !s.Cached || len(e.requests()) != 1 {
		t.Fatalf("after reopening: %+v, %v, %d requests", s, err, len(e.requests()))
	}
	other := open(t, db, e, llm.Config{Model: "other-model"})
	if s, err := other.Summarize(t.Context(), someRecords, "电梯"); err != nil || s.Cached || s.Model != "other-model" || len(e.requests()) != 2 {
		t.Fatalf("another model: %+v, %v, %d requests", s, err, len(e.requests()))
	}
	if u := usage(t, other); u.Used != 140 {
		t.Fatalf("the day's spending is shared by models: %+v", u)
	}
}

func TestBudget(t *testing.T) {
	e := newEndpoint(t, replies("要点", 900))
	a := newAssistant(t, e, llm.Config{DailyTokens: 1000, MaxTokens: 100})
	if _, err := a.Summarize(t.Context(), someRecords, "电梯"); err != nil {
		t.Fatal(err)
	}
	_, err := a.Summarize(t.Context(), someRecords, "噪音")
	var be *llm.BudgetError
	if !errors.As(err, &be) || *be != (llm.BudgetError{Used: 900, Budget: 1000}) || len(e.requests()) != 1 {
		t.Fatalf("over budget: %v, %d requests", err, len(e.requests()))
	}
	if want := "llm: the daily budget of 1000 tokens is spent (900 used); it resets at 00:00 UTC"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	// What is cached costs nothing and is still answered.
	if s, err := a.Summarize(t.Context(), someRecords, "电梯"); err != nil || !s.Cached {
		t.Fatalf("cached over budget: %+v, %v", s, err)
	}

	// A budget smaller than one call's estimate refuses it before any call.
	poor := newAssistant(t, e, llm.Config{DailyTokens: 150, MaxTokens: 100})
	if _, err := poor.Summarize(t.Context(), someRecords, "电梯"); !errors.As(err, &be) || be.Used != 0 || len(e.requests()) != 1 {
		t.Fatalf("a budget below the estimate: %v, %d requests", err, len(e.requests()))
	}
}

// Calls made at the same time cannot together spend past the budget: each
// reserves its estimate when it checks the budget, and the answer's real
// cost replaces it; a failed call gives its reservation back.
func TestBudgetHoldsForCallsAtOnce(t *testing.T) {
	probe := newEndpoint(t, replies("要点", 10))
	if _, err := newAssistant(t, probe, llm.Config{MaxTokens: 100}).Summarize(t.Context(), someRecords, "问题0"); err != nil {
		t.Fatal(err)
	}
	estimate := probe.requests()[0].estimate()
	slow := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		replies("要点", 10)(w, r)
	})
	a := newAssistant(t, slow, llm.Config{DailyTokens: 2*estimate + estimate/2, MaxTokens: 100})
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.Summarize(t.Context(), someRecords, fmt.Sprintf("问题%d", i))
		}()
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		var be *llm.BudgetError
		if errors.As(err, &be) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(slow.requests()); n != 2 || refused != 3 {
		t.Fatalf("%d calls reached the endpoint and %d were refused, want 2 and 3", n, refused)
	}
	if u := usage(t, a); u.Used != 20 {
		t.Errorf("used %d tokens, want the two answers' 20", u.Used)
	}
	// A failed call gives its reservation back.
	broken := newAssistant(t, newEndpoint(t, fails(http.StatusInternalServerError, "down")), llm.Config{DailyTokens: 10 * estimate, MaxTokens: 100})
	if _, err := broken.Summarize(t.Context(), someRecords, "问题9"); err == nil {
		t.Fatal("a failing endpoint answered")
	}
	if u := usage(t, broken); u.Used != 0 {
		t.Errorf("a failed call left %d tokens used", u.Used)
	}
}

func TestUpstreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		check  func(t *testing.T, err error)
	}{
		{"refused key", fails(http.StatusUnauthorized, `{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}`), func(t *testing.T, err error) {
			var ae *openai.APIError
			if !errors.As(err, &ae) || ae.HTTPStatusCode != 401 || ae.Message != "Incorrect API key" {
				t.Errorf("want the endpoint's API error, got %v", err)
			}
		}},
		{"server error", fails(http.StatusInternalServerError, "upstream exploded"), func(t *testing.T, err error) {
			var re *openai.RequestError
			if !errors.As(err, &re) || re.HTTPStatusCode != 500 || string(re.Body) != "upstream exploded" {
				t.Errorf("want a request error with status 500, got %v", err)
			}
		}},
		{"no choices", fails(http.StatusOK, `{"id":"x","object":"chat.completion","choices":[],"usage":{"total_tokens":5}}`), func(t *testing.T, err error) {
			if err.Error() != "llm: the model answered no choices" {
				t.Errorf("got %v", err)
			}
		}},
		{"not JSON", fails(http.StatusOK, "<html>gateway</html>"), func(t *testing.T, err error) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, tc.answer)
			a := newAssistant(t, e, llm.Config{})
			for range 2 { // a failure is neither cached nor charged
				_, err := a.Summarize(t.Context(), someRecords, "电梯")
				var ue *llm.UpstreamError
				if !errors.As(err, &ue) || ue.Timeout {
					t.Fatalf("want an upstream error that is not a timeout, got %v", err)
				}
				tc.check(t, err)
			}
			if n := len(e.requests()); n != 2 {
				t.Fatalf("%d requests for two calls", n)
			}
			if u := usage(t, a); u.Used != 0 {
				t.Fatalf("a failure was charged: %+v", u)
			}
		})
	}
}

// hangs answers nothing until the caller gives up; arrived is told of
// each request as it comes, while it has room.
func hangs(arrived chan<- struct{}) func(http.ResponseWriter, *http.Request) {
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}
}

func TestTimeout(t *testing.T) {
	arrived := make(chan struct{}, 2)
	e := newEndpoint(t, hangs(arrived))

	// The configured timeout, then a caller's deadline shorter than it.
	a := newAssistant(t, e, llm.Config{Timeout: 50 * time.Millisecond})
	patient := newAssistant(t, e, llm.Config{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	for name, call := range map[string]func() error{
		"configured": func() error { _, err := a.Summarize(t.Context(), someRecords, "电梯"); return err },
		"caller's":   func() error { _, err := patient.Summarize(ctx, someRecords, "电梯"); return err },
	} {
		err := call()
		var ue *llm.UpstreamError
		if !errors.As(err, &ue) || !ue.Timeout {
			t.Errorf("%s timeout: want an upstream timeout, got %v", name, err)
		}
	}
	if u := usage(t, a); u.Used != 0 {
		t.Fatalf("a timeout was charged: %+v", u)
	}
}

func TestCancel(t *testing.T) {
	arrived := make(chan struct{}, 1)
	e := newEndpoint(t, hangs(arrived))
	a := newAssistant(t, e, llm.Config{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := a.Summarize(ctx, someRecords, "电梯")
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Timeout || !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancelled upstream call, not a timeout; got %v", err)
	}
}
