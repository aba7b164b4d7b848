package taxonomy

import (
	"cmp"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"dongting/taxonomy/wordmap"
)

// Source is one rule to compile. Line and Col locate the rule text in the
// file it came from, so compile errors point at the right place.
type Source struct {
	Name string
	Rule string
	Line int
	Col  int
}

// Tokenizer cuts a phrase the way the analyzer cuts text, so a phrase in a
// rule lines up with the tokens of a record.
type Tokenizer func(text string) []string

// Token is one normalized token of a record. Start and End are offsets the
// caller chooses (the analyzer uses code points); the matcher copies them
// into evidence and sub-word offsets are derived from them by rune count.
type Token struct {
	Text    string
	Start   int
	End     int
	Speaker Speaker
}

// Span is a piece of evidence: the offsets of the matched text and the
// positions of the first and last tokens it covers.
type Span struct {
	Start, End int
	First      int
	Last       int
}

// Hit says that rule Rule (an index into the compiled sources) matched.
type Hit struct {
	Rule     int
	Evidence []Span
}

type opKind uint8

const (
	opTerm opKind = iota
	opPhrase
	opAnd
	opOr
	opNot
	opNear
	opScope
)

type prog struct {
	src     Expr // for explanations
	op      opKind
	term    int32    // opTerm, and the first token of opPhrase
	exact   bool     // opTerm: whole tokens only
	rest    []string // opPhrase: the tokens after the first
	n       int      // opNear distance
	speaker Speaker  // opScope
	l, r    *prog
}

// Matcher evaluates many compiled rules against a record's tokens. Its cost
// per token is a hash lookup (plus sub-word lookups for long tokens); only
// rules that contain a present term are evaluated.
type Matcher struct {
	names        []string
	progs        []*prog
	terms        map[string]int32
	lookup       *wordmap.Map[int32] // terms, for looking tokens up
	byTerm       [][]int32           // term id → rules it makes candidates (see triggers)
	maxTermRunes int
	scratch      sync.Pool
}

// Compile compiles the sources into one matcher. All syntax errors are
// reported, joined, each naming its rule, line and column.
func Compile(sources []Source, tok Tokenizer) (*Matcher, error) {
	m := &Matcher{terms: make(map[string]int32)}
	var errs []error
	for i, s := range sources {
		e, serr := parseRule(s.Rule)
		if serr != nil {
			serr.Rule = s.Name
			serr.Line = max(s.Line, 1)
			serr.Col = s.Col + serr.Col + 1
			errs = append(errs, serr)
			continue
		}
		p := m.compile(e, tok)
		terms, complete := triggers(p)
		if !complete {
			terms = positives(p, false)
		}
		for _, id := range terms {
			m.byTerm[id] = append(m.byTerm[id], int32(i))
		}
		m.names = append(m.names, s.Name)
		m.progs = append(m.progs, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i := range m.byTerm {
		m.byTerm[i] = dedupe(m.byTerm[i])
	}
	m.lookup = wordmap.New(m.terms)
	m.scratch.New = func() any { return &scratch{stamp: make([]uint32, len(m.progs))} }
	return m, nil
}

func dedupe(xs []int32) []int32 {
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func (m *Matcher) termID(t string) int32 {
	id, ok := m.terms[t]
	if !ok {
		id = int32(len(m.byTerm))
		m.terms[t] = id
		m.byTerm = append(m.byTerm, nil)
		if n := utf8.RuneCountInString(t); n > m.maxTermRunes {
			m.maxTermRunes = n
		}
	}
	return id
}

// triggers are terms at least one of which every match of p holds
// (complete), so a rule is evaluated only on records holding one. Of the
// two sides of an AND or a NEAR one is enough, the one with fewer terms:
// a NEAR's list of common words (说 | 店 | 门 | 水) then does not make its
// rule a candidate on every record that says 说. Not complete when p can
// match without any term (a branch under NOT).
func triggers(p *prog) (terms []int32, complete bool) {
	switch p.op {
	case opTerm, opPhrase:
		return []int32{p.term}, true
	case opOr:
		l, lok := triggers(p.l)
		r, rok := triggers(p.r)
		return append(l, r...), lok && rok
	case opAnd, opNear:
		l, lok := triggers(p.l)
		r, rok := triggers(p.r)
		switch {
		case lok && rok && len(r) < len(l):
			return r, true
		case lok:
			return l, true
		case rok:
			return r, true
		}
		return append(l, r...), false
	case opScope:
		return triggers(p.l)
	}
	return nil, false // NOT
}

// positives are p's terms that are not negated: what makes a rule a
// candidate when its triggers are not complete (a NOT of a NOT).
func positives(p *prog, negated bool) []int32 {
	switch p.op {
	case opTerm, opPhrase:
		if negated {
			return nil
		}
		return []int32{p.term}
	case opNot:
		return positives(p.l, !negated)
	case opScope:
		return positives(p.l, negated)
	}
	return append(positives(p.l, negated), positives(p.r, negated)...)
}

func (m *Matcher) compile(e Expr, tok Tokenizer) *prog {
	p := m.compileOp(e, tok)
	p.src = e
	return p
}

func (m *Matcher) compileOp(e Expr, tok Tokenizer) *prog {
	switch x := e.(type) {
	case termExpr:
		return &prog{op: opTerm, term: m.termID(x.text), exact: x.exact}
	case phraseExpr:
		parts := splitPhrase(x.text, tok)
		if len(parts) == 1 {
			return &prog{op: opTerm, term: m.termID(parts[0]), exact: true}
		}
		return &prog{op: opPhrase, term: m.termID(parts[0]), rest: parts[1:]}
	case andExpr:
		return &prog{op: opAnd, l: m.compile(x.l, tok), r: m.compile(x.r, tok)}
	case orExpr:
		return &prog{op: opOr, l: m.compile(x.l, tok), r: m.compile(x.r, tok)}
	case notExpr:
		return &prog{op: opNot, l: m.compile(x.x, tok)}
	case nearExpr:
		return &prog{op: opNear, n: x.n, l: m.compile(x.l, tok), r: m.compile(x.r, tok)}
	case scopeExpr:
		return &prog{op: opScope, speaker: x.speaker, l: m.compile(x.x, tok)}
	}
	panic("taxonomy: unknown expression type")
}

// Step is one part of a rule as evaluated on a record: whether it matched,
// where, and its parts.
type Step struct {
	Expr     string     `json:"expr"`
	Matched  bool       `json:"matched"`
	Evidence []Evidence `json:"evidence,omitempty"`
	Parts    []Step     `json:"parts,omitempty"`
}

// Evidence is a matched span: code-point offsets into the record's text.
type Evidence struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Text  string `json:"text,omitempty"`
}

// Explain evaluates rule i on tokens part by part.
func (m *Matcher) Explain(i int, tokens []Token) Step {
	occs := m.collect(tokens, nil)
	slices.SortStableFunc(occs, func(a, b occ) int { return cmp.Compare(a.term, b.term) })
	ev := evaluator{tokens: tokens, occs: occs}
	var walk func(p *prog, sp Speaker) Step
	walk = func(p *prog, sp Speaker) Step {
		ok, spans := ev.eval(p, sp)
		st := Step{Expr: p.src.String(), Matched: ok}
		for _, s := range tidy(spans) {
			st.Evidence = append(st.Evidence, Evidence{Start: s.Start, End: s.End})
		}
		inner := sp
		if p.op == opScope {
			inner = p.speaker
		}
		// a | b | c is parsed as ((a | b) | c): list its operands flat.
		var operands func(c *prog) []*prog
		operands = func(c *prog) []*prog {
			if c == nil {
				return nil
			}
			if (p.op == opOr || p.op == opAnd) && c.op == p.op {
				return append(operands(c.l), operands(c.r)...)
			}
			return []*prog{c}
		}
		for _, c := range append(operands(p.l), operands(p.r)...) {
			st.Parts = append(st.Parts, walk(c, inner))
		}
		return st
	}
	return walk(m.progs[i], anySpeaker)
}

func splitPhrase(text string, tok Tokenizer) []string {
	var parts []string
	for _, f := range strings.Fields(text) {
		if tok == nil {
			parts = append(parts, f)
			continue
		}
		for _, t := range tok(f) {
			if t = strings.TrimSpace(t); t != "" {
				parts = append(parts, strings.ToLower(t))
			}
		}
	}
	if len(parts) == 0 {
		return []string{text}
	}
	return parts
}

// Name is the name of rule i.
func (m *Matcher) Name(i int) string { return m.names[i] }

// Terms lists every term the rules look for, for the segmenter's dictionary.
func (m *Matcher) Terms() []string {
	out := make([]string, 0, len(m.terms))
	for t := range m.terms {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

type occ struct {
	term    int32
	sub     bool // a sub-word inside a longer token
	pos     int32
	start   int32
	end     int32
	speaker Speaker
}

type scratch struct {
	occs  []occ
	cands []int32
	stamp []uint32
	gen   uint32
}

// Match returns the rules that match tokens, in rule order, with evidence.
func (m *Matcher) Match(tokens []Token) []Hit {
	s := m.scratch.Get().(*scratch)
	defer m.scratch.Put(s)
	s.occs = m.collect(tokens, s.occs[:0])
	if len(s.occs) == 0 {
		return nil
	}
	slices.SortStableFunc(s.occs, func(a, b occ) int { return cmp.Compare(a.term, b.term) })

	s.gen++
	if s.gen == 0 { // wrapped: clear stale stamps
		clear(s.stamp)
		s.gen = 1
	}
	s.cands = s.cands[:0]
	for i, o := range s.occs {
		if i > 0 && s.occs[i-1].term == o.term {
			continue
		}
		for _, r := range m.byTerm[o.term] {
			if s.stamp[r] != s.gen {
				s.stamp[r] = s.gen
				s.cands = append(s.cands, r)
			}
		}
	}
	slices.Sort(s.cands)

	ev := evaluator{tokens: tokens, occs: s.occs}
	var hits []Hit
	for _, r := range s.cands {
		ok, spans := ev.eval(m.progs[r], anySpeaker)
		if ok && len(spans) > 0 {
			hits = append(hits, Hit{Rule: int(r), Evidence: tidy(spans)})
		}
	}
	return hits
}

// collect finds every term occurrence: whole tokens, and sub-words of two or
// more runes inside longer tokens (电梯 inside 电梯困人), which share the
// token's position as search-mode tokens do.
func (m *Matcher) collect(tokens []Token, occs []occ) []occ {
	var bounds [32]int
	for i, t := range tokens {
		if id, ok := m.lookup.Get(t.Text); ok {
			occs = append(occs, occ{term: id, pos: int32(i), start: int32(t.Start), end: int32(t.End), speaker: t.Speaker})
		}
		if len(t.Text) < 9 || m.maxTermRunes < 2 || isASCII(t.Text) { // fewer than 3 CJK runes, or a number or Latin word
			continue
		}
		nb := 0
		for j := range t.Text {
			if nb == len(bounds)-1 {
				break
			}
			bounds[nb] = j
			nb++
		}
		if nb == len(bounds)-1 { // very long token: do not scan it
			continue
		}
		bounds[nb] = len(t.Text)
		n := nb // runes
		if n < 3 {
			continue
		}
		for a := 0; a < n; a++ {
			for l := 2; l <= m.maxTermRunes && a+l <= n; l++ {
				if a == 0 && l == n {
					continue
				}
				if id, ok := m.lookup.Get(t.Text[bounds[a]:bounds[a+l]]); ok {
					occs = append(occs, occ{term: id, sub: true, pos: int32(i),
						start: int32(t.Start + a), end: int32(t.Start + a + l), speaker: t.Speaker})
				}
			}
		}
	}
	return occs
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

const anySpeaker = Speaker(255)

type evaluator struct {
	tokens []Token
	occs   []occ
}

func (e *evaluator) termOccs(term int32) []occ {
	i := sort.Search(len(e.occs), func(i int) bool { return e.occs[i].term >= term })
	j := i
	for j < len(e.occs) && e.occs[j].term == term {
		j++
	}
	return e.occs[i:j]
}

func (e *evaluator) eval(p *prog, sp Speaker) (bool, []Span) {
	switch p.op {
	case opTerm:
		var out []Span
		for _, o := range e.termOccs(p.term) {
			if (sp == anySpeaker || o.speaker == sp) && !(p.exact && o.sub) {
				out = append(out, Span{Start: int(o.start), End: int(o.end), First: int(o.pos), Last: int(o.pos)})
			}
		}
		return len(out) > 0, out
	case opPhrase:
		var out []Span
		for _, o := range e.termOccs(p.term) {
			if o.sub || (sp != anySpeaker && o.speaker != sp) {
				continue
			}
			last := int(o.pos) + len(p.rest)
			if last >= len(e.tokens) {
				continue
			}
			ok := true
			for k, want := range p.rest {
				if e.tokens[int(o.pos)+1+k].Text != want {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, Span{Start: int(o.start), End: e.tokens[last].End, First: int(o.pos), Last: last})
			}
		}
		return len(out) > 0, out
	case opAnd:
		lok, l := e.eval(p.l, sp)
		if !lok {
			return false, nil
		}
		rok, r := e.eval(p.r, sp)
		if !rok {
			return false, nil
		}
		return true, concat(l, r)
	case opOr:
		lok, l := e.eval(p.l, sp)
		rok, r := e.eval(p.r, sp)
		return lok || rok, concat(l, r)
	case opNot:
		ok, _ := e.eval(p.l, sp)
		return !ok, nil
	case opNear:
		lok, l := e.eval(p.l, sp)
		if !lok {
			return false, nil
		}
		rok, r := e.eval(p.r, sp)
		if !rok {
			return false, nil
		}
		var out []Span
		used := make([]bool, len(r))
		for _, a := range l {
			near := false
			for j, b := range r {
				if gap(a, b) <= p.n {
					near = true
					if !used[j] {
						used[j] = true
						out = append(out, b)
					}
				}
			}
			if near {
				out = append(out, a)
			}
		}
		return len(out) > 0, out
	case opScope:
		return e.eval(p.l, p.speaker)
	}
	return false, nil
}

// concat is append(l, r...) without copying r into a new slice when l is
// empty: each slice eval returns is its caller's own.
func concat(l, r []Span) []Span {
	if len(l) == 0 {
		return r
	}
	return append(l, r...)
}

// gap is the number of token positions between two spans (0 when they touch
// or overlap, so NEAR/0 means adjacent).
func gap(a, b Span) int {
	switch {
	case b.First > a.Last:
		return b.First - a.Last - 1
	case a.First > b.Last:
		return a.First - b.Last - 1
	}
	return 0
}

// tidy sorts spans and drops exact duplicates and spans inside another.
func tidy(spans []Span) []Span {
	slices.SortFunc(spans, func(a, b Span) int {
		if a.Start != b.Start {
			return cmp.Compare(a.Start, b.Start)
		}
		return cmp.Compare(b.End, a.End)
	})
	out := spans[:0]
	for _, s := range spans {
		if len(out) > 0 && s.Start >= out[len(out)-1].Start && s.End <= out[len(out)-1].End {
			continue
		}
		out = append(out, s)
	}
	return out
}
