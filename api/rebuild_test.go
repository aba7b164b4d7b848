package api_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"dongting/api"
	"dongting/index"
	"dongting/index/indextest"
)

// While the search index is rebuilt from the store, /readyz is 503
// "rebuilding" with its progress and searches say they are partial; once
// it is done, ready and whole.
func TestReadyzAndSearchDuringARebuild(t *testing.T) {
	dir := t.TempDir()
	c := indextest.Open(t, index.Options{Dir: dir})
	res := indextest.Ingest(t, c, indextest.Demo(t, 8, time.Now(), 600))
	if err := c.WaitIndexed(t.Context(), res[len(res)-1].Seq); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := os.RemoveAll(index.SearchDir(dir)); err != nil { // as after a restore
		t.Fatal(err)
	}
	hold, first := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s := startServerWith(t, api.Limits{}, false, index.Options{Dir: dir, BatchSize: 100,
		OnIndexed: func(int, time.Duration) { once.Do(func() { close(first); <-hold }) }})
	released := false
	defer func() {
		if !released {
			close(hold)
		}
	}()
	<-first
	code, out := do(t, "GET", s.URL+"/readyz", "", nil)
	if code != 503 || out["status"] != "rebuilding" || out["reason"] != "missing" || out["records"] != 600.0 || out["indexed"].(float64) >= 600 {
		t.Errorf("readyz during the rebuild: %d %v", code, out)
	}
	code, out = do(t, "GET", s.URL+"/api/v1/search?size=1", "", nil)
	if code != 200 || out["partial"] != true || out["records"] != 600.0 || out["total"].(float64) >= 600 {
		t.Errorf("search during the rebuild: %d %v", code, out)
	}
	close(hold)
	released = true
	if err := s.corpus.WaitIndexed(t.Context(), s.corpus.Store().LastSeq()); err != nil {
		t.Fatal(err)
	}
	if code, out := do(t, "GET", s.URL+"/readyz", "", nil); code != 200 || out["status"] != "ready" {
		t.Errorf("readyz after the rebuild: %d %v", code, out)
	}
	code, out = do(t, "GET", s.URL+"/api/v1/search?size=1", "", nil)
	if _, partial := out["partial"]; code != 200 || partial || out["total"] != 600.0 {
		t.Errorf("search after the rebuild: %d %v", code, out)
	}
}
