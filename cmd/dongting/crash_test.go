package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dongting/analyzer/analyzertest"
	"dongting/analyzer/demo"
	"dongting/data"
)

// TestMain lets the test binary stand in for the dongting binary: with
// DONGTING_RUN_MAIN=1 it runs main() on its arguments, so the crash test
// can start, SIGKILL and restart the real program as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("DONGTING_RUN_MAIN") == "1" {
		if v := os.Getenv("DONGTING_TEST_FSIZE"); v != "" {
			// A full disk, for the fault test: files may not grow past v
			// bytes, and writing past it fails with EFBIG instead of
			// killing the process.
			n, _ := strconv.ParseUint(v, 10, 64)
			signal.Ignore(syscall.SIGXFSZ)
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
				panic(err)
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is the real program serving a directory in another process.
type child struct {
	cmd  *exec.Cmd
	base string
	key  string // a whole-group admin key
	errs *analyzertest.Buffer
}

func startChild(t *testing.T, dir string, env ...string) *child {
	t.Helper()
	// -demo 0 keeps the store as it is; "admin key:" is printed on first start.
	cmd := exec.Command(os.Args[0], "serve", "-addr", "127.0.0.1:0", "-dir", dir, "-key-rate", "100000", "-key-burst", "100000")
	cmd.Env = append(append(os.Environ(), "DONGTING_RUN_MAIN=1", "DONGTING_JIEBA_DICT="+analyzertest.DictDir(t)), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, errs: &analyzertest.Buffer{}}
	cmd.Stderr = c.errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found, keys := make(chan string, 1), make(chan string, 1)
	go func() {
		re, rk := regexp.MustCompile(`at (http://[0-9.:]+)/`), regexp.MustCompile(`^admin key: (dt_\S+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
			if m := rk.FindStringSubmatch(sc.Text()); m != nil {
				keys <- m[1]
			}
		}
	}()
	select {
	case c.base = <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("child printed no URL; stderr:\n%s", c.errs.String())
	}
	select {
	case c.key = <-keys:
	case <-time.After(time.Second): // a restart keeps the first key
	}
	return c
}

// checkIntact waits for the index to catch up after a restart and checks
// the store: every acknowledged record there, every stored record
// indexed, searchable, and counted once in the rollups. It returns the
// number of records stored.
func (c *child) checkIntact(t *testing.T, key string, acked []string) int {
	t.Helper()
	var st map[string]any
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st = getJSON(t, c.base+"/api/v1/status", key)
		if st["index_lag"] == 0.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index did not catch up after the restart: %v", st)
		}
	}
	records := int(st["records"].(float64))
	if records < len(acked) || st["index_docs"] != st["records"] {
		t.Fatalf("after the restart: %v, %d acknowledged", st, len(acked))
	}
	for _, id := range acked {
		resp := authed(t, "GET", c.base+"/api/v1/records/"+id, key, "", nil)
		if resp == nil || resp.StatusCode != 200 {
			t.Fatalf("acknowledged %s lost", id)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if res := getJSON(t, c.base+"/api/v1/search?size=1", key); int(res["total"].(float64)) != records {
		t.Errorf("searchable %v, stored %d", res["total"], records)
	}
	if v := c.volume(t, key); v != records {
		t.Errorf("rollups count %d records, the store holds %d", v, records)
	}
	return records
}

// volume is the records the rollups count over the last two years.
func (c *child) volume(t *testing.T, key string) int {
	t.Helper()
	from, to := time.Now().AddDate(-2, 0, 0).Format(time.DateOnly), time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
	tr := getJSON(t, c.base+"/api/v1/trends?metric=volume&interval=month&from="+from+"&to="+to, key)
	series, _ := tr["series"].([]any)
	if len(series) != 1 {
		t.Fatalf("trend: %v", tr)
	}
	return int(series[0].(map[string]any)["total"].(map[string]any)["value"].(float64))
}

// TestCrashLosesNothingAcknowledged streams batches at the real program,
// kills it with SIGKILL mid-ingest, restarts it, and checks that every
// acknowledged record is stored, searchable once the index has caught up,
// and counted exactly once in the rollups.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program three times")
	}
	dir := t.TempDir()
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	g := demo.NewGenerator(tm, 5, time.Now())
	batch := func(n, from int) []byte {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for i := range n {
			r := g.Next()
			r.ID = fmt.Sprintf("crash-%07d", from+i)
			enc.Encode(&r)
		}
		return b.Bytes()
	}

	c := startChild(t, dir)
	if c.key == "" {
		t.Fatal("first start printed no admin key")
	}
	key := c.key
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Three streams at once, so the kill lands while batches are in flight.
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next := w * 1_000_000; ; next += 200 {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				body := batch(200, next)
				mu.Unlock()
				resp := authed(t, "POST", c.base+"/api/v1/records/batch", key, "application/x-ndjson", bytes.NewReader(body))
				if resp == nil {
					return // the process is gone
				}
				var rep struct {
					Accepted int `json:"accepted"`
				}
				err = json.NewDecoder(resp.Body).Decode(&rep)
				resp.Body.Close()
				if err != nil || resp.StatusCode/100 != 2 {
					return // killed mid-answer: not acknowledged
				}
				if rep.Accepted != 200 {
					t.Errorf("batch at %d: %+v", next, rep)
					return
				}
				mu.Lock()
				for i := range 200 {
					acked = append(acked, fmt.Sprintf("crash-%07d", next+i))
				}
				mu.Unlock()
			}
		}()
	}
	// Kill once a few batches are acknowledged, while others are in flight.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d records acknowledged in a minute", n)
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	want := append([]string(nil), acked...)
	mu.Unlock()

	c = startChild(t, dir)
	records := c.checkIntact(t, key, want)
	t.Logf("%d records acknowledged before SIGKILL, %d stored after the restart", len(want), records)
	// Re-sending what was acknowledged changes nothing.
	g = demo.NewGenerator(tm, 5, time.Now())
	resp := authed(t, "POST", c.base+"/api/v1/records/batch?wait=indexed", key, "application/x-ndjson", bytes.NewReader(batch(200, 0)))
	if resp == nil {
		t.Fatal("no answer")
	}
	resp.Body.Close()
	if v := c.volume(t, key); v != records {
		t.Errorf("after a re-send the rollups count %d, want %d", v, records)
	}
	if strings.Contains(c.errs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged after the restart:\n%s", c.errs.String())
	}
}

// TestDiskFull runs the program with files capped at 24 MB (RLIMIT_FSIZE:
// the store cannot grow, as on a full disk), posts batches until a write
// fails, and checks the failure is a clear 507 that loses nothing
// acknowledged before it, that reads still work, and that after a restart
// with room again the store is intact: every acknowledged record stored,
// searchable and counted once.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program twice")
	}
	dir := t.TempDir()
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	g := demo.NewGenerator(tm, 9, time.Now())
	c := startChild(t, dir, "DONGTING_TEST_FSIZE="+strconv.Itoa(24<<20))
	key := c.key
	var acked []string
	var failure map[string]any
	for n := 0; n < 400 && failure == nil; n++ {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		var ids []string
		for i := range 200 {
			r := g.Next()
			r.ID = fmt.Sprintf("full-%d-%d", n, i)
			if len(r.Turns) == 0 {
				r.Text += strings.Repeat("，楼道里的灯坏了很久没人修", 20) // larger records fill the disk sooner
			}
			ids = append(ids, r.ID)
			enc.Encode(&r)
		}
		resp := authed(t, "POST", c.base+"/api/v1/records/batch", key, "application/x-ndjson", &b)
		if resp == nil {
			t.Fatalf("no answer after %d acknowledged; stderr:\n%s", len(acked), c.errs.String())
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			if out["accepted"] != 200.0 {
				t.Fatalf("batch %d: %v", n, out)
			}
			acked = append(acked, ids...)
			continue
		}
		if resp.StatusCode != 507 {
			t.Fatalf("write on a full disk: %d %v\n%s", resp.StatusCode, out, c.errs.String())
		}
		failure = out
	}
	if failure == nil {
		t.Fatal("the store never filled up")
	}
	if e, _ := failure["error"].(map[string]any); e == nil || e["code"] != "storage_full" {
		t.Errorf("full disk answered %v", failure)
	}
	t.Logf("%d records acknowledged before the disk filled; then %v", len(acked), failure["error"])
	if resp := authed(t, "GET", c.base+"/api/v1/records/"+acked[0], key, "", nil); resp == nil || resp.StatusCode != 200 {
		t.Errorf("reads stopped working on a full disk")
	} else {
		resp.Body.Close()
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()

	c = startChild(t, dir) // room again
	c.checkIntact(t, key, acked)
}

// TestCorruptIndexIsRebuilt stops the program, flips bits in the segments
// of its search index (which Bleve would open, answer 500s from and then
// panic on at every start) and restarts it: it serves at once, the index
// is found corrupt by its checksums, moved aside and rebuilt from the
// store, every record is searchable again, and the next start is clean.
func TestCorruptIndexIsRebuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program three times")
	}
	dir := t.TempDir()
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	g := demo.NewGenerator(tm, 12, time.Now())
	c := startChild(t, dir)
	key := c.key
	var acked []string
	for n := range 4 {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for i := range 500 {
			r := g.Next()
			r.ID = fmt.Sprintf("flip-%d-%d", n, i)
			acked = append(acked, r.ID)
			enc.Encode(&r)
		}
		resp := authed(t, "POST", c.base+"/api/v1/records/batch?wait=indexed", key, "application/x-ndjson", &b)
		if resp == nil || resp.StatusCode != 200 {
			t.Fatalf("batch %d: %v", n, resp)
		}
		resp.Body.Close()
	}
	c.stop(t)

	files, _ := filepath.Glob(filepath.Join(dir, "search.bleve", "shard-*", "store", "*.zap"))
	if len(files) == 0 {
		t.Fatal("no segment files")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for off := len(b) / 5; off < len(b)-64; off += 5000 {
			b[off] ^= 0x10
		}
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	c = startChild(t, dir)
	c.waitReady(t)
	c.checkIntact(t, key, acked)
	if !strings.Contains(c.errs.String(), "search index is corrupt: moved aside, rebuilding it from the store") {
		t.Errorf("no log line of the corruption:\n%s", c.errs.String())
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, "search.bleve.corrupt-*")); len(aside) != 1 {
		t.Errorf("corrupt copies kept: %v", aside)
	}
	c.stop(t)

	c = startChild(t, dir) // no crash loop: the next start is a plain one
	c.waitReady(t)
	c.checkIntact(t, key, acked)
	if strings.Contains(c.errs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged at the start after the rebuild:\n%s", c.errs.String())
	}
}

// stop ends the program as an operator would (SIGTERM) and waits for it.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("stopping: %v\n%s", err, c.errs.String())
	}
}

// waitReady polls /readyz until it answers 200; while the index is
// rebuilt it must say rebuilding.
func (c *child) waitReady(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(c.base + "/readyz")
		if err != nil {
			t.Fatalf("readyz: %v\n%s", err, c.errs.String())
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			return
		}
		if out["status"] != "rebuilding" {
			t.Fatalf("readyz %d %v", resp.StatusCode, out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still rebuilding: %v", out)
		}
	}
}
