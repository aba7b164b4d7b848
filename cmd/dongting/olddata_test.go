package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"dongting/analyzer/analyzertest"
	"dongting/data"
	"encoding/json"
	"flag"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeOldData remakes testdata/olddata: go test ./cmd/dongting -run
// TestOldDataDirectoryServes -olddata.write. Only a release that changes
// the stored formats on purpose (with a migration) should remake it.
var writeOldData = flag.Bool("olddata.write", false, "remake testdata/olddata from this build")

const oldDataDir = "testdata/olddata"

// oldDataQueries are the answers a data directory must keep giving across
// releases: what is stored, found, counted and scored.
var oldDataQueries = []string{
	"/api/v1/records/demo-0000007",
	"/api/v1/search?q=" + url.QueryEscape("电梯") + "&size=5&sort=newest&facets=scene,sentiment,severity",
	"/api/v1/search?scene=delivery&size=3&sort=oldest",
	"/api/v1/scores/nps?group=scene",
	"/api/v1/taxonomy",
	"/api/v1/keys",
}

// volatile are fields whose values legitimately change from run to run.
var volatile = regexp.MustCompile(`"(took_ms|last_used|index_lag|uptime_s)":[^,}]*,?`)

// TestOldDataDirectoryServes opens a data directory made by an earlier
// build (records, search index, rollups, keys, taxonomy versions) and asks
// it what that build answered: nothing a refactoring changes may alter a
// stored answer, or need the directory rebuilt.
func TestOldDataDirectoryServes(t *testing.T) {
	if *writeOldData {
		makeOldData(t)
	}
	var want struct {
		Key     string            `json:"key"`
		Records float64           `json:"records"`
		Answers map[string]string `json:"answers"`
		Trend   string            `json:"trend"`
	}
	b, err := os.ReadFile(filepath.Join(oldDataDir, "answers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	untar(t, filepath.Join(oldDataDir, "data.tar.gz"), dir)
	// Served with the taxonomy the directory was made with: a new built-in
	// taxonomy would replace it at start and re-tag the records in the
	// background (tested on its own), and the answers would depend on how
	// far that had got.
	base, stop := serveDir(t, dir, "", "-data-dir", dataWithTaxonomy(t, filepath.Join(oldDataDir, "property.yaml")))
	defer stop()
	st := getJSON(t, base+"/api/v1/status", want.Key)
	if st["records"] != want.Records || st["rebuilding"] == true {
		t.Errorf("status %v, want %v records and no rebuild", st, want.Records)
	}
	for _, q := range oldDataQueries {
		if got := answer(t, base+pinnedRange(q, want.Answers[q]), want.Key); got != want.Answers[q] {
			t.Errorf("%s:\n got %s\nwant %s", q, got, want.Answers[q])
		}
	}
	if got := answer(t, base+want.Trend, want.Key); got != want.Answers[want.Trend] {
		t.Errorf("%s:\n got %s\nwant %s", want.Trend, got, want.Answers[want.Trend])
	}
}

// answeredRange is the date range a scores or trends answer covers.
var answeredRange = regexp.MustCompile(`"from":"(\d{4}-\d\d-\d\d)","to":"(\d{4}-\d\d-\d\d)"`)

// pinnedRange asks q over the dates its stored answer covers: a query
// without from and to covers the twelve months to today, and today is not
// the day the answer was written down.
func pinnedRange(q, stored string) string {
	m := answeredRange.FindStringSubmatch(stored)
	if m == nil || strings.Contains(q, "from=") {
		return q
	}
	return q + "&from=" + m[1] + "&to=" + m[2]
}

// makeOldData serves demo data in a new directory, stops, serves it again
// and writes down its answers and the directory.
func makeOldData(t *testing.T) {
	dir := t.TempDir()
	_, key, stop := serveDemo(t, dir)
	stop()
	base, stop := serveDir(t, dir, "")
	st := getJSON(t, base+"/api/v1/status", key)
	out := map[string]any{"key": key, "records": st["records"]}
	answers := map[string]string{}
	for _, q := range oldDataQueries {
		answers[q] = answer(t, base+q, key)
	}
	// The demo's days end today: the trend asks for the days it holds.
	today := time.Now().Format("2006-01-02")
	trend := "/api/v1/trends?interval=week&group=scene&from=" + time.Now().AddDate(0, 0, -90).Format("2006-01-02") + "&to=" + today
	answers[trend] = answer(t, base+trend, key)
	out["trend"], out["answers"] = trend, answers
	stop()
	os.MkdirAll(oldDataDir, 0o755)
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(filepath.Join(oldDataDir, "answers.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTar(t, dir, filepath.Join(oldDataDir, "data.tar.gz"))
	tax, err := fs.ReadFile(data.FS(), "taxonomy/property.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(oldDataDir, "property.yaml"), tax, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dataWithTaxonomy is a data directory of the embedded files with the
// property taxonomy taken from path.
func dataWithTaxonomy(t *testing.T, path string) string {
	t.Helper()
	out := t.TempDir()
	if err := os.CopyFS(out, data.FS()); err != nil {
		t.Fatal(err)
	}
	tax, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(out, "taxonomy", "property.yaml")
	if err := os.Chmod(target, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, tax, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func answer(t *testing.T, u, key string) string {
	t.Helper()
	resp := authed(t, "GET", u, key, "", nil)
	if resp == nil {
		t.Fatalf("%s: no answer", u)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", u, resp.StatusCode, b)
	}
	return volatile.ReplaceAllString(string(b), "")
}

// serveDemo starts serve on a new directory with 300 demo records and
// returns its URL and admin key.
func serveDemo(t *testing.T, dir string) (string, string, func()) {
	t.Helper()
	base, stop := serveDir(t, dir, "300")
	return base, lastAdminKey, stop
}

var lastAdminKey string

// serveDir runs serve on dir (with demo records when demo is set) until
// stop, after the search index caught up.
func serveDir(t *testing.T, dir, demo string, flags ...string) (string, func()) {
	t.Helper()
	stdout, stderr := &analyzertest.Buffer{}, &analyzertest.Buffer{}
	m := testMain(t, strings.NewReader(""), stdout, stderr)
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"serve", "-addr", "127.0.0.1:0", "-dir", dir}
	if demo != "" {
		args = append(args, "-demo", demo)
	}
	args = append(args, flags...)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, args) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, stderr.String())
		}
	}
	re := regexp.MustCompile(`serving \d+ records at (http://[0-9.:]+)/`)
	keyRe := regexp.MustCompile(`admin key: (dt_\S+)`)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if mm := re.FindStringSubmatch(stdout.String()); mm != nil {
			if km := keyRe.FindStringSubmatch(stdout.String()); km != nil {
				lastAdminKey = km[1]
			}
			for time.Now().Before(deadline) {
				if resp := authed(t, "GET", mm[1]+"/readyz", "", "", nil); resp != nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return mm[1], stop
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		default:
		}
	}
	cancel()
	t.Fatalf("serve did not get ready: %q", stdout.String())
	return "", nil
}

func writeTar(t *testing.T, dir, file string) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name, hdr.ModTime = filepath.ToSlash(rel), time.Time{}
		if err := tw.WriteHeader(hdr); err != nil || d.IsDir() {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
}
