package fulltext

// Hooks for the corpus's tests, which drive the index through the corpus.

import (
	"context"
	"fmt"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// BoundFacetValues sets how many segment × field entries each shard's
// facet terms cache holds before it forgets the segments gone.
func (s *Index) BoundFacetValues(n int) {
	for i := range s.values {
		v := &s.values[i]
		v.mu.Lock()
		v.max = n
		v.mu.Unlock()
	}
}

// FacetValueEntries reports the facet terms caches' entries, how many of
// them belong to segments no shard holds any more, and the live segments.
func (s *Index) FacetValueEntries() (entries, gone, segments int, err error) {
	live := map[segment.Segment]bool{}
	for _, sh := range s.shards {
		adv, err := sh.Advanced()
		if err != nil {
			return 0, 0, 0, err
		}
		r, err := adv.Reader()
		if err != nil {
			return 0, 0, 0, err
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
	return entries, gone, len(live), nil
}

// SearchUnchecked runs a Bleve request as it is, without the checks of
// fulltext.Query (a cursor's values, say), on the shards' goroutines.
func (s *Index) SearchUnchecked(req *bleve.SearchRequest, facets []string) error {
	_, _, err := s.search(context.Background(), req, facets)
	return err
}

// EncodeCursor is a cursor for a query sorted by order, after the values.
func EncodeCursor(order string, after []string) string { return encodeCursor(order, after) }

// QueryTypes lists the Bleve query types a query string becomes.
func (s *Index) QueryTypes(q string) ([]string, error) {
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
