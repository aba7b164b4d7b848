package analyzer_test

import (
	"context"
	"slices"
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

// A trial segmenter cuts as its segmenter will once the words are added,
// and leaves that segmenter as it is.
func TestTrial(t *testing.T) {
	ctx := t.Context()
	seg, err := analyzer.NewSegmenter(analyzertest.DictDir(t), []string{"电梯"})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	texts := []string{
		"维修收费太离谱，换个水龙头收了两百", "真是太离谱了", "报修之后师傅来了看一眼就走了，说没配件",
		"电梯运行的时候异响很大，大家都不敢坐。", "我都不敢坐电梯了", "不敢坐也没办法",
	}
	words := []string{"太离谱", " 没配件 ", "不敢坐", "电梯", "两个 词"}
	if got := seg.Additions(words); strings.Join(got, "|") != "太离谱|没配件|不敢坐" {
		t.Fatalf("additions %q", got)
	}
	before := make([][]string, len(texts))
	for i, s := range texts {
		before[i] = seg.Cut(s)
	}
	tr, release, err := seg.Trial(ctx, words)
	if err != nil {
		t.Fatal(err)
	}
	tried := make([][]string, len(texts))
	for i, s := range texts {
		tried[i] = tr.Cut(s)
		if got := seg.Cut(s); !slices.Equal(got, before[i]) {
			t.Errorf("the trial changed the segmenter's cut of %s: %q → %q", s, before[i], got)
		}
	}
	if !slices.Contains(tried[0], "太离谱") || !slices.Contains(tried[2], "没配件") || !slices.Contains(tried[4], "不敢坐") {
		t.Errorf("trial cuts %q", tried)
	}
	// Only one trial at a time: another waits, or gives up with its ctx.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := seg.Trial(done, []string{"配件"}); err == nil {
		t.Error("a second trial did not wait")
	}
	release()
	release() // twice is harmless

	// Nothing to add: the segmenter itself.
	if same, rel, err := seg.Trial(ctx, []string{"电梯"}); err != nil || same != seg {
		t.Errorf("trial of known words: %v", err)
	} else {
		rel()
	}
	// More words: the kept trial, the new ones added.
	more, rel, err := seg.Trial(ctx, append(words, "收了两百"))
	if err != nil {
		t.Fatal(err)
	}
	if more != tr || !slices.Contains(more.Cut(texts[0]), "收了两百") {
		t.Errorf("the kept trial was not reused: %q", more.Cut(texts[0]))
	}
	rel()
	// Fewer words: a new trial without the others.
	fewer, rel, err := seg.Trial(ctx, []string{"没配件"})
	if err != nil {
		t.Fatal(err)
	}
	if fewer == tr || slices.Contains(fewer.Cut(texts[0]), "太离谱") {
		t.Errorf("a trial kept words it was not given: %q", fewer.Cut(texts[0]))
	}
	rel()

	// The trial's cut is the segmenter's after AddWords.
	seg.AddWords(words...)
	for i, s := range texts {
		if got := seg.Cut(s); !slices.Equal(got, tried[i]) {
			t.Errorf("%s: trial %q, after AddWords %q", s, tried[i], got)
		}
	}
}
