package analyzer_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"

	"github.com/yanyiwu/gojieba"
)

// benchTexts reads real reviews from the shared datasets (by path, never
// copied). The benchmark is skipped when they are not beside the repo.
func benchTexts(b *testing.B) ([]string, int) {
	f, err := os.Open("../../shared/datasets/sentiment/waimai_10k.csv")
	if err != nil {
		b.Skip("../shared/datasets not found:", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	size := 0
	for _, r := range rows[1:] {
		if len(r) == 2 && r[1] != "" {
			texts = append(texts, r[1])
			size += len(r[1])
		}
	}
	return texts, size
}

// BenchmarkThroughput runs raw gojieba Cut(hmm) and full analysis over the
// same texts in alternating chunks of 500, so the machine's noise falls on
// both alike, and reports each one's MB/s and their ratio (target ≥ 0.5).
func BenchmarkThroughput(b *testing.B) {
	texts, size := benchTexts(b)
	a := analyzertest.New(b, "property")
	if os.Getenv("NOMODEL") != "" { // rules and lexicon alone: what the models cost
		a = a.WithModels(nil)
	}
	dict := analyzertest.DictDir(b)
	raw := gojieba.NewJieba(dict+"/jieba.dict.utf8", dict+"/hmm_model.utf8", dict+"/user.dict.utf8", dict+"/idf.utf8", dict+"/stop_words.utf8")
	defer raw.Free()
	var cut, full time.Duration
	b.ResetTimer()
	for b.Loop() {
		for lo := 0; lo < len(texts); lo += 500 {
			chunk := texts[lo:min(lo+500, len(texts))]
			t0 := time.Now()
			for _, s := range chunk {
				raw.Cut(s, true)
			}
			t1 := time.Now()
			for _, s := range chunk {
				if _, err := a.Analyze(&analyzer.Record{Text: s}); err != nil {
					b.Fatal(err)
				}
			}
			cut += t1.Sub(t0)
			full += time.Since(t1)
		}
	}
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/cut.Seconds(), "cut-MB/s")
	b.ReportMetric(mb/full.Seconds(), "analyze-MB/s")
	b.ReportMetric(float64(len(texts)*b.N)/full.Seconds(), "analyze-docs/s")
	b.ReportMetric(cut.Seconds()/full.Seconds(), "ratio")
	fmt.Printf("raw Cut %.2f MB/s, full analysis %.2f MB/s, ratio %.2f (target ≥ 0.50)\n", mb/cut.Seconds(), mb/full.Seconds(), cut.Seconds()/full.Seconds())
}
