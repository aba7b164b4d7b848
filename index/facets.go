package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Facets are counted in a pass of their own, beside the query that ranks
// the page. Bleve's terms facets allocate a string and update two maps for
// every facet term of every hit, and every facet checks every term of the
// combined column against its prefix: at a million records that counting
// was ~40 % of a common word's query with four facets (CPU profile of
// `bench -mode search`). The pass walks the same matches unscored, reads
// the facet columns it needs once per hit and counts each wanted term with
// one map lookup, shard by shard in parallel, while the ranking query runs.

// facetTally counts "field=value" terms whose field is wanted.
type facetTally struct {
	want   [][]byte // field names followed by '='
	counts map[string]*int
	hits   uint64
}

func newFacetTally(fields []string) *facetTally {
	t := &facetTally{counts: map[string]*int{}}
	for _, f := range fields {
		t.want = append(t.want, []byte(f+"="))
	}
	return t
}

func (t *facetTally) visit(_ string, term []byte) {
	i := bytes.IndexByte(term, '=')
	if i < 0 {
		return
	}
	for _, w := range t.want {
		if bytes.Equal(term[:i+1], w) {
			if p := t.counts[string(term)]; p != nil {
				*p++
			} else {
				n := 1
				t.counts[string(term)] = &n
			}
			return
		}
	}
}

// countFacets counts the wanted facet fields' terms over every match of q
// in every shard, and the matches.
func (s *Search) countFacets(ctx context.Context, q query.Query, fields []string) (uint64, map[string]int, error) {
	var columns []string
	for _, f := range fields {
		columns = appendNew(columns, facetColumn(f))
	}
	tallies := make([]*facetTally, len(s.shards))
	errs := make([]error, len(s.shards))
	var wg sync.WaitGroup
	for i := range s.shards {
		tallies[i] = newFacetTally(fields)
		wg.Go(func() { errs[i] = s.countShard(ctx, i, q, columns, tallies[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	var total uint64
	counts := map[string]int{}
	for _, t := range tallies {
		total += t.hits
		for term, n := range t.counts {
			counts[term] += *n
		}
	}
	return total, counts, nil
}

func (s *Search) countShard(ctx context.Context, shard int, q query.Query, columns []string, t *facetTally) error {
	adv, err := s.shards[shard].Advanced()
	if err != nil {
		return err
	}
	r, err := adv.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	searcher, err := q.Searcher(ctx, r, s.mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return err
	}
	defer searcher.Close()
	dv, err := r.DocValueReader(columns)
	if err != nil {
		return err
	}
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(searcher.DocumentMatchPoolSize(), 0)}
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		d, err := searcher.Next(sctx)
		if err != nil {
			return fmt.Errorf("index: facets: %w", err)
		}
		if d == nil {
			return nil
		}
		t.hits++
		if err := dv.VisitDocValues(d.IndexInternalID, t.visit); err != nil {
			return fmt.Errorf("index: facets: %w", err)
		}
		sctx.DocumentMatchPool.Put(d)
	}
}
