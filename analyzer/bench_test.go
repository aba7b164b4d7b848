package analyzer_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"testing"

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

// BenchmarkThroughput reports full analysis and raw gojieba Cut(hmm) on the
// same texts in the same process, and their ratio (target ≥ 0.5).
func BenchmarkThroughput(b *testing.B) {
	texts, size := benchTexts(b)
	a := analyzertest.New(b, "property")
	dict := analyzertest.DictDir(b)
	raw := gojieba.NewJieba(dict+"/jieba.dict.utf8", dict+"/hmm_model.utf8", dict+"/user.dict.utf8", dict+"/idf.utf8", dict+"/stop_words.utf8")
	defer raw.Free()
	var cutMBs, fullMBs float64
	b.Run("raw-cut", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			for _, s := range texts {
				raw.Cut(s, true)
			}
		}
		cutMBs = float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
		b.ReportMetric(float64(len(texts))*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	})
	b.Run("analyze", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			for _, s := range texts {
				if _, err := a.Analyze(&analyzer.Record{Text: s}); err != nil {
					b.Fatal(err)
				}
			}
		}
		fullMBs = float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
		b.ReportMetric(float64(len(texts))*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	})
	if cutMBs > 0 && fullMBs > 0 {
		fmt.Printf("raw Cut %.2f MB/s, full analysis %.2f MB/s, ratio %.2f (target ≥ 0.50)\n", cutMBs, fullMBs, fullMBs/cutMBs)
	}
}
