package index

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"dongting/taxonomy"
)

// Query is a search over the corpus. Values within one filter are OR'ed;
// filters are AND'ed.
type Query struct {
	Q          string   // the rule syntax: words, "phrases", AND/OR/NOT, parentheses
	Touchpoint []string // a node id selects it and everything under it
	Scene      []string
	Dimension  []string
	Sentiment  []string
	Severity   []string
	Channel    []string
	Kind       []string
	Org        string    // an org path selects its subtree
	From, To   time.Time // occurred in [From, To), to the second
	NPSMin     *int
	NPSMax     *int
	Sort       string // relevance (default with Q), newest (default without), oldest
	Size       int
	Cursor     string
	Facets     []string
	Highlight  bool
	// Exclude maps a facet (scene, touchpoint, dimension, sentiment,
	// severity, channel, kind) to values no hit may have; a touchpoint
	// excludes everything under it.
	Exclude map[string][]string
}

// Sort orders and facet fields a query may ask for.
var (
	SortOrders  = []string{"relevance", "newest", "oldest"}
	FacetFields = map[string]string{
		"scene": "scene", "touchpoint": "tag", "channel": "channel", "sentiment": "sentiment",
		"severity": "severity", "kind": "kind", "dimension": "dimension", "month": "month",
		"day": "day",
	}
)

// filterFacets are the facets whose terms live in the filter field, not
// the facet field: day (YYYYMMDD in the service's zone) is indexed for
// time ranges and counted for histograms.
var filterFacets = map[string]bool{"day": true}

// facetSize is how many values each facet returns.
func facetSize(f string) int {
	switch f {
	case "touchpoint", "month":
		return 50
	case "day":
		return 100 * 366 // every day: a histogram needs all of them
	}
	return 20
}

// MaxPageSize bounds one page of hits; deeper pages use the cursor.
const MaxPageSize = 200

// QueryError is a query the index cannot run; Field names the parameter.
type QueryError struct {
	Field  string
	Reason string
}

func (e *QueryError) Error() string { return e.Field + ": " + e.Reason }

func (q *Query) sortOrder() string {
	if q.Sort != "" {
		return q.Sort
	}
	if q.Q == "" {
		return "newest"
	}
	return "relevance"
}

type cursor struct {
	Sort  string   `json:"s"`
	After []string `json:"a"`
}

// request turns the query into a Bleve request.
func (s *Search) request(q *Query) (*bleve.SearchRequest, error) {
	main, err := s.textQuery(q.Q)
	if err != nil {
		return nil, err
	}
	must := []query.Query{main}
	for _, f := range []struct {
		field, kind string
		values      []string
	}{
		{filterField, "touchpoint", q.Touchpoint}, {facetField, "scene", q.Scene}, {facetField, "dimension", q.Dimension},
		{facetField, "sentiment", q.Sentiment}, {facetField, "severity", q.Severity}, {facetField, "channel", q.Channel},
		{facetField, "kind", q.Kind},
	} {
		if len(f.values) == 0 {
			continue
		}
		any := make([]query.Query, len(f.values))
		for i, v := range f.values {
			t := bleve.NewTermQuery(term(f.kind, v))
			t.SetField(f.field)
			any[i] = t
		}
		must = append(must, bleve.NewDisjunctionQuery(any...))
	}
	if q.Org != "" {
		t := bleve.NewTermQuery(term("org", q.Org))
		t.SetField(filterField)
		must = append(must, t)
	}
	ranged := !q.From.IsZero() || !q.To.IsZero()
	if ranged && q.Q == "" {
		must = append(must, s.timeRange(q.From, q.To))
	}
	if q.NPSMin != nil || q.NPSMax != nil {
		lo, hi := 0, 10 // the scores a record can hold (Record.Validate)
		if q.NPSMin != nil {
			lo = max(lo, *q.NPSMin)
		}
		if q.NPSMax != nil {
			hi = min(hi, *q.NPSMax)
		}
		var scores []query.Query
		for v := lo; v <= hi; v++ {
			t := bleve.NewTermQuery(term("nps", strconv.Itoa(v)))
			t.SetField(filterField)
			scores = append(scores, t)
		}
		if len(scores) == 0 {
			must = append(must, bleve.NewMatchNoneQuery())
		} else {
			must = append(must, bleve.NewDisjunctionQuery(scores...))
		}
	}
	var top query.Query = must[0]
	if len(must) > 1 {
		top = bleve.NewConjunctionQuery(must...)
	}
	if not, err := excluded(q.Exclude); err != nil {
		return nil, err
	} else if len(not) > 0 {
		b := bleve.NewBooleanQuery()
		b.AddMust(top)
		b.AddMustNot(not...)
		top = b
	}
	if ranged && q.Q != "" {
		top = inSeconds(top, q.From.Truncate(time.Second), q.To.Truncate(time.Second))
	}

	size := q.Size
	if size <= 0 {
		size = 20
	}
	if size > MaxPageSize {
		return nil, &QueryError{"size", fmt.Sprintf("at most %d hits a page; use the cursor for more", MaxPageSize)}
	}
	req := bleve.NewSearchRequestOptions(top, size, 0, false)
	order := q.sortOrder()
	switch order {
	case "relevance":
		req.SortBy([]string{"-_score", "_id"})
	case "newest":
		req.SortBy([]string{"-" + timeSortField, "_id"})
	case "oldest":
		req.SortBy([]string{timeSortField, "_id"})
	default:
		return nil, &QueryError{"sort", fmt.Sprintf("%q is not one of relevance, newest, oldest", q.Sort)}
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		if c.Sort != order {
			return nil, &QueryError{"cursor", "the cursor belongs to a query sorted by " + c.Sort}
		}
		req.SearchAfter = c.After
	}
	for _, f := range q.Facets {
		if _, ok := FacetFields[f]; !ok {
			return nil, &QueryError{"facets", fmt.Sprintf("no facet %q (scene, touchpoint, channel, sentiment, severity, kind, dimension, month, day)", f)}
		}
	}
	if q.Highlight {
		req.Highlight = bleve.NewHighlightWithStyle("html")
		req.Highlight.AddField("text")
	}
	return req, nil
}

// excluded is one term query per excluded value, in the field filters of
// that facet read.
func excluded(ex map[string][]string) ([]query.Query, error) {
	var out []query.Query
	for _, f := range slices.Sorted(maps.Keys(ex)) {
		field := facetField
		switch f {
		case "touchpoint":
			field = filterField // each tag with its ancestors
		case "scene", "dimension", "sentiment", "severity", "channel", "kind":
		default:
			return nil, &QueryError{"exclude", fmt.Sprintf("cannot exclude by %q (scene, touchpoint, dimension, sentiment, severity, channel, kind)", f)}
		}
		for _, v := range ex[f] {
			t := bleve.NewTermQuery(term(f, v))
			t.SetField(field)
			out = append(out, t)
		}
	}
	return out, nil
}

func encodeCursor(order string, after []string) string {
	b, _ := json.Marshal(cursor{Sort: order, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	c := new(cursor)
	if err == nil {
		err = json.Unmarshal(b, c)
	}
	if err != nil || len(c.After) == 0 || len(c.After) > 4 {
		return nil, &QueryError{"cursor", "not a cursor returned by this service"}
	}
	return c, nil
}

// textQuery parses the query string with the rule language's syntax. Each
// word or phrase is cut with the precise-mode query analyzer and must match
// as a phrase, so a query never degrades into any of its characters.
func (s *Search) textQuery(src string) (query.Query, error) {
	if src == "" {
		return bleve.NewMatchAllQuery(), nil
	}
	e, err := taxonomy.ParseRule(src)
	var se *taxonomy.SyntaxError
	if errors.As(err, &se) {
		return nil, &QueryError{"q", fmt.Sprintf("column %d: %s", se.Col, se.Msg)}
	}
	if err != nil {
		return nil, &QueryError{"q", err.Error()}
	}
	return s.convert(e)
}

func (s *Search) convert(e taxonomy.Expr) (query.Query, error) {
	op, text, _, kids := taxonomy.Inspect(e)
	switch op {
	case taxonomy.OpTerm, taxonomy.OpExact, taxonomy.OpPhrase:
		if !hasSearchable(text) {
			return nil, &QueryError{"q", fmt.Sprintf("%q has no searchable word", text)}
		}
		// A query that is one word is a term query: a phrase of one word
		// would check positions for nothing.
		if toks := s.mapping().AnalyzerNamed(analyzerQuery).Analyze([]byte(text)); len(toks) == 1 {
			t := bleve.NewTermQuery(string(toks[0].Term))
			t.SetField("text")
			return t, nil
		}
		m := bleve.NewMatchPhraseQuery(text)
		m.SetField("text")
		m.Analyzer = analyzerQuery
		return m, nil
	case taxonomy.OpAnd, taxonomy.OpOr:
		parts := make([]query.Query, len(kids))
		for i, k := range kids {
			var err error
			if parts[i], err = s.convert(k); err != nil {
				return nil, err
			}
		}
		if op == taxonomy.OpAnd {
			return bleve.NewConjunctionQuery(parts...), nil
		}
		return bleve.NewDisjunctionQuery(parts...), nil
	case taxonomy.OpNot:
		x, err := s.convert(kids[0])
		if err != nil {
			return nil, err
		}
		b := bleve.NewBooleanQuery()
		b.AddMust(bleve.NewMatchAllQuery())
		b.AddMustNot(x)
		return b, nil
	case taxonomy.OpNear:
		return nil, &QueryError{"q", "NEAR is for taxonomy rules; in search use a phrase or AND"}
	default:
		return nil, &QueryError{"q", "customer()/agent() scopes are for taxonomy rules, not search"}
	}
}

func hasSearchable(s string) bool { return indexable(s) }
