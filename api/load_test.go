package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"dongting/analyzer/demo"
	"dongting/api"
	"dongting/api/access"
	"dongting/data"
)

// TestLoad runs concurrent ingest (batches of 100) and searches and trend
// reads against the real server on loopback for a bounded time (5 s;
// DONGTING_LOAD_SECONDS for longer). It fails on any error answer, on a
// heap that keeps growing, and on goroutines left behind after shutdown;
// the throughput and latency percentiles are logged (go test -v), not
// asserted.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	secs := 5
	if v, err := strconv.Atoi(os.Getenv("DONGTING_LOAD_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	before := runtime.NumGoroutine()
	// Keys as in production: an ingest key and an analyst key, with room in
	// their rate limits for the test's pace.
	ls := startServer(t, api.Limits{KeyRate: 10_000, KeyBurst: 10_000}, true)
	srv := ls.Server
	_, ingestKey, _ := ls.keys.Create("load-ingest", access.Ingest, "", "test")
	_, readKey, _ := ls.keys.Create("load-read", access.Analyst, "", "test")
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}

	type sample struct {
		kind string
		d    time.Duration
	}
	var mu sync.Mutex
	var samples []sample
	var failures []string
	record := func(kind string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if len(failures) < 5 {
				failures = append(failures, kind+": "+err.Error())
			}
			return
		}
		samples = append(samples, sample{kind, d})
	}
	client := &http.Client{Timeout: 30 * time.Second}
	call := func(kind, method, u, ctype string, body []byte) {
		start := time.Now()
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		if kind == "ingest" {
			req.Header.Set("Authorization", "Bearer "+ingestKey)
		} else {
			req.Header.Set("Authorization", "Bearer "+readKey)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		record(kind, time.Since(start), err)
	}
	end := time.Now().Add(time.Duration(secs) * time.Second)
	var wg sync.WaitGroup
	var heap []uint64
	for w := range 2 { // ingest
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := demo.NewGenerator(tm, uint64(w+1), time.Now())
			for n := 0; time.Now().Before(end); n++ {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				for i := range 100 {
					r := g.Next()
					r.ID = fmt.Sprintf("load-%d-%d-%d", w, n, i)
					enc.Encode(&r)
				}
				call("ingest", "POST", srv.URL+"/api/v1/records/batch", "application/x-ndjson", b.Bytes())
			}
		}()
	}
	words := []string{"电梯", "物业费", "停车", "漏水", "噪音", "保安", "垃圾", "维修"}
	for w := range 2 { // read
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(end); n++ {
				if n%2 == 0 {
					call("search", "GET", srv.URL+"/api/v1/search?facets=scene,channel&q="+url.QueryEscape(words[(n+w)%len(words)]), "", nil)
				} else {
					call("trend", "GET", srv.URL+"/api/v1/trends?metric=negative_rate&interval=week&group_by=scene", "", nil)
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // heap after GC, once a second
		defer wg.Done()
		for time.Now().Before(end) {
			time.Sleep(time.Second)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			heap = append(heap, ms.HeapInuse>>20)
			mu.Unlock()
		}
	}()
	wg.Wait()
	ls.close()
	client.CloseIdleConnections()

	if len(failures) > 0 {
		t.Fatalf("errors under load: %v", failures)
	}
	by := map[string][]time.Duration{}
	for _, s := range samples {
		by[s.kind] = append(by[s.kind], s.d)
	}
	for _, kind := range []string{"ingest", "search", "trend"} {
		d := by[kind]
		if len(d) == 0 {
			t.Fatalf("no %s request completed", kind)
		}
		slices.Sort(d)
		per := float64(len(d)) / float64(secs)
		if kind == "ingest" {
			per *= 100
		}
		t.Logf("%-6s %6d requests, %8.0f %s/s, p50 %v, p99 %v", kind, len(d), per, map[bool]string{true: "records", false: "req"}[kind == "ingest"],
			d[len(d)/2].Round(time.Millisecond), d[len(d)*99/100].Round(time.Millisecond))
	}
	t.Logf("heap in use after GC, MB, each second: %v", heap)
	// Bounded memory: the last half of the run may not hold more than twice
	// the first half (the corpus grows; what must not grow is a leak).
	if n := len(heap); n >= 4 && heap[n-1] > 2*heap[n/2]+64 {
		t.Errorf("heap keeps growing: %v MB", heap)
	}
	// No goroutine left behind once the server, engine and corpus closed.
	var after int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before+2 {
			return
		}
	}
	buf := make([]byte, 1<<16)
	t.Errorf("goroutines: %d before, %d after shutdown\n%s", before, after, buf[:runtime.Stack(buf, true)])
}
