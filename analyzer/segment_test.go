package analyzer_test

import (
	"strings"
	"sync"
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
)

func TestCheckDictDir(t *testing.T) {
	if err := analyzer.CheckDictDir(""); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Errorf("empty: %v", err)
	}
	if err := analyzer.CheckDictDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "lacks jieba.dict.utf8, hmm_model.utf8") {
		t.Errorf("empty dir: %v", err)
	}
	if err := analyzer.CheckDictDir(analyzertest.DictDir(t)); err != nil {
		t.Error(err)
	}
}

// AddWords mutates gojieba's maps; it must be safe while other goroutines
// cut (run with -race to see the lock at work).
func TestAddWordsWhileCutting(t *testing.T) {
	seg := analyzertest.Segmenter(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				seg.Cut("业主反映小区的蓝鲸云梯经常停运")
			}
		}()
	}
	seg.AddWords("蓝鲸云梯")
	wg.Wait()
	got := strings.Join(seg.Cut("蓝鲸云梯经常停运"), "|")
	if !strings.HasPrefix(got, "蓝鲸云梯|") {
		t.Errorf("added word not used: %s", got)
	}
}
