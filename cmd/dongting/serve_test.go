package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"dongting/analyzer/analyzertest"
	"dongting/data"
	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/rollup"
)

// authed sends a request with an API key.
func authed(t *testing.T, method, u, key, ctype string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	return resp
}

func getJSON(t *testing.T, u, key string) map[string]any {
	t.Helper()
	resp := authed(t, "GET", u, key, "", nil)
	if resp == nil {
		t.Fatalf("%s: no answer", u)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return out
}

// TestServeIngestReindex runs the real program: serve on port 0 with demo
// data, ingest a file through it, stop it, ingest directly into the data
// directory, rebuild the index, and check what is searchable.
func TestServeIngestReindex(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr := &analyzertest.Buffer{}, &analyzertest.Buffer{}
	m := testMain(t, strings.NewReader(""), stdout, stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-dir", dir, "-demo", "300"}) }()

	re := regexp.MustCompile(`serving (\d+) records at (http://[0-9.:]+)/.*\nadmin key: (dt_\S+)`)
	var base, key string
	for deadline := time.Now().Add(60 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if mm := re.FindStringSubmatch(stdout.String()); mm != nil {
			if mm[1] != "300" {
				t.Errorf("serving %s records, want the 300 demo records", mm[1])
			}
			base, key = mm[2], mm[3]
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("serve printed no URL: %q", stdout.String())
	}
	if !strings.Contains(stdout.String(), "loaded 300 demo records") {
		t.Errorf("stdout %q", stdout.String())
	}

	out, errOut, err := run(t, "", "ingest", "-q", "-server", base, "-key", key, "testdata/ingest.csv")
	var exit exitError
	if !errors.As(err, &exit) || !strings.Contains(out, "ingested 3 records (1 failed)") || !strings.Contains(errOut, "line 4: occurred_at") {
		t.Errorf("ingest via server: %v\n%s\n%s", err, out, errOut)
	}
	// wait until everything is searchable, then search for an ingested row
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if st := getJSON(t, base+"/api/v1/status", key); st["index_lag"] == 0.0 {
			break
		}
	}
	res := getJSON(t, base+"/api/v1/search?q="+url.QueryEscape("高空抛物")+"&org="+url.QueryEscape("华南区域/深圳/碧海花园"), key)
	found := false
	for _, h := range res["hits"].([]any) {
		found = found || h.(map[string]any)["id"] == "csv-2"
	}
	if !found {
		t.Errorf("ingested csv-2 not found: %v", res)
	}
	// A backup while serving, through the API.
	backupFile := filepath.Join(t.TempDir(), "snap.db")
	if out, errOut, err := run(t, "", "backup", "-server", base, "-key", key, "-o", backupFile); err != nil || !strings.Contains(out, "backed up 303 records") {
		t.Fatalf("backup: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err := run(t, "", "backup", "-server", base, "-key", key, "-o", backupFile); err == nil {
		t.Error("backup over an existing file accepted")
	}
	// bbolt's lock keeps a second process (here: a second open) out.
	if _, _, err := run(t, "", "backup", "-dir", dir, "-o", backupFile+"2"); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("backup -dir while serving: %v", err)
	}
	if _, _, err := run(t, "", "reindex", "-dir", dir); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("reindex while serving: %v", err)
	}

	// The taxonomy's lifecycle from the command line.
	tax := func(args ...string) (string, string, error) {
		return run(t, "", append(append([]string{"taxonomy"}, args...), "-server", base, "-key", key)...)
	}
	src, err := fs.ReadFile(data.FS(), "taxonomy/property.yaml")
	if err != nil {
		t.Fatal(err)
	}
	draft := strings.Replace(string(src), "      - {id: security.patrol", "      - {id: security.drone, name: 无人机, terms: [无人机, 航拍]}\n      - {id: security.patrol", 1)
	if draft == string(src) {
		t.Fatal("test setup: no security.patrol node")
	}
	draftFile, badFile := filepath.Join(t.TempDir(), "draft.yaml"), filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(draftFile, []byte(draft), 0o600)
	os.WriteFile(badFile, []byte(strings.Replace(draft, "terms: [无人机, 航拍]", "rule: '无人机 &'", 1)), 0o600)
	if out, _, err := tax("dryrun", draftFile); err != nil || !strings.Contains(out, "read 303 of 303 records") {
		t.Errorf("taxonomy dryrun: %v\n%s", err, out)
	}
	if _, _, err := tax("put", badFile); err == nil || !strings.Contains(err.Error(), "security.drone") || !strings.Contains(err.Error(), "line") {
		t.Errorf("taxonomy put of an invalid file: %v", err)
	}
	if out, errOut, err := tax("put", draftFile, "-note", "drones"); err != nil || !strings.Contains(out, "version 2 by demo-admin") || !strings.Contains(out, "added    security.drone") || !strings.Contains(out, "re-tagged 303 records with version 2") {
		t.Errorf("taxonomy put: %v\n%s\n%s", err, out, errOut)
	}
	if out, _, err := tax("versions"); err != nil || !strings.Contains(out, "drones") || !strings.Contains(out, "built-in") {
		t.Errorf("taxonomy versions: %v\n%s", err, out)
	}
	if out, _, err := tax("get", "-version", "1"); err != nil || out != string(src) {
		t.Errorf("taxonomy get -version 1: %v", err)
	}
	if out, _, err := tax("rule", "电梯 & 困人"); err != nil || !strings.Contains(out, "records read match") {
		t.Errorf("taxonomy rule: %v\n%s", err, out)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}

	// Directly into the directory (the server is stopped: bbolt's lock is free).
	nd := filepath.Join(t.TempDir(), "more.jsonl")
	if err := os.WriteFile(nd, []byte(`{"id":"direct-1","text":"地库积水，车都泡了"}`+"\n"+`{"id":"direct-2","text":"","kind":"complaint"}`+"\n"+`{"id":"direct-3","text":"无人机天天在窗外拍"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = run(t, "", "ingest", "-q", "-dir", dir, nd)
	if !errors.As(err, &exit) || !strings.Contains(out, "ingested 2 records (1 failed)") || !strings.Contains(errOut, "line 2: text: empty") {
		t.Errorf("direct ingest: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err = run(t, "", "reindex", "-dir", dir); err != nil {
		t.Fatal(err)
	}
	if err := fulltext.Register(m.seg); err != nil {
		t.Fatal(err)
	}
	c, err := index.Open(index.Options{Dir: dir, Analyzer: analyzertest.New(t, "property")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, _ := c.Status()
	if st.Records != 305 || st.IndexDocs != 305 || st.Lag != 0 {
		t.Errorf("after reindex: %+v, want 305 records, all indexed", st)
	}
	// A direct ingest tags with the version in force, not the built-in one.
	if d3, err := c.Get("direct-3"); err != nil || len(d3.Analysis.Tags) == 0 || d3.Analysis.Tags[0].ID != "security.drone" {
		t.Errorf("direct-3 not tagged with the stored version: %v %+v", err, d3)
	}
	p, err := c.Search(context.Background(), &fulltext.Query{Q: "地库 积水"})
	if err != nil || p.Total == 0 {
		t.Errorf("direct-1 not searchable after reindex: %v %+v", err, p)
	}

	// Restore the backup taken while serving into a new directory: the 303
	// records of that moment, searchable, with their rollups.
	restored := filepath.Join(t.TempDir(), "restored")
	if out, errOut, err := run(t, "", "restore", "-from", backupFile, "-dir", restored); err != nil || !strings.Contains(out, "restored 303 records") {
		t.Fatalf("restore: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err := run(t, "", "restore", "-from", backupFile, "-dir", restored); err == nil || !strings.Contains(err.Error(), "already holds a store") {
		t.Errorf("restore over a store: %v", err)
	}
	if _, _, err := run(t, "", "restore", "-from", "testdata/ingest.csv", "-dir", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "not a bbolt file") {
		t.Errorf("restore of a CSV: %v", err)
	}
	r, err := index.Open(index.Options{Dir: restored, Analyzer: analyzertest.New(t, "property")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if st, _ := r.Status(); st.Records != 303 || st.IndexDocs != 303 {
		t.Errorf("restored: %+v", st)
	}
	if _, err := r.Get("csv-2"); err != nil {
		t.Errorf("csv-2 not restored: %v", err)
	}
	if _, err := r.Get("direct-1"); err == nil {
		t.Error("a record stored after the backup is in it")
	}
	var volume int64
	err = r.Rollups().View(func(v *rollup.View) error {
		return v.EachDay("", rollup.All, rollup.All, "20000101", "21001231", nil, func(_ string, c *rollup.Counts) { volume += c[rollup.CVolume] })
	})
	if err != nil || volume != 303 {
		t.Errorf("restored rollups count %d records: %v", volume, err)
	}
}

// TestIngestCSVInZone: a direct ingest reads CSV times without a zone in
// -tz, the zone the data directory's days are in.
func TestIngestCSVInZone(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := run(t, "", "ingest", "-q", "-tz", "America/New_York", "-dir", dir, "testdata/ingest.csv")
	var exit exitError
	if !errors.As(err, &exit) || !strings.Contains(out, "ingested 3 records (1 failed)") {
		t.Fatalf("ingest: %v\n%s\n%s", err, out, errOut)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c, err := index.Open(index.Options{Dir: dir, Analyzer: analyzertest.New(t, "property"), Location: ny})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for id, want := range map[string]string{"csv-1": "2026-05-01T10:00:00-04:00", "csv-4": "2026-05-03T00:00:00-04:00"} {
		if st, err := c.Get(id); err != nil || st.Record.OccurredAt != want {
			t.Errorf("%s: %v %+v, want occurred_at %s", id, err, st, want)
		}
	}
}
