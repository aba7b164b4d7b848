package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/demo"
	"dongting/api"
	"dongting/api/access"
	"dongting/api/llm"
	"dongting/index"
	"dongting/index/alerts"
	"dongting/index/fulltext"
	"dongting/index/review"
	"dongting/index/scoring"
	"dongting/index/tagging"
)

// storeFlags are the flags of commands that open the corpus.
type storeFlags struct {
	dir           string
	tz            string
	memoryMB      int
	writeStall    time.Duration // the write watchdog's threshold (serve); 0: off
	searchTimeout time.Duration // serve's -search-timeout; 0: the default
}

// defaultMemoryLimitMB is the Go heap's soft limit by default. A bulk load
// keeps ~450 MB live at its peaks (bbolt's nodes of a rollup fold, Bleve
// segments being built); left to GOGC=100 the heap doubles that before a
// collection. Measured at 500,000 records with a 700 MiB limit: peak RSS
// 1,954 → 1,659 MB, with no loss of throughput.
const defaultMemoryLimitMB = 768

func (m *Main) storeFlags(fset *flag.FlagSet) *storeFlags {
	s := &storeFlags{}
	fset.StringVar(&s.dir, "dir", envOr(m.Getenv, "DONGTING_DIR", "var"), "directory of the record store and search index (env DONGTING_DIR)")
	fset.StringVar(&s.tz, "tz", envOr(m.Getenv, "DONGTING_TZ", index.DefaultZone), "time zone of days, weeks and months in rollups, trends and search, and of CSV times without a zone (env DONGTING_TZ); changing it rebuilds the rollups and the search index")
	return s
}

// location is the -tz zone.
func (s *storeFlags) location() (*time.Location, error) {
	loc, err := time.LoadLocation(s.tz)
	if err != nil {
		return nil, fmt.Errorf("-tz %q: not a time zone name (e.g. %s): %w", s.tz, index.DefaultZone, err)
	}
	return loc, nil
}

// memoryFlag adds -memory-limit, for the commands that open the corpus.
func memoryFlag(fset *flag.FlagSet, s *storeFlags) {
	fset.IntVar(&s.memoryMB, "memory-limit", defaultMemoryLimitMB, "soft limit of the Go heap in MiB, 0 for none (GOMEMLIMIT, when set, wins)")
}

// applyMemoryLimit sets the Go heap's soft limit, unless GOMEMLIMIT is set.
func (m *Main) applyMemoryLimit(mb int) {
	if mb > 0 && m.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(mb) << 20)
	}
}

// openCorpus loads the analyzer and opens the corpus in dir.
func (m *Main) openCorpus(c *common, sf *storeFlags, log *slog.Logger, onIndexed func(int, time.Duration), populate bool) (*index.Corpus, fs.FS, error) {
	loc, err := sf.location()
	if err != nil {
		return nil, nil, err
	}
	m.applyMemoryLimit(sf.memoryMB)
	a, fsys, err := m.analyzer(c)
	if err != nil {
		return nil, nil, err
	}
	if err := fulltext.Register(m.seg); err != nil {
		return nil, nil, err
	}
	corpus, err := index.Open(index.Options{Dir: sf.dir, Analyzer: a, Location: loc, Log: log, OnIndexed: onIndexed, Populate: populate,
		WriteStall: sf.writeStall, SearchTimeout: sf.searchTimeout})
	if err != nil {
		return nil, nil, err
	}
	return corpus, fsys, nil
}

// openTagging puts the taxonomy version stored in the corpus in force (the
// built-in one on first use) with the newest retrained model stored in it
// (the data directory's otherwise), and resumes an interrupted re-tagging.
// Every command that writes records opens it, so they are tagged alike.
func (m *Main) openTagging(corpus *index.Corpus, fsys fs.FS, c *common, log *slog.Logger) (*tagging.Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ms, version, err := review.StoredModels(corpus.Store())
	if err != nil {
		return nil, err
	}
	if ms != nil {
		// Before the manager compiles the stored taxonomy on it, so that
		// every analyzer it makes carries the model.
		corpus.SetAnalyzer(corpus.Analyzer().WithModels(ms))
		log.Info("a retrained model is in force", "model_version", version)
	}
	src, err := fs.ReadFile(fsys, "taxonomy/"+c.taxonomy+".yaml")
	if err != nil {
		return nil, err
	}
	golden, err := fs.ReadFile(fsys, "eval/"+c.taxonomy+"_tags.jsonl")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	opt := tagging.Options{Default: src, Golden: golden, Log: log}
	// A new taxonomy must keep the scenes the experience index weighs.
	if ind, err := fs.ReadFile(fsys, "scoring/indicators.yaml"); err == nil {
		if parsed, err := scoring.New(corpus.Rollups()).ParseIndicators(ind); err == nil {
			opt.Check = parsed.Check
		}
	}
	return tagging.Open(corpus, corpus.Analyzer(), opt)
}

// openAlerts attaches the alert engine to a corpus, with the routing in
// data/alerts/routing.yaml unless one was stored over the API.
func (m *Main) openAlerts(corpus *index.Corpus, fsys fs.FS, log *slog.Logger) (*alerts.Engine, error) {
	cfg, err := routing(fsys)
	if err != nil {
		return nil, err
	}
	return alerts.Open(corpus, cfg, alerts.Options{Log: log})
}

// routing reads data/alerts/routing.yaml.
func routing(fsys fs.FS) (*alerts.Config, error) {
	b, err := fs.ReadFile(fsys, "alerts/routing.yaml")
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	cfg, err := alerts.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("alerts/routing.yaml: %w", err)
	}
	return cfg, nil
}

// bootstrapKey makes sure an admin can get in: with demo data it rotates a
// "demo-admin" key on every start (make run prints a ready key); otherwise
// it creates a "bootstrap-admin" key only when no live whole-group admin
// key exists. It returns the new secret, or "".
func bootstrapKey(keys *access.Keys, demo bool) (string, error) {
	live := false
	for _, k := range keys.List() {
		if k.Revoked != nil {
			continue
		}
		if demo && k.Name == "demo-admin" {
			if _, err := keys.Revoke(k.ID); err != nil {
				return "", err
			}
			continue
		}
		live = live || k.Role == access.Admin && k.Scope == ""
	}
	if live && !demo {
		return "", nil
	}
	name := "bootstrap-admin"
	if demo {
		name = "demo-admin"
	}
	_, secret, err := keys.Create(name, access.Admin, "", "serve")
	return secret, err
}

func (m *Main) runServe(ctx context.Context, args []string) error {
	fset := m.newFlagSet("serve")
	c := m.commonFlags(fset)
	sf := m.storeFlags(fset)
	memoryFlag(fset, sf)
	fset.DurationVar(&sf.writeStall, "write-stall", 5*time.Second, "log an ERROR with every goroutine's stack, and count it in dongting_store_write_stalls_total, when a write transaction holds the store longer than this; 0: off")
	addr := fset.String("addr", envOr(m.Getenv, "DONGTING_ADDR", "127.0.0.1:8080"), "listen address (env DONGTING_ADDR)")
	demoN := fset.Int("demo", 0, "on first start (empty store), load this many generated demo records")
	keyRate := fset.Float64("key-rate", api.DefaultLimits.KeyRate, "requests per second each API key may make (429 with Retry-After beyond)")
	keyBurst := fset.Int("key-burst", api.DefaultLimits.KeyBurst, "requests an API key may make at once above its rate")
	fset.DurationVar(&sf.searchTimeout, "search-timeout", index.DefaultSearchTimeout, "deadline of one search (of each page of an export); past it the search stops and answers 503 timeout")
	datasets := datasetsFlag(m, fset)
	var llmCfg llm.Config
	fset.StringVar(&llmCfg.BaseURL, "llm-url", m.Getenv("DONGTING_LLM_URL"), "base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1 (env DONGTING_LLM_URL); empty: LLM help off")
	fset.StringVar(&llmCfg.Model, "llm-model", m.Getenv("DONGTING_LLM_MODEL"), "model name for LLM help (env DONGTING_LLM_MODEL)")
	fset.DurationVar(&llmCfg.Timeout, "llm-timeout", 30*time.Second, "timeout of one LLM call")
	fset.IntVar(&llmCfg.DailyTokens, "llm-daily-tokens", 200_000, "LLM tokens (prompt + answer) per UTC day; calls beyond get 429")
	if err := fset.Parse(args); err != nil {
		return err
	}
	llmCfg.Key = m.Getenv("DONGTING_LLM_KEY") // from the environment only: flags show in ps
	log := slog.New(slog.NewJSONHandler(m.Stderr, nil))
	metrics := api.NewMetrics()
	corpus, fsys, err := m.openCorpus(c, sf, log, metrics.OnIndexed, false)
	if err != nil {
		return err
	}
	defer corpus.Close() // flushes the index, then closes bbolt
	engine, err := m.openAlerts(corpus, fsys, log)
	if err != nil {
		return err
	}
	defer engine.Close() // before the corpus: undelivered notifications stay in the outbox
	curator, err := m.openTagging(corpus, fsys, c, log)
	if err != nil {
		return err
	}
	defer curator.Close() // a re-tagging in progress resumes at the next start
	reviewer, err := m.openReview(corpus, curator, fsys, c, *datasets, log)
	if err != nil {
		return err
	}
	samples, err := loadDemo(fsys)
	if err != nil {
		return err
	}
	if *demoN > 0 {
		if err := m.loadDemoRecords(ctx, corpus, fsys, *demoN); err != nil {
			return err
		}
	}
	var indicators []byte
	if fsys != nil {
		if indicators, err = fs.ReadFile(fsys, "scoring/indicators.yaml"); err != nil {
			return err
		}
	}
	keys, err := access.Open(corpus.Store(), nil)
	if err != nil {
		return err
	}
	adminSecret, err := bootstrapKey(keys, *demoN > 0)
	if err != nil {
		return err
	}
	assistant, err := llm.Open(corpus.Store(), llmCfg)
	if err != nil {
		return err
	}
	handler, err := api.New(api.Config{LLM: assistant, Analyzer: corpus.Analyzer(), Corpus: corpus, Demo: samples, Log: log, Metrics: metrics, Indicators: indicators, Alerts: engine, Keys: keys, Tagging: curator, Review: reviewer,
		Limits: api.Limits{KeyRate: *keyRate, KeyBurst: *keyBurst}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           handler.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Minute, // batch uploads are large
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	st, _ := corpus.Status()
	fmt.Fprintf(m.Stdout, "Dongting is serving %d records at http://%s/ (API under /api/v1, data in %s)\n", st.Records, ln.Addr(), sf.dir)
	if adminSecret != "" {
		fmt.Fprintf(m.Stdout, "admin key: %s\n(send it as Authorization: Bearer <key>; create scoped keys with POST /api/v1/keys)\n", adminSecret)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Drain in-flight requests; the deferred Close then flushes the index.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// demoEnd is the day the demo's twelve months end: today in China, so the
// demo always shows the last year.
func demoEnd() time.Time {
	loc := index.DefaultLocation()
	y, mo, d := time.Now().In(loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, loc)
}

// loadDemoRecords fills an empty store with generated records.
func (m *Main) loadDemoRecords(ctx context.Context, corpus *index.Corpus, fsys fs.FS, n int) error {
	st, err := corpus.Status()
	if err != nil || st.LastSeq > 0 {
		return err // not a first start
	}
	t, err := demo.Load(fsys)
	if err != nil {
		return err
	}
	g := demo.NewGenerator(t, 1, demoEnd())
	start := time.Now()
	const chunk = 1000
	for done := 0; done < n; {
		k := min(chunk, n-done)
		recs := make([]*analyzer.Record, k)
		for i := range recs {
			r := g.Next()
			recs[i] = &r
		}
		if _, err := corpus.Ingest(ctx, recs); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		done += k
		fmt.Fprintf(m.Stdout, "\rloading demo records: %d/%d", done, n)
	}
	fmt.Fprintf(m.Stdout, "\rloaded %d demo records in %.1fs; the search index catches up in the background\n", n, time.Since(start).Seconds())
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// loadDemo reads the sample records shipped in data/demo.
func loadDemo(fsys fs.FS) ([]analyzer.Record, error) {
	f, err := fsys.Open("demo/samples.jsonl")
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	defer f.Close()
	var out []analyzer.Record
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var r analyzer.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("serve: demo/samples.jsonl:%d: %w", line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
