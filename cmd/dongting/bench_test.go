package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dongting/index"
	"dongting/index/fulltext"
)

// The benchmark's rebuild drops the index a load built and rebuilds every
// stored record into a new one, and reports what it cost.
func TestBenchRebuild(t *testing.T) {
	dir := t.TempDir()
	recs, _, err := run(t, "", "demo", "-n", "300")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "demo.jsonl")
	if err := os.WriteFile(file, []byte(recs), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := run(t, "", "ingest", "-q", "-dir", dir, file); err != nil || !strings.Contains(out, "ingested 300 records") {
		t.Fatalf("ingest: %v\n%s\n%s", err, out, errOut)
	}
	// A file the old index holds: gone once the index is rebuilt.
	old := filepath.Join(index.SearchDir(dir), "left-by-the-load")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	m := testMain(t, strings.NewReader(""), io.Discard, io.Discard)
	fset := m.newFlagSet("bench")
	c := m.commonFlags(fset)
	if err := fset.Parse(nil); err != nil {
		t.Fatal(err)
	}
	var res benchResult
	if err := m.benchRebuild(context.Background(), c, dir, &res); err != nil {
		t.Fatal(err)
	}
	if res.RebuildN != 300 || res.RebuildPerSec <= 0 || res.RebuildCPUMicros <= 0 {
		t.Errorf("rebuild: %+v, want 300 records with their rate and CPU", res)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old index is still there: %v", err)
	}

	corpus, _, err := m.openCorpus(c, &storeFlags{dir: dir, tz: index.DefaultZone}, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer corpus.Close()
	st, err := corpus.Status()
	if err != nil || st.IndexDocs != 300 || st.Indexed != st.LastSeq {
		t.Errorf("after the rebuild: %+v %v, want all 300 records indexed", st, err)
	}
	found, err := corpus.Search(context.Background(), &fulltext.Query{Q: "物业", Size: 1})
	if err != nil || found.Total == 0 {
		t.Errorf("search 物业 after the rebuild: %+v %v", found, err)
	}
}
