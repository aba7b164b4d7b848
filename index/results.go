package index

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"

	"dongting/analyzer"
)

// Page is one page of search results.
type Page struct {
	Total  uint64             `json:"total"`
	Hits   []Hit              `json:"hits"`
	Facets map[string][]Count `json:"facets,omitempty"`
	// Next is the cursor for the following page; empty on the last one.
	Next   string  `json:"next,omitempty"`
	TookMS float64 `json:"took_ms"`
}

// Hit is one matching record: its stored fields and analysis summary, and
// highlighted snippets (HTML-escaped text with <mark> around matches).
type Hit struct {
	ID         string   `json:"id"`
	Score      float64  `json:"score"`
	Kind       string   `json:"kind,omitempty"`
	Channel    string   `json:"channel,omitempty"`
	Org        string   `json:"org,omitempty"`
	OccurredAt string   `json:"occurred_at,omitempty"`
	NPS        *int     `json:"nps,omitempty"`
	CSAT       *int     `json:"csat,omitempty"`
	Sentiment  any      `json:"sentiment,omitempty"`
	Severity   string   `json:"severity,omitempty"`
	Tags       []string `json:"tags"`
	Snippets   []string `json:"snippets,omitempty"`
	Text       string   `json:"text,omitempty"`
	// Turns are a transcript's masked turns with their speakers, so a
	// hit can be shown as a dialogue (the snippets join them by newlines).
	Turns    []analyzer.RecordTurn `json:"turns,omitempty"`
	Record   *analyzer.Record      `json:"-"`
	Analysis *analyzer.Analysis    `json:"-"`
}

// Count is one facet value and its number of matching records.
type Count struct {
	Value string `json:"value"`
	Count int    `json:"count"`
	// Name is a taxonomy node's name (scene, touchpoint, dimension
	// facets), filled in by the API.
	Name string `json:"name,omitempty"`
}

// Search runs a query and fills each hit from the store.
func (c *Corpus) Search(ctx context.Context, q *Query) (*Page, error) {
	req, err := c.search.request(q)
	if err != nil {
		return nil, err
	}
	res, counts, err := c.search.search(ctx, req, q.Facets)
	if err != nil && q.Cursor != "" && ctx.Err() == nil {
		return nil, &QueryError{"cursor", "not a cursor returned by this service"}
	}
	if err != nil {
		return nil, fmt.Errorf("index: search: %w", err)
	}
	return c.page(q, req, res, counts)
}

func (c *Corpus) page(q *Query, req *bleve.SearchRequest, res *bleve.SearchResult, counts map[string]int) (*Page, error) {
	p := &Page{Total: res.Total, Hits: make([]Hit, 0, len(res.Hits)), TookMS: float64(res.Took.Microseconds()) / 1000}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	stored, err := c.store.GetMany(ids)
	if err != nil {
		return nil, err
	}
	for i, h := range res.Hits {
		st := stored[i]
		if st == nil { // deleted since it was indexed; the index is catching up
			continue
		}
		hit := Hit{ID: h.ID, Score: h.Score, Kind: st.Record.Kind, Channel: st.Record.Channel, Org: st.Record.Org,
			OccurredAt: st.Record.OccurredAt, NPS: st.Record.NPS, CSAT: st.Record.CSAT, Tags: []string{},
			Turns: st.Record.Turns, Record: &st.Record, Analysis: st.Analysis}
		if a := st.Analysis; a != nil {
			hit.Sentiment, hit.Severity = a.Sentiment, a.Severity
			for _, t := range a.Tags {
				hit.Tags = append(hit.Tags, t.ID)
			}
		}
		if frags := h.Fragments["text"]; len(frags) > 0 {
			hit.Snippets = frags
		} else {
			hit.Text = st.Text()
		}
		p.Hits = append(p.Hits, hit)
	}
	if n := len(res.Hits); n > 0 && n == req.Size {
		last := res.Hits[n-1]
		after := slices.Clone(last.Sort)
		if q.sortOrder() == "relevance" {
			after[0] = strconv.FormatFloat(last.Score, 'g', -1, 64) // Bleve reports "_score" here
		}
		p.Next = encodeCursor(q.sortOrder(), after)
	}
	if len(q.Facets) > 0 {
		p.Facets = facetCounts(q.Facets, counts)
	}
	return p, nil
}

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

// Each runs the query over its whole result set, page by page in the
// query's order, calling fn for every hit (for exports). It stops at the
// first error from fn or ctx.
func (c *Corpus) Each(ctx context.Context, q Query, fn func(*Hit) error) error {
	q.Size, q.Cursor, q.Facets, q.Highlight = MaxPageSize, "", nil, false
	if q.Sort == "" || q.Sort == "relevance" {
		q.Sort = "newest" // a stable order that does not depend on scores
	}
	for {
		p, err := c.Search(ctx, &q)
		if err != nil {
			return err
		}
		for i := range p.Hits {
			if err := fn(&p.Hits[i]); err != nil {
				return err
			}
		}
		if p.Next == "" {
			return nil
		}
		q.Cursor = p.Next
	}
}
