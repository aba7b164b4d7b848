package fulltext

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
)

// Count is one facet value and its number of matching records.
type Count struct {
	Value string `json:"value"`
	Count int    `json:"count"`
	// Name is a taxonomy node's name (scene, touchpoint, dimension
	// facets), filled in by the API.
	Name string `json:"name,omitempty"`
}

// Found is what a query matched: one page of record ids, best or newest
// first, with what is needed to show and page them.
type Found struct {
	Total  uint64
	Hits   []Match
	Facets map[string][]Count // nil unless asked
	Next   string             // the cursor of the following page; empty on the last one
	TookMS float64
}

// Match is one matching record: its id, score and where the words matched
// in its text (for Snippets).
type Match struct {
	ID        string
	Score     float64
	Locations search.TermLocationMap
}

// Find runs q: its page of matches, the following page's cursor, and the
// facet counts over the whole match set. A query past the budget is its
// *analyzer.Error; ctx's deadline stops the shards' searches.
func (s *Index) Find(ctx context.Context, q *Query) (*Found, error) {
	dq := *q
	dq.Facets = distinct(q.Facets)
	q = &dq
	req, _, err := s.request(q)
	if err != nil {
		return nil, err
	}
	res, counts, err := s.search(ctx, req, q.Facets)
	if err != nil {
		return nil, err
	}
	f := &Found{Total: res.Total, Hits: make([]Match, len(res.Hits)), TookMS: float64(res.Took.Microseconds()) / 1000}
	for i, h := range res.Hits {
		f.Hits[i] = Match{ID: h.ID, Score: h.Score, Locations: h.Locations["text"]}
	}
	f.Next = nextCursor(q, req, res)
	if len(q.Facets) > 0 {
		f.Facets = facetCounts(q.Facets, counts)
	}
	return f, nil
}

// nextCursor is the cursor after a full page (empty after the last one).
func nextCursor(q *Query, req *bleve.SearchRequest, res *bleve.SearchResult) string {
	n := len(res.Hits)
	if n == 0 || n != req.Size {
		return ""
	}
	last := res.Hits[n-1]
	after := slices.Clone(last.Sort)
	if q.sortOrder() == "relevance" {
		after[0] = strconv.FormatFloat(last.Score, 'g', -1, 64) // Bleve reports "_score" here
	}
	return encodeCursor(q.sortOrder(), after)
}

// Weight is what a query costs in requests of the rate limiter (see
// plan.weight); a query past the budget is its *analyzer.Error.
func (s *Index) Weight(q *Query) (int, error) {
	_, pl, err := s.request(q)
	if err != nil {
		return 0, err
	}
	return pl.weight(), nil
}

// Snippets are a text's highlighted fragments around the matched words
// (see snippets).
func Snippets(text string, locs search.TermLocationMap) []string { return snippets(text, locs) }

// Created says the index was made new by Open, not opened from disk.
func (s *Index) Created() bool { return s.created }

// Verify checks the segments' checksums (see verify).
func (s *Index) Verify() error { return s.verify() }

// facetCounts turns the counted "field=value" terms into each asked
// facet's values, most frequent first (ties by value).
func facetCounts(asked []string, terms map[string]int) map[string][]Count {
	out := make(map[string][]Count, len(asked))
	for _, name := range asked {
		counts := []Count{}
		prefix := FacetFields[name] + "="
		for t, n := range terms {
			if v, ok := strings.CutPrefix(t, prefix); ok {
				counts = append(counts, Count{Value: v, Count: n})
			}
		}
		slices.SortFunc(counts, func(a, b Count) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		out[name] = counts[:min(len(counts), facetSize(name))]
	}
	return out
}
