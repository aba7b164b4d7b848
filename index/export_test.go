package index

import (
	"dongting/index/fulltext"
	"github.com/blevesearch/bleve/v2"
)

// FoldInChunks: see rollup.Rollups.FoldInChunks.
func FoldInChunks(c *Corpus, series int, between func() error) {
	c.rollups.FoldInChunks(series, between)
}

// FoldNow folds the rollup log and reports how many commits it folded.
func FoldNow(c *Corpus) (int, error) { return c.rollups.Fold() }

// fulltextOf is the corpus's search index as the one there is.
func fulltextOf(c *Corpus) *fulltext.Index { return c.search.(*fulltext.Index) }

// BoundFacetValues: see fulltext.Index.BoundFacetValues.
func BoundFacetValues(c *Corpus, n int) { fulltextOf(c).BoundFacetValues(n) }

// FacetValueEntries: see fulltext.Index.FacetValueEntries.
func FacetValueEntries(c *Corpus) (entries, gone, segments int, err error) {
	return fulltextOf(c).FacetValueEntries()
}

// SearchUnchecked: see fulltext.Index.SearchUnchecked.
func SearchUnchecked(c *Corpus, req *bleve.SearchRequest, facets []string) error {
	return fulltextOf(c).SearchUnchecked(req, facets)
}

// EncodeCursor: see fulltext.EncodeCursor.
func EncodeCursor(order string, after []string) string { return fulltext.EncodeCursor(order, after) }

// QueryTypes: see fulltext.Index.QueryTypes.
func QueryTypes(c *Corpus, q string) ([]string, error) { return fulltextOf(c).QueryTypes(q) }
