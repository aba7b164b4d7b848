// Package analyzertest gives tests a real analyzer on the embedded data,
// sharing one gojieba instance per test binary (it costs ~130 MB and ~1 s).
package analyzertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"dongting/analyzer"
	"dongting/data"
)

// DictDir finds gojieba's dictionary directory: DONGTING_JIEBA_DICT, or the
// module's directory as the go command reports it.
func DictDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("DONGTING_JIEBA_DICT"); d != "" {
		return d
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yanyiwu/gojieba").Output()
	if err != nil {
		tb.Fatalf("analyzertest: locating gojieba (set DONGTING_JIEBA_DICT): %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "deps", "cppjieba", "dict")
}

var (
	once sync.Once
	seg  *analyzer.Segmenter
	res  map[string]*analyzer.Resources
	err  error
)

// Segmenter returns the shared segmenter, loaded with the property
// taxonomy's words.
func Segmenter(tb testing.TB) *analyzer.Segmenter {
	tb.Helper()
	once.Do(func() {
		var r *analyzer.Resources
		r, err = analyzer.LoadResources(data.FS(), "property")
		if err != nil {
			return
		}
		res = map[string]*analyzer.Resources{"property": r}
		seg, err = analyzer.NewSegmenter(DictDir(tb), r.SegmenterWords())
	})
	if err != nil {
		tb.Fatal(err)
	}
	return seg
}

// New returns an analyzer for the named embedded taxonomy.
func New(tb testing.TB, taxonomy string) *analyzer.Analyzer {
	tb.Helper()
	s := Segmenter(tb)
	r, err := analyzer.LoadResources(data.FS(), taxonomy)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := analyzer.New(s, r)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
