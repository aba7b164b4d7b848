// Package llm is Dongting's optional help from a large language model, off
// unless an OpenAI-compatible endpoint is configured: summaries of
// verbatims that cite the records they used, a name and rule for a
// discovery cluster, and tag suggestions for untagged records (shown, never
// applied). Every prompt holds PII-masked text only; answers are cached in
// bbolt; a per-day token budget and a timeout bound what it may cost.
package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
)

var (
	bucketCache = []byte("llm_cache") // sha256(model, prompt) → cached answer
	bucketUsage = []byte("llm_usage") // UTC day → tokens spent
)

// Config says where the model is. An empty BaseURL or Model leaves the
// feature off.
type Config struct {
	BaseURL     string        // e.g. https://api.openai.com/v1 or a local server's /v1
	Key         string        // its API key (may be empty for a local server)
	Model       string        // e.g. gpt-4o-mini, qwen2.5-7b-instruct
	Timeout     time.Duration // per call; default 30 s
	DailyTokens int           // prompt + completion tokens per UTC day; default 200,000
	MaxTokens   int           // completion tokens per call; default 800
}

// Enabled reports whether the configuration names an endpoint and a model.
func (c Config) Enabled() bool { return c.BaseURL != "" && c.Model != "" }

// ErrNotConfigured is returned by every call of an assistant without an
// endpoint.
var ErrNotConfigured = errors.New("llm: not configured (start the server with -llm-url and -llm-model; see README, \"LLM help\")")

// BudgetError is a call refused because the day's tokens are spent.
type BudgetError struct {
	Used, Budget int
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("llm: the daily budget of %d tokens is spent (%d used); it resets at 00:00 UTC", e.Budget, e.Used)
}

// UpstreamError is a failed call to the model (timeout, HTTP error, an
// answer that does not parse).
type UpstreamError struct {
	Timeout bool
	Err     error
}

func (e *UpstreamError) Error() string { return "llm: " + e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// Assistant calls the model. A nil *Assistant, or one without an endpoint,
// answers ErrNotConfigured.
type Assistant struct {
	db     boltDB
	cfg    Config
	client *openai.Client
	Now    func() time.Time
}

// boltDB is what this package needs of the file it keeps its buckets in:
// its transactions (the record store, *store.Store, or a bare *bolt.DB).
type boltDB interface {
	View(func(*bolt.Tx) error) error
	Update(func(*bolt.Tx) error) error
}

// Open prepares an assistant whose cache and budget live in db.
func Open(db boltDB, cfg Config) (*Assistant, error) {
	if !cfg.Enabled() {
		return &Assistant{cfg: cfg, Now: time.Now}, nil
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.DailyTokens <= 0 {
		cfg.DailyTokens = 200_000
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 800
	}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCache, bucketUsage} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	oc := openai.DefaultConfig(cfg.Key)
	oc.BaseURL = cfg.BaseURL
	oc.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	return &Assistant{db: db, cfg: cfg, client: openai.NewClientWithConfig(oc), Now: time.Now}, nil
}

// Enabled reports whether calls can be made.
func (a *Assistant) Enabled() bool { return a != nil && a.cfg.Enabled() }

// Model is the configured model.
func (a *Assistant) Model() string { return a.cfg.Model }

// Answer is one completion.
type Answer struct {
	Text   string `json:"text"`
	Tokens int    `json:"tokens"`
	Cached bool   `json:"cached"`
	Model  string `json:"model"`
}

// Usage is today's spending.
type Usage struct {
	Day    string `json:"day"`
	Used   int    `json:"used"`
	Budget int    `json:"budget"`
}

// Usage reads today's tokens spent.
func (a *Assistant) Usage() (Usage, error) {
	if !a.Enabled() {
		return Usage{}, ErrNotConfigured
	}
	u := Usage{Day: a.Now().UTC().Format(time.DateOnly), Budget: a.cfg.DailyTokens}
	err := a.db.View(func(tx *bolt.Tx) error {
		u.Used = decodeInt(tx.Bucket(bucketUsage).Get([]byte(u.Day)))
		return nil
	})
	return u, err
}

// complete asks the model, or answers from the cache. The text is masked
// again here whatever its source: nothing unmasked leaves the process.
func (a *Assistant) complete(ctx context.Context, system, user string, asJSON bool) (*Answer, error) {
	if !a.Enabled() {
		return nil, ErrNotConfigured
	}
	user, _ = analyzer.MaskPII(user)
	h := sha256.New()
	for _, s := range []string{a.cfg.Model, system, user, fmt.Sprint(asJSON)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	key := []byte(hex.EncodeToString(h.Sum(nil)))
	var cached *Answer
	err := a.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketCache).Get(key); b != nil {
			cached = new(Answer)
			return json.Unmarshal(b, cached)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("llm: cache: %w", err)
	}
	if cached != nil {
		cached.Cached = true
		return cached, nil
	}
	day := []byte(a.Now().UTC().Format(time.DateOnly))
	estimate := utf8.RuneCountInString(system) + utf8.RuneCountInString(user) + a.cfg.MaxTokens
	// The estimate is reserved in the transaction that checks the budget,
	// so calls made at the same time cannot together spend past it; the
	// answer's real cost replaces the estimate (a failed call costs none).
	err = a.db.Update(func(tx *bolt.Tx) error {
		u := tx.Bucket(bucketUsage)
		used := decodeInt(u.Get(day))
		if used+estimate > a.cfg.DailyTokens {
			return &BudgetError{Used: used, Budget: a.cfg.DailyTokens}
		}
		return u.Put(day, encodeInt(used+estimate))
	})
	if err != nil {
		return nil, err
	}
	charge := func(tx *bolt.Tx, tokens int) error {
		u := tx.Bucket(bucketUsage)
		return u.Put(day, encodeInt(max(0, decodeInt(u.Get(day))-estimate+tokens)))
	}
	failed := func(err *UpstreamError) error {
		if rerr := a.db.Update(func(tx *bolt.Tx) error { return charge(tx, 0) }); rerr != nil {
			return errors.Join(err, fmt.Errorf("llm: releasing the reserved tokens: %w", rerr))
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req := openai.ChatCompletionRequest{
		Model:       a.cfg.Model,
		MaxTokens:   a.cfg.MaxTokens,
		Temperature: 0.2,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: system},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
	}
	if asJSON {
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	resp, err := a.client.CreateChatCompletion(ctx, req)
	if err != nil {
		return nil, failed(&UpstreamError{Timeout: errors.Is(err, context.DeadlineExceeded) || isTimeout(err), Err: err})
	}
	if len(resp.Choices) == 0 {
		return nil, failed(&UpstreamError{Err: errors.New("the model answered no choices")})
	}
	ans := &Answer{Text: resp.Choices[0].Message.Content, Tokens: resp.Usage.TotalTokens, Model: a.cfg.Model}
	if ans.Tokens == 0 {
		ans.Tokens = estimate // a server that reports no usage is charged the estimate
	}
	err = a.db.Update(func(tx *bolt.Tx) error {
		if err := charge(tx, ans.Tokens); err != nil {
			return err
		}
		b, err := json.Marshal(ans)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketCache).Put(key, b)
	})
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	return ans, nil
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func encodeInt(n int) []byte { return []byte(strconv.Itoa(n)) }

func decodeInt(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}
