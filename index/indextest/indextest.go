// Package indextest opens real corpora for tests: the property taxonomy,
// the real segmenter, bbolt and Bleve in a test's directory.
package indextest

import (
	"context"
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
