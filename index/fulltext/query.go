package fulltext

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"dongting/analyzer"
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

// request turns the query into a Bleve request, and says what it
// searches (for the budget and the rate limiter).
func (s *Index) request(q *Query) (*bleve.SearchRequest, *plan, error) {
	main, pl, err := s.textQuery(q.Q)
	if err != nil {
		return nil, nil, err
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
		values := distinct(f.values)
		if len(values) == 0 {
			continue
		}
		if len(values) > MaxFilterValues {
			return nil, nil, &analyzer.Error{Kind: analyzer.TooComplex, Field: f.kind, Limit: "values", Reason: fmt.Sprintf("%d values; at most %d", len(values), MaxFilterValues)}
		}
		pl.filters += len(values)
		any := make([]query.Query, len(values))
		for i, v := range values {
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
		return nil, nil, err
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
		return nil, nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "size", Reason: fmt.Sprintf("at most %d hits a page; use the cursor for more", MaxPageSize)}
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
		return nil, nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "sort", Reason: fmt.Sprintf("%q is not one of relevance, newest, oldest", q.Sort)}
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor, order)
		if err != nil {
			return nil, nil, err
		}
		req.SearchAfter = after
	}
	for _, f := range distinct(q.Facets) {
		if _, ok := FacetFields[f]; !ok {
			return nil, nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "facets", Reason: fmt.Sprintf("no facet %q (scene, touchpoint, channel, sentiment, severity, kind, dimension, month, day)", f)}
		}
	}
	// Snippets are cut from the stored record around these (highlight.go).
	req.IncludeLocations = q.Highlight && q.Q != ""
	return req, pl, nil
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
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "exclude", Reason: fmt.Sprintf("cannot exclude by %q (scene, touchpoint, dimension, sentiment, severity, channel, kind)", f)}
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

// decodeCursor reads a cursor for a query sorted by order and checks it
// against that order's sort keys: Bleve trusts SearchAfter to have one
// value of the right kind per key (a short one panics in its collector).
// relevance sorts on [score, id], newest and oldest on [ts, id].
func decodeCursor(s, order string) ([]string, error) {
	bad := &analyzer.Error{Kind: analyzer.BadParameter, Field: "cursor", Reason: "not a cursor returned by this service"}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > maxCursorBytes {
		return nil, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, bad
	}
	if c.Sort != order {
		if slices.Contains(SortOrders, c.Sort) {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "cursor", Reason: "the cursor belongs to a query sorted by " + c.Sort}
		}
		return nil, bad
	}
	if len(c.After) != 2 || !validID(c.After[1]) {
		return nil, bad
	}
	if v := c.After[0]; order == "relevance" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return nil, bad
		}
	} else if !isTimeSortValue(v) {
		return nil, bad
	}
	return c.After, nil
}

// maxCursorBytes bounds a decoded cursor: a score or a time, and an id.
const maxCursorBytes = 512

// validID is what a record id can be (analyzer.Record.Validate).
func validID(id string) bool { return id != "" && len(id) <= 200 && utf8.ValidString(id) }

// isTimeSortValue is a ts term (timeSortLayout) or one of the values
// Bleve sorts a record without a time by.
func isTimeSortValue(v string) bool {
	if v == search.HighTerm || v == search.LowTerm {
		return true
	}
	if len(v) != len(timeSortLayout) {
		return false
	}
	_, err := time.Parse(timeSortLayout, v)
	return err == nil
}

// textQuery parses the query string with the rule language's syntax and
// turns it into a Bleve query within the query budget (budget.go).
func (s *Index) textQuery(src string) (query.Query, *plan, error) {
	if src == "" {
		return bleve.NewMatchAllQuery(), &plan{}, nil
	}
	e, err := taxonomy.ParseRule(src)
	var se *taxonomy.SyntaxError
	if errors.As(err, &se) {
		return nil, nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "q", Reason: fmt.Sprintf("column %d: %s", se.Col, se.Msg)}
	}
	if err != nil {
		return nil, nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "q", Reason: err.Error()}
	}
	n, err := s.normalize(e)
	if err != nil {
		return nil, nil, err
	}
	pl := n.plan()
	if err := pl.check(); err != nil {
		return nil, nil, err
	}
	return n.query(), pl, nil
}

func hasSearchable(s string) bool { return indexable(s) }

// distinct is list without repeated values, in order.
func distinct(list []string) []string {
	var out []string
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
