package index

import (
	"context"
	"errors"
	"fmt"

	"dongting/analyzer"
	"dongting/index/fulltext"
)

// Page is one page of search results.
type Page struct {
	Total  uint64                      `json:"total"`
	Hits   []Hit                       `json:"hits"`
	Facets map[string][]fulltext.Count `json:"facets,omitempty"`
	// Next is the cursor for the following page; empty on the last one.
	Next   string  `json:"next,omitempty"`
	TookMS float64 `json:"took_ms"`
	// Partial says the search index is being rebuilt from the store:
	// only Indexed of the Records stored when the rebuild began are
	// searchable yet.
	Partial bool   `json:"partial,omitempty"`
	Indexed uint64 `json:"indexed,omitempty"`
	Records uint64 `json:"records,omitempty"`
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

// ErrSearchTimeout is a search stopped at its deadline
// (Options.SearchTimeout).
var ErrSearchTimeout = errors.New("index: the search ran past its deadline")

// Search runs a query and fills each hit from the store. It stops at the
// corpus's search deadline with ErrSearchTimeout.
func (c *Corpus) Search(ctx context.Context, q *fulltext.Query) (*Page, error) {
	se, done := c.searchIndex()
	defer done()
	sctx, cancel := context.WithTimeout(ctx, c.opt.SearchTimeout)
	defer cancel()
	f, err := se.Find(sctx, q)
	var qe *analyzer.Error
	switch {
	case errors.As(err, &qe):
		return nil, err
	case err != nil && ctx.Err() == nil && errors.Is(sctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("%w (%s)", ErrSearchTimeout, c.opt.SearchTimeout)
	case err != nil:
		if ctx.Err() == nil {
			c.suspect(se)
		}
		return nil, fmt.Errorf("index: search: %w", err)
	}
	return c.page(se, q, f)
}

// Weight is what a query costs in requests of the rate limiter; a query
// past the budget is its *analyzer.Error.
func (c *Corpus) Weight(q *fulltext.Query) (int, error) {
	se, done := c.searchIndex()
	defer done()
	return se.Weight(q)
}

func (c *Corpus) page(se searchIndex, q *fulltext.Query, f *fulltext.Found) (*Page, error) {
	p := &Page{Total: f.Total, Hits: make([]Hit, 0, len(f.Hits)), Facets: f.Facets, Next: f.Next, TookMS: f.TookMS}
	ids := make([]string, len(f.Hits))
	for i, h := range f.Hits {
		ids[i] = h.ID
	}
	stored, err := c.store.GetMany(ids)
	if err != nil {
		return nil, err
	}
	for i, h := range f.Hits {
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
		if q.Highlight {
			hit.Snippets = fulltext.Snippets(st.Text(), h.Locations)
		} else {
			hit.Text = st.Text()
		}
		p.Hits = append(p.Hits, hit)
	}
	rb, err := c.rebuilding(se)
	if err != nil {
		return nil, err
	}
	if rb != nil {
		p.Partial, p.Indexed, p.Records = true, rb.Indexed, rb.Records
	}
	return p, nil
}

// Each runs the query over its whole result set, page by page in the
// query's order, calling fn for every hit (for exports). It stops at the
// first error from fn or ctx.
func (c *Corpus) Each(ctx context.Context, q fulltext.Query, fn func(*Hit) error) error {
	q.Size, q.Cursor, q.Facets, q.Highlight = fulltext.MaxPageSize, "", nil, false
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
