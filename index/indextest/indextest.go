// Package indextest opens real corpora for tests: the property taxonomy,
// the real segmenter, bbolt and Bleve in a test's directory.
package indextest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/analyzer/demo"
	"dongting/data"
	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/store"
)

// Demo generates n demo records (the embedded templates) from seed, over
// the year that ends at end.
func Demo(tb testing.TB, seed uint64, end time.Time, n int) []analyzer.Record {
	tb.Helper()
	tm, err := demo.Load(data.FS())
	if err != nil {
		tb.Fatal(err)
	}
	g := demo.NewGenerator(tm, seed, end)
	out := make([]analyzer.Record, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// DemoEnd is the fixed end of LongRecords' year: the generator's texts
// follow the end's season, and what tests expect of them (a retraining's
// figures, say) must not change with the day they run on.
var DemoEnd = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)

// LongRecords are n complaints of one to four demo texts each (ids
// prefix-0000 …), long enough for the scene and red-line models to decide,
// so that rules and models can disagree.
func LongRecords(tb testing.TB, prefix string, n int) []analyzer.Record {
	tb.Helper()
	src := Demo(tb, 7, DemoEnd, 8*n)
	var texts []string
	for _, r := range src {
		if r.Text != "" && len(r.Turns) == 0 {
			texts = append(texts, r.Text)
		}
	}
	out := make([]analyzer.Record, n)
	for i := range out {
		out[i] = src[i]
		out[i].ID, out[i].Kind, out[i].Turns = fmt.Sprintf("%s-%04d", prefix, i), "complaint", nil
		out[i].Text = strings.Join(texts[(i*3)%len(texts):min((i*3)%len(texts)+1+i%4, len(texts))], "")
	}
	return out
}

// Open opens a corpus in opt.Dir (Analyzer is filled in when nil).
func Open(tb testing.TB, opt index.Options) *index.Corpus {
	tb.Helper()
	if opt.Analyzer == nil {
		opt.Analyzer = analyzertest.New(tb, "property")
	}
	if err := fulltext.Register(analyzertest.Segmenter(tb)); err != nil {
		tb.Fatal(err)
	}
	c, err := index.Open(opt)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Ingest stores records and fails the test on any error.
func Ingest(tb testing.TB, c *index.Corpus, recs []analyzer.Record) []index.Result {
	tb.Helper()
	ps := make([]*analyzer.Record, len(recs))
	for i := range recs {
		ps[i] = &recs[i]
	}
	res, err := c.Ingest(context.Background(), ps)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			tb.Fatalf("%s: %v", r.ID, r.Err)
		}
	}
	return res
}

// DB opens (or creates) a store file at path as the corpus does, for the
// packages that keep their buckets in it, and closes it when the test ends
// (the test may close it first).
func DB(tb testing.TB, path string) *store.Store {
	tb.Helper()
	s, err := store.Open(path, false)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
