package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"dongting/analyzer"
	"dongting/api"
)

func (m *Main) runServe(ctx context.Context, args []string) error {
	fset := m.newFlagSet("serve")
	c := m.commonFlags(fset)
	addr := fset.String("addr", envOr(m.Getenv, "DONGTING_ADDR", "127.0.0.1:8080"), "listen address (env DONGTING_ADDR)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(m.Stderr, nil))
	a, fsys, err := m.analyzer(c)
	if err != nil {
		return err
	}
	demo, err := loadDemo(fsys)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           api.New(a, demo, log).Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(m.Stdout, "Dongting is serving at http://%s/ (API under /api/v1)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// loadDemo reads the demo records shipped in data/demo.
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
