package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"dongting/analyzer"
	"dongting/analyzer/demo"
	"dongting/data"
	"dongting/index"
	"dongting/index/store"
)

// ingestChunk is how many records go in one commit (or one upload).
const ingestChunk = 1000

func (m *Main) runIngest(ctx context.Context, args []string) error {
	fset := m.newFlagSet("ingest")
	c := m.commonFlags(fset)
	sf := m.storeFlags(fset)
	memoryFlag(fset, sf)
	server := fset.String("server", "", "URL of a running server (e.g. http://127.0.0.1:8080); without it, write into -dir directly")
	apiKey := fset.String("key", m.Getenv("DONGTING_KEY"), "API key for -server (an ingest or admin key; env DONGTING_KEY)")
	format := fset.String("format", "", "one of "+analyzer.FormatNames()+" (default: from the file name)")
	quiet := fset.Bool("q", false, "no progress bar")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return fmt.Errorf("ingest: want one FILE (NDJSON, JSON array or CSV)")
	}
	path := fset.Arg(0)
	if *format == "" {
		*format = analyzer.FormatNDJSON
		if fm, err := analyzer.FormatForExtension(filepath.Ext(path)); err == nil {
			*format = fm.Name
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	total, err := countLines(f)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if fm, err := analyzer.FormatNamed(*format); err == nil && fm.Header && total > 0 {
		total-- // the header
	}
	// CSV times without a zone are read in -tz: the zone the data
	// directory's days are in (against a server, pass the server's -tz).
	loc, err := sf.location()
	if err != nil {
		return err
	}
	rr, err := analyzer.NewRecordReader(f, *format, analyzer.ReadOptions{Location: loc})
	if err != nil {
		return fmt.Errorf("ingest: %s: %w", path, err)
	}

	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(m.Stderr), progressbar.OptionSetDescription("ingest"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rec"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionFullWidth())
	}
	var send func(ctx context.Context, recs []*analyzer.Record, lines []int) (accepted int, errs []string, err error)
	var finish func() error
	if *server != "" {
		send = remoteSender(strings.TrimRight(*server, "/"), *apiKey)
		finish = func() error { return nil }
	} else {
		corpus, fsys, err := m.openCorpus(c, sf, nil, nil, false)
		if err != nil {
			return err
		}
		// Alerts are raised in the same commits as when a server ingests;
		// what is not delivered before exit is delivered by the server.
		errLog := slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		curator, err := m.openTagging(corpus, fsys, c, errLog)
		if err != nil {
			corpus.Close()
			return err
		}
		engine, err := m.openAlerts(corpus, fsys, errLog)
		if err != nil {
			curator.Close()
			corpus.Close()
			return err
		}
		send = func(ctx context.Context, recs []*analyzer.Record, lines []int) (int, []string, error) {
			res, err := corpus.Ingest(ctx, recs)
			if err != nil {
				return 0, nil, err
			}
			var errs []string
			n := 0
			for i, r := range res {
				if r.Err != nil {
					errs = append(errs, fmt.Sprintf("line %d: %v", lines[i], r.Err))
				} else {
					n++
				}
			}
			return n, errs, nil
		}
		finish = func() error {
			engine.Close()
			curator.Close()
			return corpus.Close() // catches the index up before closing
		}
	}

	start := time.Now()
	accepted, failed := 0, 0
	var recs []*analyzer.Record
	var lines []int
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		n, errs, err := send(ctx, recs, lines)
		if err != nil {
			return err
		}
		accepted += n
		failed += len(errs)
		for _, e := range errs {
			m.lineProblem(bar, path, e)
		}
		if bar != nil {
			bar.Add(len(recs))
		}
		recs, lines = recs[:0], lines[:0]
		return nil
	}
	for {
		rec, line, err := rr.Next()
		if err == io.EOF {
			break
		}
		var le *analyzer.LineError
		if errors.As(err, &le) {
			failed++
			m.lineProblem(bar, path, le.Error())
			if bar != nil {
				bar.Add(1)
			}
			continue
		}
		if err != nil {
			finish()
			return fmt.Errorf("ingest: %s after line %d: %w", path, line, err)
		}
		recs, lines = append(recs, rec), append(lines, line)
		if len(recs) == ingestChunk {
			if err := flush(); err != nil {
				finish()
				return fmt.Errorf("ingest: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		finish()
		return fmt.Errorf("ingest: %w", err)
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(m.Stderr)
	}
	if err := finish(); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(m.Stdout, "ingested %d records (%d failed) from %s in %.1fs, %.0f records/s\n", accepted, failed, path, secs, float64(accepted)/secs)
	if failed > 0 {
		return exitError(1)
	}
	return nil
}

// lineProblem prints one bad line above the progress bar.
func (m *Main) lineProblem(bar *progressbar.ProgressBar, path, msg string) {
	if bar != nil {
		bar.Clear()
	}
	fmt.Fprintf(m.Stderr, "%s: %s\n", path, msg)
}

func countLines(f *os.File) (int, error) {
	buf := make([]byte, 256*1024)
	n := 0
	last := byte('\n')
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if k > 0 {
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	_, err := f.Seek(0, io.SeekStart)
	return n, err
}

// remoteSender posts chunks as NDJSON to a running server and maps the
// lines it reports back to the file's.
func remoteSender(base, apiKey string) func(context.Context, []*analyzer.Record, []int) (int, []string, error) {
	client := &http.Client{Timeout: 5 * time.Minute}
	return func(ctx context.Context, recs []*analyzer.Record, lines []int) (int, []string, error) {
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return 0, nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/records/batch", &body)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var rep struct {
			Accepted int `json:"accepted"`
			Errors   []struct {
				Line    int    `json:"line"`
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
			Error *struct {
				Code, Message string
			} `json:"error"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&rep); err != nil {
			return 0, nil, fmt.Errorf("server answered %s with no report", resp.Status)
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnprocessableEntity {
			msg := resp.Status
			if rep.Error != nil {
				msg = rep.Error.Code + ": " + rep.Error.Message
			}
			return 0, nil, fmt.Errorf("server: %s", msg)
		}
		var errs []string
		for _, e := range rep.Errors {
			line := e.Line
			if line >= 1 && line <= len(lines) {
				line = lines[line-1]
			}
			errs = append(errs, fmt.Sprintf("line %d: %s: %s", line, e.Field, e.Message))
		}
		return rep.Accepted, errs, nil
	}
}

func (m *Main) runReindex(ctx context.Context, args []string) error {
	fset := m.newFlagSet("reindex")
	c := m.commonFlags(fset)
	sf := m.storeFlags(fset)
	memoryFlag(fset, sf)
	only := fset.String("only", "all", "what to rebuild from the store: index, rollups or all")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *only != "all" && *only != "index" && *only != "rollups" {
		return fmt.Errorf("reindex: -only %q: want index, rollups or all", *only)
	}
	if _, err := os.Stat(filepath.Join(sf.dir, "dongting.db")); err != nil {
		return fmt.Errorf("reindex: no store in %s", sf.dir)
	}
	// The index is derived: drop it and let the corpus rebuild it from
	// the store. bbolt's file lock keeps a running server out.
	st, err := store.Open(filepath.Join(sf.dir, "dongting.db"), false)
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	last := st.LastSeq()
	stats, err := st.Stats()
	st.Close()
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	if *only != "rollups" {
		if err := os.RemoveAll(index.SearchDir(sf.dir)); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
	}
	start := time.Now()
	corpus, _, err := m.openCorpus(c, sf, nil, nil, true)
	if err != nil {
		return err
	}
	if *only != "index" {
		bar := progressbar.NewOptions64(int64(stats.Records), progressbar.OptionSetWriter(m.Stderr), progressbar.OptionSetDescription("rollups"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond))
		err := corpus.RebuildRollups(func(done int) { bar.Set64(int64(done)) })
		bar.Finish()
		fmt.Fprintln(m.Stderr)
		if err != nil {
			corpus.Close()
			return err
		}
		fmt.Fprintf(m.Stdout, "rebuilt the rollups of %d records in %.1fs\n", stats.Records, time.Since(start).Seconds())
		if *only == "rollups" {
			return corpus.Close()
		}
		start = time.Now()
	}
	bar := progressbar.NewOptions64(int64(last), progressbar.OptionSetWriter(m.Stderr), progressbar.OptionSetDescription("reindex"),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond))
	for {
		s, err := corpus.Status()
		if err != nil {
			corpus.Close()
			return err
		}
		bar.Set64(int64(s.Indexed))
		if s.Indexed >= last || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	bar.Finish()
	fmt.Fprintln(m.Stderr)
	s, _ := corpus.Status()
	if err := corpus.Close(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "reindexed %d records in %.1fs\n", s.IndexDocs, time.Since(start).Seconds())
	return ctx.Err()
}

func (m *Main) runDemo(ctx context.Context, args []string) error {
	fset := m.newFlagSet("demo")
	c := m.commonFlags(fset)
	n := fset.Int("n", 1000, "how many records")
	seed := fset.Uint64("seed", 1, "random seed (the same seed gives the same records)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	fsys, err := data.Open(c.dataDir)
	if err != nil {
		return err
	}
	t, err := demo.Load(fsys)
	if err != nil {
		return err
	}
	g := demo.NewGenerator(t, *seed, demoEnd())
	w := bufio.NewWriterSize(m.Stdout, 64*1024)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for range *n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := g.Next()
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	return w.Flush()
}
