package api_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dongting/api"
	"dongting/index"
	"dongting/index/indextest"
)

// A tampered cursor is a 400 naming the cursor, whatever it holds.
func TestSearchRefusesATamperedCursor(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	indextest.Ingest(t, s.corpus, indextest.Demo(t, 2, time.Now(), 20))
	for _, c := range []string{`{"s":"relevance","a":["x"]}`, `{"s":"relevance","a":["1","a","b","c"]}`, `{"s":"newest","a":["x","y"]}`, `{"s":"relevance","a":[]}`} {
		cur := base64.RawURLEncoding.EncodeToString([]byte(c))
		code, out := do(t, "GET", s.URL+"/api/v1/search?q=%E7%89%A9%E4%B8%9A&cursor="+cur, "", nil)
		if ec, field := errOf(out); code != 400 || ec != "bad_parameter" || field != "cursor" {
			t.Errorf("cursor %s: %d %v", c, code, out)
		}
	}
	if code, _ := do(t, "GET", s.URL+"/healthz", "", nil); code != 200 {
		t.Fatalf("healthz %d", code)
	}
}

// A panic in a goroutine that searches a shard is a 500 with an ERROR log
// line, and the server lives on. Forced for real: the index's segment
// files are overwritten while the server has them mapped, so Bleve reads
// garbage offsets and panics on the shards' goroutines (as a bit flip on
// disk did), not on the handler's. The failure has the segments checked:
// the index is found corrupt and rebuilt while the server answers.
func TestPanicInASearchGoroutineIs500(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	res := indextest.Ingest(t, s.corpus, indextest.Demo(t, 4, time.Now(), 200))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.corpus.WaitIndexed(ctx, res[len(res)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.corpus.WaitSettled(ctx); err != nil { // segments persisted, merges done
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(index.SearchDir(s.dir), "shard-*", "store", "*.zap"))
	if len(files) == 0 {
		t.Fatal("no segment files")
	}
	for _, name := range files {
		garble(t, name)
	}
	code, out := do(t, "GET", s.URL+"/api/v1/search?sort=newest", "", nil)
	if ec, _ := errOf(out); code != 500 || ec != "internal" {
		t.Fatalf("search of a garbled index: %d %v", code, out)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, `"level":"ERROR","msg":"panic recovered"`) || !strings.Contains(logs, `"where":"search of shard`) {
		t.Errorf("no ERROR line for the panic:\n%s", logs)
	}
	for _, r := range res[:20] {
		if st, _ := s.corpus.Get(r.ID); st != nil && len(st.Text()) > 4 && strings.Contains(logs, st.Text()[:6]) {
			t.Errorf("the log quotes record %s", r.ID)
		}
	}
	// Alive: other routes answer.
	if code, _ := do(t, "GET", s.URL+"/healthz", "", nil); code != 200 {
		t.Errorf("healthz %d after the panic", code)
	}
	if code, out := do(t, "GET", s.URL+"/api/v1/records/"+res[0].ID, "", nil); code != 200 {
		t.Errorf("record fetch %d %v after the panic", code, out)
	}

	// The failed search had the segments checked: found corrupt, the
	// index is moved aside and rebuilt from the store while serving.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		code, out := do(t, "GET", s.URL+"/api/v1/search?sort=newest&size=1", "", nil)
		if _, partial := out["partial"]; code == 200 && !partial && out["total"] == float64(len(res)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not rebuilt: %d %v\n%s", code, out, s.logs.String())
		}
	}
	if code, out := do(t, "GET", s.URL+"/readyz", "", nil); code != 200 {
		t.Errorf("readyz after the rebuild: %d %v", code, out)
	}
	if !strings.Contains(s.logs.String(), "search index found corrupt while serving") {
		t.Errorf("no log line of the corruption")
	}
	if aside, _ := filepath.Glob(filepath.Join(s.dir, "search.bleve.corrupt-*")); len(aside) != 1 {
		t.Errorf("corrupt copies kept: %v", aside)
	}
}

// garble overwrites a file's bytes in place (never truncating it: the
// server maps it, and a mapping past the end of a file is a SIGBUS),
// keeping Bleve's footer so the segment still looks like one.
func garble(t *testing.T, name string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, st.Size()-64)
	for i := range junk {
		junk[i] = 0xff
	}
	if _, err := f.WriteAt(junk, 0); err != nil {
		t.Fatal(err)
	}
}
