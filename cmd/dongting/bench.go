package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"

	"dongting/analyzer"
	"dongting/analyzer/demo"
	"dongting/data"
	"dongting/index"
	"dongting/index/alerts"
	"dongting/index/fulltext"
	"dongting/index/rollup"
	"dongting/index/scoring"
)

// benchResult is what one benchmark child process reports.
type benchResult struct {
	Mode      string  `json:"mode"`
	N         int     `json:"n"`
	Seconds   float64 `json:"seconds"`
	PerSec    float64 `json:"records_per_sec"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	DiskMB    float64 `json:"disk_mb"`
	SearchP50 float64 `json:"search_p50_ms,omitempty"` // once merging has settled
	SearchP99 float64 `json:"search_p99_ms,omitempty"`
	// RangeP50, RangeP99: the same word queries with a time range whose
	// ends are not at midnight (each hit's second is checked), once
	// settled.
	RangeP50 float64 `json:"search_range_p50_ms,omitempty"`
	RangeP99 float64 `json:"search_range_p99_ms,omitempty"`
	BusyP50  float64 `json:"search_busy_p50_ms,omitempty"` // right after the load, while merging
	BusyP99  float64 `json:"search_busy_p99_ms,omitempty"`
	// SettleSeconds is how long merging went on after the first search run.
	SettleSeconds float64 `json:"settle_seconds,omitempty"`
	TrendP50      float64 `json:"trend_p50_ms,omitempty"`
	TrendP99      float64 `json:"trend_p99_ms,omitempty"`
	// AlertShare is the time spent evaluating alerts inside the commits
	// over the rest of the ingest calls' time.
	AlertShare float64 `json:"alert_share,omitempty"`
	// Lag*: from sending a record to its being searchable, with records
	// arriving one at a time at LagRate a second after the load.
	LagRate int     `json:"lag_rate,omitempty"`
	LagP50  float64 `json:"lag_p50_ms,omitempty"`
	LagP99  float64 `json:"lag_p99_ms,omitempty"`
	LagMax  float64 `json:"lag_max_ms,omitempty"`
	// CPUMicros is the CPU time of the timed load over its records, every
	// goroutine and Bleve's background merging included.
	CPUMicros float64 `json:"cpu_us_per_record,omitempty"`
	// Rebuild*: after everything else, the index is dropped and rebuilt
	// from the store as dongting reindex does: the stored records are read
	// and indexed, with no analysis, store writes, rollups or alerts.
	RebuildN         uint64  `json:"rebuild_records,omitempty"`
	RebuildPerSec    float64 `json:"rebuild_per_sec,omitempty"`
	RebuildCPUMicros float64 `json:"rebuild_cpu_us_per_record,omitempty"`
}

// runBench runs the ingest benchmark: the baseline (jieba + Bleve on the
// raw text) and the full pipeline, each in a child process of its own so
// their peak RSS is their own, and prints both with the ratio.
func (m *Main) runBench(ctx context.Context, args []string) error {
	fset := m.newFlagSet("bench")
	c := m.commonFlags(fset)
	n := fset.Int("n", 100_000, "records to ingest")
	mode := fset.String("mode", "", "run one mode in this process (baseline, full; search: re-time queries on the directory a full run left in -dir); default: baseline and full, in child processes")
	dir := fset.String("dir", "", "work directory (default: a temporary one, removed afterwards)")
	cpuprofile := fset.String("cpuprofile", "", "with -mode: write a CPU profile here")
	heapprofile := fset.String("heapprofile", "", "with -mode: write a heap profile here whenever the heap reaches a new high (checked every 2 s)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *mode != "" {
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		if *heapprofile != "" {
			stop := watchHeap(*heapprofile)
			defer stop()
		}
		return m.benchOne(ctx, c, *mode, *n, *dir)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var results []benchResult
	for _, md := range []string{"baseline", "full"} {
		work, err := os.MkdirTemp(*dir, "dongting-bench-")
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, exe, "bench", "-mode", md, "-n", strconv.Itoa(*n), "-dir", work, "-jieba-dict", c.jiebaDict, "-data-dir", c.dataDir)
		cmd.Stderr = m.Stderr
		out, err := cmd.Output()
		os.RemoveAll(work)
		if err != nil {
			return fmt.Errorf("bench %s: %w", md, err)
		}
		var r benchResult
		if err := json.Unmarshal(out, &r); err != nil {
			return fmt.Errorf("bench %s: %q: %w", md, out, err)
		}
		results = append(results, r)
	}
	fmt.Fprintf(m.Stdout, "%-9s %9s %9s %12s %12s %12s %10s %14s\n", "mode", "records", "seconds", "records/s", "CPU µs/rec", "peak RSS MB", "disk MB", "search p50/p99")
	for _, r := range results {
		search := "-"
		if r.SearchP99 > 0 {
			search = fmt.Sprintf("%.1f/%.1f ms", r.SearchP50, r.SearchP99)
		}
		fmt.Fprintf(m.Stdout, "%-9s %9d %9.1f %12.0f %12.0f %12.0f %10.0f %14s\n", r.Mode, r.N, r.Seconds, r.PerSec, r.CPUMicros, r.PeakRSSMB, r.DiskMB, search)
	}
	base, full := results[0], results[1]
	fmt.Fprintf(m.Stdout, "full/baseline throughput: %.2f×\n", full.PerSec/base.PerSec)
	fmt.Fprintf(m.Stdout, "index rebuilt from the store afterwards (%d records; no analysis, store writes, rollups or alerts): %.0f records/s, %.2f× the baseline, %.0f µs CPU a record\n", full.RebuildN, full.RebuildPerSec, full.RebuildPerSec/base.PerSec, full.RebuildCPUMicros)
	fmt.Fprintf(m.Stdout, "search right after the load, while Bleve merges, p50/p99: %.1f/%.1f ms (merging settled %.0f s later; the table's figures are after it)\n", full.BusyP50, full.BusyP99, full.SettleSeconds)
	fmt.Fprintf(m.Stdout, "the same searches with a 3–9 month time range (ends not at midnight) p50/p99: %.1f/%.1f ms\n", full.RangeP50, full.RangeP99)
	fmt.Fprintf(m.Stdout, "trend (12 months weekly, by scene) p50/p99: %.1f/%.1f ms\n", full.TrendP50, full.TrendP99)
	fmt.Fprintf(m.Stdout, "alert evaluation adds %.1f%% to ingest time (every record evaluated)\n", 100*full.AlertShare)
	fmt.Fprintf(m.Stdout, "live traffic after the load, %d records/s one per commit: sent → searchable p50/p99/max %.1f/%.1f/%.1f ms\n", full.LagRate, full.LagP50, full.LagP99, full.LagMax)
	return nil
}

func (m *Main) benchOne(ctx context.Context, c *common, mode string, n int, dir string) error {
	if dir == "" {
		return fmt.Errorf("bench: -mode needs -dir")
	}
	fsys, err := data.Open(c.dataDir)
	if err != nil {
		return err
	}
	t, err := demo.Load(fsys)
	if err != nil {
		return err
	}
	g := demo.NewGenerator(t, 42, benchEnd)
	progress := func(done int, start time.Time) {
		if done%100_000 == 0 {
			fmt.Fprintf(m.Stderr, "%s: %d records, %.0f/s\n", mode, done, float64(done)/time.Since(start).Seconds())
		}
	}
	res := benchResult{Mode: mode, N: n}
	switch mode {
	case "baseline":
		res.Seconds, err = m.benchBaseline(c, g, n, dir, progress, &res)
	case "full":
		res.Seconds, err = m.benchFull(ctx, c, g, n, dir, progress, &res)
	case "search":
		return m.benchQueries(ctx, c, dir)
	default:
		return fmt.Errorf("bench: mode %q is not baseline, full or search", mode)
	}
	if err != nil {
		return err
	}
	res.PerSec = float64(n) / res.Seconds
	if res.PeakRSSMB == 0 { // the full run takes both before its rebuild
		res.PeakRSSMB = peakRSSMB()
		res.DiskMB = dirMB(dir)
	}
	return json.NewEncoder(m.Stdout).Encode(res)
}

// benchBaseline segments with jieba and indexes the raw text in Bleve, in
// batches of the same size the indexer uses: what a plain indexer costs.
func (m *Main) benchBaseline(c *common, g *demo.Generator, n int, dir string, progress func(int, time.Time), res *benchResult) (float64, error) {
	if _, _, err := m.analyzer(c); err != nil { // the same segmenter and dictionary
		return 0, err
	}
	if err := fulltext.Register(m.seg); err != nil {
		return 0, err
	}
	idx, err := bleve.New(filepath.Join(dir, "baseline.bleve"), fulltext.BaselineMapping())
	if err != nil {
		return 0, err
	}
	start, cpu0 := time.Now(), cpuTime()
	b := idx.NewBatch()
	for i := 1; i <= n; i++ {
		r := g.Next()
		text := r.Text
		for _, t := range r.Turns {
			text += "\n" + t.Text
		}
		if err := b.Index(r.ID, map[string]any{"text": text}); err != nil {
			return 0, err
		}
		if b.Size() == 1000 || i == n {
			if err := idx.Batch(b); err != nil {
				return 0, err
			}
			b.Reset()
		}
		progress(i, start)
	}
	secs := time.Since(start).Seconds()
	res.CPUMicros = perRecordMicros(cpuTime()-cpu0, n)
	if err := idx.Close(); err != nil {
		return 0, err
	}
	fmt.Fprintf(m.Stderr, "baseline: %d records in %.1fs\n", n, secs)
	return secs, nil
}

// benchFull ingests through the real corpus (analysis, bbolt commit, Bleve
// by the background indexer) and times it until everything is searchable;
// then it measures word queries with facets.
func (m *Main) benchFull(ctx context.Context, c *common, g *demo.Generator, n int, dir string, progress func(int, time.Time), res *benchResult) (float64, error) {
	corpus, fsys, err := m.openCorpus(c, &storeFlags{dir: dir, tz: index.DefaultZone, memoryMB: defaultMemoryLimitMB}, nil, nil, false)
	if err != nil {
		return 0, err
	}
	// Every generated record is evaluated for alerts (max_age covers the
	// year; the clock stands at the generator's end), the worst case.
	cfg, err := routing(fsys)
	if err != nil {
		corpus.Close()
		return 0, err
	}
	cfg.MaxAge = alerts.Duration(400 * 24 * time.Hour)
	engine, err := alerts.Open(corpus, cfg, alerts.Options{Now: func() time.Time { return benchEnd }})
	if err != nil {
		corpus.Close()
		return 0, err
	}
	var ingestTime time.Duration
	start, cpu0 := time.Now(), cpuTime()
	var last uint64
	for done := 0; done < n; {
		k := min(ingestChunk, n-done)
		recs := make([]*analyzer.Record, k)
		for i := range recs {
			r := g.Next()
			recs[i] = &r
		}
		t0 := time.Now()
		out, err := corpus.Ingest(ctx, recs)
		ingestTime += time.Since(t0)
		if err != nil {
			engine.Close()
			corpus.Close()
			return 0, err
		}
		for _, o := range out {
			last = max(last, o.Seq)
		}
		done += k
		progress(done, start)
	}
	if err := corpus.WaitIndexed(ctx, last); err != nil {
		engine.Close()
		corpus.Close()
		return 0, err
	}
	secs := time.Since(start).Seconds()
	res.CPUMicros = perRecordMicros(cpuTime()-cpu0, n)
	eval := engine.Stats().EvalTime
	res.AlertShare = eval.Seconds() / (ingestTime - eval).Seconds()
	engine.Close()
	fmt.Fprintf(m.Stderr, "full: %d records searchable in %.1fs\n", n, secs)
	// Search is timed twice: at once, while Bleve still merges the bulk
	// load's segments in the background, and once merging has settled
	// (../shared/docs/MEASURED.md: time after merging).
	res.BusyP50, res.BusyP99 = benchSearch(ctx, corpus, false)
	t0 := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err = corpus.WaitSettled(wctx)
	cancel()
	if err != nil {
		corpus.Close()
		return 0, fmt.Errorf("waiting for the index to settle: %w", err)
	}
	res.SettleSeconds = time.Since(t0).Seconds()
	fmt.Fprintf(m.Stderr, "full: index settled %.1fs after the first search run\n", res.SettleSeconds)
	res.SearchP50, res.SearchP99 = benchSearch(ctx, corpus, false)
	res.RangeP50, res.RangeP99 = benchSearch(ctx, corpus, true)
	res.TrendP50, res.TrendP99 = benchTrends(corpus)
	// Last: it adds records, and so segments to merge.
	res.LagRate = lagRate
	if res.LagP50, res.LagP99, res.LagMax, err = benchLag(ctx, corpus, g, lagRate, 20*time.Second); err != nil {
		corpus.Close()
		return 0, fmt.Errorf("live traffic: %w", err)
	}
	if err := corpus.Close(); err != nil {
		return 0, err
	}
	// The rebuild maps the whole store into memory (as reindex does) and
	// writes a second index: the run's memory and disk are taken before.
	res.PeakRSSMB = peakRSSMB()
	res.DiskMB = dirMB(dir)
	if err := m.benchRebuild(ctx, c, dir, res); err != nil {
		return 0, fmt.Errorf("rebuilding the index: %w", err)
	}
	return secs, nil
}

// benchRebuild drops the index a full run built and rebuilds it from the
// store, as dongting reindex does, timing it until every record is
// searchable. It costs what indexing the pipeline's documents costs, plus
// decoding the stored records, with nothing of the analysis, store writes,
// rollups or alerts: about the ceiling the documents alone put on the full
// pipeline's throughput.
func (m *Main) benchRebuild(ctx context.Context, c *common, dir string, res *benchResult) error {
	if err := os.RemoveAll(index.SearchDir(dir)); err != nil {
		return err
	}
	start, cpu0 := time.Now(), cpuTime()
	corpus, _, err := m.openCorpus(c, &storeFlags{dir: dir, tz: index.DefaultZone, memoryMB: defaultMemoryLimitMB}, nil, nil, true)
	if err != nil {
		return err
	}
	st, err := corpus.Store().Stats()
	if err == nil {
		err = corpus.WaitIndexed(ctx, st.LastSeq)
	}
	if err != nil {
		corpus.Close()
		return err
	}
	secs := time.Since(start).Seconds()
	res.RebuildN = st.LastSeq
	res.RebuildPerSec = float64(st.LastSeq) / secs
	res.RebuildCPUMicros = perRecordMicros(cpuTime()-cpu0, int(st.LastSeq))
	fmt.Fprintf(m.Stderr, "full: index rebuilt from the store in %.1fs\n", secs)
	return corpus.Close()
}

// perRecordMicros is a CPU time spread over n records, in µs.
func perRecordMicros(d time.Duration, n int) float64 {
	return float64(d.Microseconds()) / float64(max(n, 1))
}

// lagRate is the live traffic benchLag sends, in records a second: far
// above a hotline's (~100,000 calls a day is ~1.2 a second), far below
// what a bulk load commits.
const lagRate = 100

// benchLag measures the index lag under live traffic: records arrive one
// at a time at rate a second for d, each committed on its own as a
// hotline system posts them, and the time from sending one to its being
// searchable (Ingest, then WaitIndexed: ?wait=indexed) is taken for each.
func benchLag(ctx context.Context, corpus *index.Corpus, g *demo.Generator, rate int, d time.Duration) (p50, p99, maxMS float64, err error) {
	var (
		mu   sync.Mutex
		ms   []float64
		errs []error
		wg   sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		r := g.Next()
		wg.Go(func() {
			t := time.Now()
			out, err := corpus.Ingest(ctx, []*analyzer.Record{&r})
			if err == nil {
				err = out[0].Err
			}
			if err == nil {
				err = corpus.WaitIndexed(ctx, out[0].Seq)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ms = append(ms, float64(time.Since(t).Microseconds())/1000)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return 0, 0, 0, errs[0]
	}
	p50, p99 = percentiles(ms)
	return p50, p99, ms[len(ms)-1], nil
}

// percentiles sorts timings (ms) and returns their p50 and p99.
func percentiles(ms []float64) (p50, p99 float64) {
	slices.Sort(ms)
	return ms[len(ms)/2], ms[len(ms)*99/100]
}

// benchEnd is the day the generated records' year ends.
var benchEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, index.DefaultLocation())

// benchQueries re-times search and trends on the data directory a "full"
// run left (-dir): for profiling queries without ingesting again.
func (m *Main) benchQueries(ctx context.Context, c *common, dir string) error {
	corpus, _, err := m.openCorpus(c, &storeFlags{dir: dir, tz: index.DefaultZone, memoryMB: defaultMemoryLimitMB}, nil, nil, false)
	if err != nil {
		return err
	}
	defer corpus.Close()
	// No WaitSettled: the full run left the index settled, and Bleve
	// reports a reopened index busy until its first write.
	var res benchResult
	res.Mode = "search"
	res.SearchP50, res.SearchP99 = benchSearch(ctx, corpus, false)
	res.RangeP50, res.RangeP99 = benchSearch(ctx, corpus, true)
	res.TrendP50, res.TrendP99 = benchTrends(corpus)
	res.PeakRSSMB = peakRSSMB()
	return json.NewEncoder(m.Stdout).Encode(res)
}

// benchTrends times the dashboard's heaviest common answer: a 12-month
// weekly series grouped by scene, for the whole group and for regions and
// cities, over several metrics.
func benchTrends(corpus *index.Corpus) (p50, p99 float64) {
	s := scoring.New(corpus.Rollups())
	s.Now = func() time.Time { return benchEnd }
	var orgs []string
	_ = corpus.Rollups().View(func(v *rollup.View) error {
		for o := range v.Orgs() {
			if strings.Count(o, "/") < 2 {
				orgs = append(orgs, o)
			}
		}
		return nil
	})
	slices.Sort(orgs)
	orgs = append(orgs, "")
	metrics := []string{"volume", "negative_rate", "nps", "sentiment"}
	var ms []float64
	for i := 0; i < 220; i++ {
		q := scoring.TrendQuery{Metric: metrics[i%len(metrics)], Interval: "week", GroupBy: "scene", Filter: scoring.Filter{Org: orgs[i%len(orgs)]}}
		t := time.Now()
		if _, err := s.Trend(q); err != nil {
			return 0, 0
		}
		if i >= 20 {
			ms = append(ms, float64(time.Since(t).Microseconds())/1000)
		}
	}
	return percentiles(ms)
}

// benchSearch times word queries with four facets, with a time range of
// about 3–9 months between two random seconds when ranged.
func benchSearch(ctx context.Context, corpus *index.Corpus, ranged bool) (p50, p99 float64) {
	words := []string{"电梯", "物业费", "停车", "漏水", "噪音", "保安", "垃圾", "维修", "管家", "装修", "门禁", "绿化", "暖气", "停水", "投诉"}
	rng := rand.New(rand.NewPCG(1, 2))
	var ms []float64
	for i := 0; i < 300; i++ {
		q := &fulltext.Query{Q: words[rng.IntN(len(words))], Facets: []string{"scene", "touchpoint", "channel", "sentiment"}, Highlight: true}
		if ranged {
			q.From = benchEnd.AddDate(-1, 0, 0).Add(time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Second)
			q.To = q.From.AddDate(0, 3+rng.IntN(6), 0).Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))).Truncate(time.Second)
		}
		t := time.Now()
		if _, err := corpus.Search(ctx, q); err != nil {
			return 0, 0
		}
		if i >= 20 { // warm-up
			ms = append(ms, float64(time.Since(t).Microseconds())/1000)
		}
	}
	return percentiles(ms)
}

// watchHeap writes a heap profile to path each time the heap in use
// reaches a new high, so the profile shows what the peak was made of.
func watchHeap(path string) (stop func()) {
	done := make(chan struct{})
	go func() {
		var high uint64
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse <= high {
				continue
			}
			high = ms.HeapInuse
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
	}()
	return func() { close(done) }
}

// peakRSSMB reads the process's high-water resident set (Linux).
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func dirMB(dir string) float64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return float64(total) / (1 << 20)
}
