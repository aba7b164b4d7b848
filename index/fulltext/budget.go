package fulltext

import (
	"fmt"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"dongting/analyzer"
	"dongting/taxonomy"
)

// The query budget. A query's cost is what its searchers read: every word
// searched walks that word's postings (a phrase walks each of its words'),
// every NOT that is not beside a required word walks every record, and
// every level of nesting is a searcher over the ones below it. Runs of one
// operator are flattened (a | b | c is one level) and repeated operands
// dropped (a & a is a), so the budget counts what is really searched;
// past it a query is refused (422) rather than run. A query within it
// still stops at the search deadline (Options.SearchTimeout).
const (
	// MaxQueryTerms is how many words a query may search: each word,
	// and each word of a phrase (as the query analyzer cuts it), counts.
	MaxQueryTerms = 32
	// MaxQueryDepth is how deep AND, OR and NOT may nest.
	MaxQueryDepth = 8
	// MaxQueryScans is how many NOTs a query may have that are not
	// beside a required word in an AND: in a !(b | !c), the !c reads
	// every record.
	MaxQueryScans = 2
	// MaxFilterValues is how many distinct values one filter may list.
	MaxFilterValues = 50
)

// node is a query expression flattened for search: an AND or OR of any
// number of distinct operands, a NOT, or a word or phrase (its tokens).
type node struct {
	op    taxonomy.Op // OpTerm (a word or phrase), OpAnd, OpOr or OpNot
	text  string      // a word or phrase as written
	toks  []string    // … as the query analyzer cuts it
	slots [][]string  // … by place, from the first word's (phraseQuery)
	kids  []*node
	key   string // canonical form: equal keys search the same
}

// normalize turns a parsed query into nodes: runs of AND or OR become one
// node, repeated operands are dropped, NOT NOT x is x.
func (s *Index) normalize(e taxonomy.Expr) (*node, error) {
	op, text, _, kids := taxonomy.Inspect(e)
	switch op {
	case taxonomy.OpTerm, taxonomy.OpExact, taxonomy.OpPhrase:
		if !hasSearchable(text) {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "q", Reason: fmt.Sprintf("%q has no searchable word", text)}
		}
		stream := s.mapping().AnalyzerNamed(analyzerQuery).Analyze([]byte(text))
		if len(stream) == 0 {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "q", Reason: fmt.Sprintf("%q has no searchable word", text)}
		}
		n := &node{op: taxonomy.OpTerm, text: text}
		first := stream[0].Position
		for _, t := range stream {
			first = min(first, t.Position)
		}
		for _, t := range stream {
			n.toks = append(n.toks, string(t.Term))
			place := t.Position - first
			for len(n.slots) <= place {
				n.slots = append(n.slots, nil)
			}
			n.slots[place] = append(n.slots[place], string(t.Term))
		}
		n.key = `"` + strings.Join(n.toks, " ") + `"`
		return n, nil
	case taxonomy.OpAnd, taxonomy.OpOr:
		n := &node{op: op}
		var add func(e taxonomy.Expr) error
		add = func(e taxonomy.Expr) error {
			if kop, _, _, kk := taxonomy.Inspect(e); kop == op {
				for _, k := range kk {
					if err := add(k); err != nil {
						return err
					}
				}
				return nil
			}
			k, err := s.normalize(e)
			if err != nil {
				return err
			}
			if k.op == op { // a NOT NOT that was an operand of the same kind
				for _, kk := range k.kids {
					n.addKid(kk)
				}
			} else {
				n.addKid(k)
			}
			return nil
		}
		for _, k := range kids {
			if err := add(k); err != nil {
				return nil, err
			}
		}
		if len(n.kids) == 1 {
			return n.kids[0], nil
		}
		keys := make([]string, len(n.kids))
		for i, k := range n.kids {
			keys[i] = k.key
		}
		slices.Sort(keys)
		sep := " & "
		if op == taxonomy.OpOr {
			sep = " | "
		}
		n.key = "(" + strings.Join(keys, sep) + ")"
		return n, nil
	case taxonomy.OpNot:
		x, err := s.normalize(kids[0])
		if err != nil {
			return nil, err
		}
		if x.op == taxonomy.OpNot {
			return x.kids[0], nil
		}
		return &node{op: taxonomy.OpNot, kids: []*node{x}, key: "!" + x.key}, nil
	case taxonomy.OpNear:
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "q", Reason: "NEAR is for taxonomy rules; in search use a phrase or AND"}
	default:
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "q", Reason: "customer()/agent() scopes are for taxonomy rules, not search"}
	}
}

func (n *node) addKid(k *node) {
	for _, x := range n.kids {
		if x.key == k.key {
			return
		}
	}
	n.kids = append(n.kids, k)
}

// plan is what a query searches, for the budget and the rate limiter.
type plan struct {
	terms, depth, scans int
	filters             int // filter values (Query's lists)
}

func (n *node) plan() *plan {
	p := &plan{}
	var walk func(n *node, depth int, besideRequired bool)
	walk = func(n *node, depth int, besideRequired bool) {
		p.depth = max(p.depth, depth)
		switch n.op {
		case taxonomy.OpTerm:
			p.terms += len(n.toks)
		case taxonomy.OpNot:
			if !besideRequired {
				p.scans++
			}
			walk(n.kids[0], depth+1, false)
		default:
			required := false
			for _, k := range n.kids {
				required = required || k.op != taxonomy.OpNot
			}
			for _, k := range n.kids {
				walk(k, depth+1, n.op == taxonomy.OpAnd && required)
			}
		}
	}
	walk(n, 0, false)
	return p
}

// check refuses a query past the budget, naming the limit.
func (p *plan) check() error {
	switch {
	case p.terms > MaxQueryTerms:
		return &analyzer.Error{Kind: analyzer.TooComplex, Field: "q", Limit: "terms", Reason: fmt.Sprintf("searches %d words; at most %d (each word of a phrase counts)", p.terms, MaxQueryTerms)}
	case p.depth > MaxQueryDepth:
		return &analyzer.Error{Kind: analyzer.TooComplex, Field: "q", Limit: "depth", Reason: fmt.Sprintf("AND, OR and NOT nest %d deep; at most %d", p.depth, MaxQueryDepth)}
	case p.scans > MaxQueryScans:
		return &analyzer.Error{Kind: analyzer.TooComplex, Field: "q", Limit: "scans", Reason: fmt.Sprintf("has %d NOTs that are not beside a required word in an AND (each reads every record); at most %d", p.scans, MaxQueryScans)}
	}
	return nil
}

// weight is what a query costs in the rate limiter's requests: one, and
// one more for every 8 words searched, 2 for every NOT that reads every
// record and one for every 25 filter values.
func (p *plan) weight() int {
	return 1 + max(0, p.terms-1)/8 + 2*p.scans + p.filters/25
}

// query is the Bleve query of a node. A word is a term query; a phrase
// of several words must match as a phrase, so a query never degrades into
// any of its characters. An AND's NOT operands exclude from its required
// ones; a NOT beside nothing required excludes from every record.
func (n *node) query() query.Query {
	switch n.op {
	case taxonomy.OpTerm:
		if len(n.toks) == 1 {
			// A phrase of one word would check positions for nothing.
			t := bleve.NewTermQuery(n.toks[0])
			t.SetField("text")
			return t
		}
		return &phraseQuery{field: "text", slots: n.slots}
	case taxonomy.OpNot:
		return exclude(nil, []query.Query{n.kids[0].query()})
	case taxonomy.OpOr:
		parts := make([]query.Query, len(n.kids))
		for i, k := range n.kids {
			parts[i] = k.query()
		}
		return bleve.NewDisjunctionQuery(parts...)
	}
	var must, not []query.Query
	for _, k := range n.kids {
		if k.op == taxonomy.OpNot {
			not = append(not, k.kids[0].query())
		} else {
			must = append(must, k.query())
		}
	}
	if len(not) > 0 {
		return exclude(must, not)
	}
	return bleve.NewConjunctionQuery(must...)
}

// exclude matches every one of must (every record if none) and none of not.
func exclude(must, not []query.Query) query.Query {
	b := bleve.NewBooleanQuery()
	switch len(must) {
	case 0:
		b.AddMust(bleve.NewMatchAllQuery())
	case 1:
		b.AddMust(must[0])
	default:
		b.AddMust(bleve.NewConjunctionQuery(must...))
	}
	if len(not) == 1 {
		b.AddMustNot(not[0])
	} else {
		b.AddMustNot(bleve.NewDisjunctionQuery(not...))
	}
	return b
}
