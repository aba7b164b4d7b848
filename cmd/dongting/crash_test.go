package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dongting/analyzer/analyzertest"
	"dongting/data"
	"dongting/index/demo"
)

// TestMain lets the test binary stand in for the dongting binary: with
// DONGTING_RUN_MAIN=1 it runs main() on its arguments, so the crash test
// can start, SIGKILL and restart the real program as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("DONGTING_RUN_MAIN") == "1" {
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
	errs *syncBuffer
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	// -demo 0 keeps the store as it is; "admin key:" is printed on first start.
	cmd := exec.Command(os.Args[0], "serve", "-addr", "127.0.0.1:0", "-dir", dir, "-key-rate", "100000", "-key-burst", "100000")
	cmd.Env = append(os.Environ(), "DONGTING_RUN_MAIN=1", "DONGTING_JIEBA_DICT="+analyzertest.DictDir(t))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, errs: &syncBuffer{}}
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
	var st map[string]any
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st = getJSON(t, c.base+"/api/v1/status", key)
		if st["index_lag"] == 0.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index did not catch up: %v", st)
		}
	}
	records := int(st["records"].(float64))
	t.Logf("%d records acknowledged before SIGKILL, %d stored after the restart", len(want), records)
	if records < len(want) || st["index_docs"] != st["records"] {
		t.Fatalf("after the crash: %v, %d acknowledged", st, len(want))
	}
	for _, id := range want {
		resp := authed(t, "GET", c.base+"/api/v1/records/"+id, key, "", nil)
		if resp == nil {
			t.Fatal("no answer")
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledged %s lost: %d", id, resp.StatusCode)
		}
	}
	if res := getJSON(t, c.base+"/api/v1/search?size=1", key); int(res["total"].(float64)) != records {
		t.Errorf("searchable %v, stored %d", res["total"], records)
	}
	volume := func() int {
		from, to := time.Now().AddDate(-2, 0, 0).Format(time.DateOnly), time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
		tr := getJSON(t, c.base+"/api/v1/trends?metric=volume&interval=month&from="+from+"&to="+to, key)
		series, _ := tr["series"].([]any)
		if len(series) != 1 {
			t.Fatalf("trend: %v", tr)
		}
		return int(series[0].(map[string]any)["total"].(map[string]any)["value"].(float64))
	}
	if v := volume(); v != records {
		t.Errorf("rollups count %d records, the store holds %d", v, records)
	}
	// Re-sending what was acknowledged changes nothing.
	g = demo.NewGenerator(tm, 5, time.Now())
	resp := authed(t, "POST", c.base+"/api/v1/records/batch?wait=indexed", key, "application/x-ndjson", bytes.NewReader(batch(200, 0)))
	if resp == nil {
		t.Fatal("no answer")
	}
	resp.Body.Close()
	if v := volume(); v != records {
		t.Errorf("after a re-send the rollups count %d, want %d", v, records)
	}
	if strings.Contains(c.errs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged after the restart:\n%s", c.errs.String())
	}
}
