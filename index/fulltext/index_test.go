package fulltext

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/analyzer/demo"
	"dongting/data"
	"dongting/index/store"
	"dongting/index/work"
)

// testIndex is an index in a temporary directory with the property
// taxonomy, and the analyzer its entries are made with.
type testIndex struct {
	*Index
	an  *analyzer.Analyzer
	seq uint64
}

func openTest(t *testing.T) *testIndex {
	t.Helper()
	if err := Register(analyzertest.Segmenter(t)); err != nil {
		t.Fatal(err)
	}
	an := analyzertest.New(t, "property")
	ix, err := Open(filepath.Join(t.TempDir(), "search.bleve"), an.Taxonomy, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return &testIndex{Index: ix, an: an}
}

// add analyzes records and applies them as one batch, as the indexer does.
func (x *testIndex) add(t *testing.T, recs []analyzer.Record) {
	t.Helper()
	entries := make([]*store.Stored, len(recs))
	for i := range recs {
		a, err := x.an.Analyze(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		x.seq++
		entries[i] = &store.Stored{Seq: x.seq, Record: recs[i], Analysis: a, IngestedAt: time.Now()}
	}
	if err := x.Apply(entries, x.seq); err != nil {
		t.Fatal(err)
	}
}

func (x *testIndex) find(t *testing.T, q Query) *Found {
	t.Helper()
	f, err := x.Find(context.Background(), &q)
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	return f
}

// settle waits until Bleve has merged what it means to.
func (x *testIndex) settle(t *testing.T) {
	t.Helper()
	for quiet := 0; quiet < 3; {
		time.Sleep(300 * time.Millisecond)
		busy, err := x.Busy()
		if err != nil {
			t.Fatal(err)
		}
		if busy {
			quiet = 0
		} else {
			quiet++
		}
	}
}

func demoRecords(t *testing.T, n int) []analyzer.Record {
	t.Helper()
	tm, err := demo.Load(data.FS())
	if err != nil {
		t.Fatal(err)
	}
	g := demo.NewGenerator(tm, 11, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	out := make([]analyzer.Record, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// facetValueEntries reports the facet terms caches' entries, how many of
// them belong to segments no shard holds any more, and the live segments.
func (s *Index) facetValueEntries(t *testing.T) (entries, gone, segments int) {
	t.Helper()
	live := map[segment.Segment]bool{}
	for _, sh := range s.shards {
		adv, err := sh.Advanced()
		if err != nil {
			t.Fatal(err)
		}
		r, err := adv.Reader()
		if err != nil {
			t.Fatal(err)
		}
		for _, sg := range r.(*scorch.IndexSnapshot).Segments() {
			live[sg.Segment()] = true
		}
		r.Close()
	}
	for i := range s.values {
		v := &s.values[i]
		v.mu.Lock()
		for k := range v.m {
			if !live[k.seg] {
				gone++
			}
		}
		entries += len(v.m)
		v.mu.Unlock()
	}
	return entries, gone, len(live)
}

// Facets remember each segment's terms; once the cache outgrows its bound
// it forgets the segments merged away.
func TestFacetTermsOfMergedSegmentsAreForgotten(t *testing.T) {
	recs := demoRecords(t, 4800)
	x := openTest(t)
	for i := range x.values { // a shard's live segment and its two fields
		x.values[i].max = 2
	}
	facets := Query{Facets: []string{"scene", "channel"}, Size: 1}
	// Each batch makes a segment or two that a search caches; Bleve merges
	// them in the background, when it will. Go on until some cached
	// segment has been merged away (on a fast machine merges can keep
	// pace with the batches for a while).
	stored, gone := 0, 0
	for lo := 0; lo < len(recs) && gone == 0; lo += 100 {
		x.add(t, recs[lo:lo+100])
		stored += 100
		x.find(t, facets)
		if (lo/100)%12 == 11 {
			x.settle(t)
			_, gone, _ = x.facetValueEntries(t)
		}
	}
	if gone == 0 {
		t.Fatalf("no cached segment was merged away in %d records: the test needs some", stored)
	}
	if f := x.find(t, facets); f.Total != uint64(stored) {
		t.Fatalf("total %d", f.Total)
	}
	// Each shard forgets only its own segments: every live segment of
	// both shards keeps its two fields' terms.
	if entries, gone, segs := x.facetValueEntries(t); gone != 0 || entries != 2*segs {
		t.Errorf("after a search: %d entries, %d of merged segments, %d live segments; want 2 entries a live segment", entries, gone, segs)
	}
}

// A panic in a goroutine that does a request's work is recovered there
// and returned as a *PanicError: the process lives on. Forced with the
// request that panicked in Bleve's collector (a cursor of one value for
// two sort keys), sent past the checks.
func TestPanicInAShardSearchIsAnError(t *testing.T) {
	x := openTest(t)
	x.add(t, demoRecords(t, 50))
	req := bleve.NewSearchRequest(bleve.NewMatchAllQuery())
	req.SortBy([]string{"-_score", "_id"})
	req.SearchAfter = []string{"x"}
	for _, facets := range [][]string{nil, {"scene"}} {
		_, _, err := x.search(context.Background(), req, facets)
		var pe *work.PanicError
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Where, "search of shard") || !strings.Contains(pe.Reason, "index out of range") || len(pe.Stack) == 0 {
			t.Fatalf("facets %v: %v (%#v)", facets, err, pe)
		}
	}
	// The index still answers.
	if f := x.find(t, Query{Size: 100}); f.Total != 50 {
		t.Errorf("after the panic: %d records", f.Total)
	}
}

// queryTypes lists the Bleve query types a query string becomes.
func (s *Index) queryTypes(q string) ([]string, error) {
	top, _, err := s.textQuery(q)
	if err != nil {
		return nil, err
	}
	var out []string
	var walk func(q query.Query)
	walk = func(q query.Query) {
		out = append(out, fmt.Sprintf("%T", q))
		switch x := q.(type) {
		case *query.ConjunctionQuery:
			for _, k := range x.Conjuncts {
				walk(k)
			}
		case *query.DisjunctionQuery:
			for _, k := range x.Disjuncts {
				walk(k)
			}
		case *query.BooleanQuery:
			for _, k := range []query.Query{x.Must, x.Should, x.MustNot} {
				if k != nil {
					walk(k)
				}
			}
		}
	}
	walk(top)
	return out, nil
}

// The rule language has no wildcards, prefixes, fuzziness or regular
// expressions: such characters are not operators, and nothing fans out
// over the dictionary.
func TestQueriesDoNotFanOut(t *testing.T) {
	x := openTest(t)
	for _, q := range []string{"电*", "物业* | 电梯? | 漏水~2 | /电.*/", strings.Repeat("*", 40) + "电梯", "电梯~~~~ *物* ?业?"} {
		types, err := x.queryTypes(q)
		if err != nil {
			var qe *analyzer.Error
			if !errors.As(err, &qe) || qe.Field != "q" {
				t.Errorf("%q: %v", q, err)
			}
			continue
		}
		for _, ty := range types {
			if !slices.Contains([]string{"*query.TermQuery", "*fulltext.phraseQuery", "*query.DisjunctionQuery", "*query.ConjunctionQuery", "*query.BooleanQuery", "*query.MatchAllQuery"}, ty) {
				t.Errorf("%q searches a %s", q, ty)
			}
		}
	}
}
