package taxonomy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rule language works over normalized tokens:
//
//	电梯 | 直梯            either term (also "OR"); a term also matches inside a
//	                       longer token (电梯 in 电梯困人) unless written =电梯
//	电梯 & 故障            both terms anywhere in the record (also "AND", or just a space)
//	NOT 广告, !广告        the term must be absent
//	( … )                  grouping
//	"电梯 困人"            an exact phrase: consecutive tokens (spaces split it; without
//	                       spaces the phrase is cut by the segmenter at compile time)
//	NEAR/3(电梯, 坏)       both within 3 token positions of each other
//	customer(…), agent(…)  only tokens said by that speaker in a transcript
//
// Precedence: NOT binds tightest, then AND, then OR.

// Speaker says who said a token. Plain text is treated as the customer's.
type Speaker uint8

const (
	SpeakerCustomer Speaker = iota
	SpeakerAgent
)

func (s Speaker) String() string {
	if s == SpeakerAgent {
		return "agent"
	}
	return "customer"
}

// SyntaxError is a compile error in one rule. Line and Col point into the
// source the rule came from (a taxonomy file), or into the rule itself.
type SyntaxError struct {
	Rule string // the rule's name: a node id or a red-line category
	Line int
	Col  int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("rule %s: line %d, col %d: %s", e.Rule, e.Line, e.Col, e.Msg)
}

type tokKind uint8

const (
	tkEOF tokKind = iota
	tkTerm
	tkPhrase
	tkLParen
	tkRParen
	tkComma
	tkAnd
	tkOr
	tkNot
	tkNear
	tkScope
)

type lexToken struct {
	kind tokKind
	text string
	n    int // NEAR distance
	col  int // 0-based rune column in the rule text
}

func isOperatorRune(r rune) bool {
	switch r {
	case '(', ')', ',', '|', '&', '!', '"', '，', '（', '）', '｜', '“', '”':
		return true
	}
	return unicode.IsSpace(r)
}

func lex(src string) ([]lexToken, *SyntaxError) {
	var out []lexToken
	runes := []rune(src)
	for i := 0; i < len(runes); {
		r := runes[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == '（':
			out = append(out, lexToken{kind: tkLParen, col: i})
			i++
		case r == ')' || r == '）':
			out = append(out, lexToken{kind: tkRParen, col: i})
			i++
		case r == ',' || r == '，':
			out = append(out, lexToken{kind: tkComma, col: i})
			i++
		case r == '|' || r == '｜':
			out = append(out, lexToken{kind: tkOr, col: i})
			i++
		case r == '&':
			out = append(out, lexToken{kind: tkAnd, col: i})
			i++
		case r == '!':
			out = append(out, lexToken{kind: tkNot, col: i})
			i++
		case r == '"' || r == '“' || r == '”':
			j := i + 1
			for j < len(runes) && runes[j] != '"' && runes[j] != '”' && runes[j] != '“' {
				j++
			}
			if j == len(runes) {
				return nil, &SyntaxError{Col: i, Msg: "unterminated phrase: missing closing quote"}
			}
			text := strings.TrimSpace(string(runes[i+1 : j]))
			if text == "" {
				return nil, &SyntaxError{Col: i, Msg: "empty phrase"}
			}
			out = append(out, lexToken{kind: tkPhrase, text: text, col: i})
			i = j + 1
		default:
			j := i
			for j < len(runes) && !isOperatorRune(runes[j]) {
				j++
			}
			word := string(runes[i:j])
			tok := lexToken{kind: tkTerm, text: word, col: i}
			switch {
			case word == "AND":
				tok.kind = tkAnd
			case word == "OR":
				tok.kind = tkOr
			case word == "NOT":
				tok.kind = tkNot
			case strings.HasPrefix(word, "NEAR/"):
				n, err := strconv.Atoi(word[len("NEAR/"):])
				if err != nil || n < 0 || n > 100 {
					return nil, &SyntaxError{Col: i, Msg: fmt.Sprintf("bad distance in %q: want NEAR/n with n in 0..100", word)}
				}
				tok.kind, tok.n = tkNear, n
			case word == "NEAR":
				return nil, &SyntaxError{Col: i, Msg: "NEAR needs a distance: NEAR/n(a, b)"}
			case (word == "customer" || word == "agent") && j < len(runes) && (runes[j] == '(' || runes[j] == '（'):
				tok.kind = tkScope
			}
			out = append(out, tok)
			i = j
		}
	}
	out = append(out, lexToken{kind: tkEOF, col: len(runes)})
	return out, nil
}

// Expr is a parsed rule.
type Expr interface{ String() string }

type (
	termExpr struct {
		text  string
		exact bool // =term: whole tokens only
	}
	phraseExpr struct{ text string }
	andExpr    struct{ l, r Expr }
	orExpr     struct{ l, r Expr }
	notExpr    struct{ x Expr }
	nearExpr   struct {
		n    int
		l, r Expr
	}
	scopeExpr struct {
		speaker Speaker
		x       Expr
	}
)

func (e termExpr) String() string {
	if e.exact {
		return "=" + e.text
	}
	return e.text
}
func (e phraseExpr) String() string { return `"` + e.text + `"` } // a phrase cannot hold a quote
// Rules print with as few parentheses as the precedence needs (NOT, then
// AND, then OR), so a long list reads a | b | c, not (((a | b) | c).
func (e andExpr) String() string { return grouped(e.l, false) + " & " + grouped(e.r, false) }
func (e orExpr) String() string  { return e.l.String() + " | " + e.r.String() }
func (e notExpr) String() string { return "NOT " + grouped(e.x, true) }

// grouped parenthesises an operand that binds looser than its operator:
// an OR inside an AND, an AND or OR after NOT.
func grouped(e Expr, underNot bool) string {
	switch e.(type) {
	case orExpr:
		return "(" + e.String() + ")"
	case andExpr:
		if underNot {
			return "(" + e.String() + ")"
		}
	}
	return e.String()
}
func (e nearExpr) String() string {
	return fmt.Sprintf("NEAR/%d(%s, %s)", e.n, e.l.String(), e.r.String())
}
func (e scopeExpr) String() string { return e.speaker.String() + "(" + e.x.String() + ")" }

type parser struct {
	toks []lexToken
	pos  int
}

func (p *parser) peek() lexToken { return p.toks[p.pos] }
func (p *parser) next() lexToken { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) errorf(t lexToken, format string, args ...any) *SyntaxError {
	return &SyntaxError{Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

// ParseRule parses one rule. Errors carry the rune column within src (Line 1).
func ParseRule(src string) (Expr, error) {
	e, serr := parseRule(src)
	if serr != nil {
		serr.Line, serr.Col = 1, serr.Col+1
		return nil, serr
	}
	return e, nil
}

func parseRule(src string) (Expr, *SyntaxError) {
	if !utf8.ValidString(src) {
		return nil, &SyntaxError{Msg: "rule is not valid UTF-8"}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tkEOF {
		return nil, p.errorf(p.peek(), "empty rule")
	}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.errorf(t, "unexpected %s", describe(t))
	}
	if !hasPositive(e, false) {
		return nil, &SyntaxError{Col: 0, Msg: "rule must require at least one term (a rule of only NOT matches everything)"}
	}
	return e, nil
}

const maxDepth = 64

func (p *parser) parseOr(depth int) (Expr, *SyntaxError) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tkOr {
		p.next()
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func startsOperand(k tokKind) bool {
	switch k {
	case tkTerm, tkPhrase, tkLParen, tkNot, tkNear, tkScope:
		return true
	}
	return false
}

func (p *parser) parseAnd(depth int) (Expr, *SyntaxError) {
	l, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for {
		k := p.peek().kind
		if k == tkAnd {
			p.next()
		} else if !startsOperand(k) { // juxtaposition is AND, as in a search box
			return l, nil
		}
		r, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
}

func (p *parser) parseUnary(depth int) (Expr, *SyntaxError) {
	if depth > maxDepth {
		return nil, p.errorf(p.peek(), "rule nested deeper than %d levels", maxDepth)
	}
	t := p.next()
	switch t.kind {
	case tkNot:
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	case tkTerm:
		text, exact := strings.CutPrefix(t.text, "=")
		if text == "" {
			return nil, p.errorf(t, "'=' must be followed by a term")
		}
		return termExpr{strings.ToLower(text), exact}, nil
	case tkPhrase:
		return phraseExpr{strings.ToLower(t.text)}, nil
	case tkLParen:
		e, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, p.errorf(c, "expected ')' to close '(' at col %d, found %s", t.col+1, describe(c))
		}
		return e, nil
	case tkNear:
		if c := p.next(); c.kind != tkLParen {
			return nil, p.errorf(c, "expected '(' after NEAR/%d, found %s", t.n, describe(c))
		}
		l, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkComma {
			return nil, p.errorf(c, "expected ',' between the two operands of NEAR/%d, found %s", t.n, describe(c))
		}
		r, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, p.errorf(c, "expected ')' to close NEAR/%d, found %s", t.n, describe(c))
		}
		if !hasPositive(l, false) || !hasPositive(r, false) {
			return nil, p.errorf(t, "both operands of NEAR/%d must require a term", t.n)
		}
		return nearExpr{t.n, l, r}, nil
	case tkScope:
		sp := SpeakerCustomer
		if t.text == "agent" {
			sp = SpeakerAgent
		}
		p.next() // '(' checked by the lexer
		e, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, p.errorf(c, "expected ')' to close %s(, found %s", t.text, describe(c))
		}
		return scopeExpr{sp, e}, nil
	}
	return nil, p.errorf(t, "expected a term, phrase, '(' or NEAR, found %s", describe(t))
}

func describe(t lexToken) string {
	switch t.kind {
	case tkEOF:
		return "end of rule"
	case tkTerm:
		return fmt.Sprintf("term %q", t.text)
	case tkPhrase:
		return fmt.Sprintf("phrase %q", t.text)
	case tkLParen:
		return "'('"
	case tkRParen:
		return "')'"
	case tkComma:
		return "','"
	case tkAnd:
		return "AND"
	case tkOr:
		return "OR"
	case tkNot:
		return "NOT"
	case tkNear:
		return fmt.Sprintf("NEAR/%d", t.n)
	case tkScope:
		return t.text + "("
	}
	return "token"
}

// hasPositive reports whether e can only match when some term is present,
// so the matcher can reach the rule from a term's posting list.
func hasPositive(e Expr, negated bool) bool {
	switch x := e.(type) {
	case termExpr, phraseExpr:
		return !negated
	case andExpr:
		if negated { // NOT (a & b) = !a | !b
			return hasPositive(x.l, true) && hasPositive(x.r, true)
		}
		return hasPositive(x.l, false) || hasPositive(x.r, false)
	case orExpr:
		if negated {
			return hasPositive(x.l, true) || hasPositive(x.r, true)
		}
		return hasPositive(x.l, false) && hasPositive(x.r, false)
	case notExpr:
		return hasPositive(x.x, !negated)
	case nearExpr:
		return !negated
	case scopeExpr:
		return hasPositive(x.x, negated)
	}
	return false
}

// Terms lists the plain terms of a rule (not phrases), for the segmenter's
// dictionary so that tagging and search cut text the same way.
func Terms(e Expr) []string {
	var out []string
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case termExpr:
			out = append(out, x.text)
		case andExpr:
			walk(x.l)
			walk(x.r)
		case orExpr:
			walk(x.l)
			walk(x.r)
		case notExpr:
			walk(x.x)
		case nearExpr:
			walk(x.l)
			walk(x.r)
		case scopeExpr:
			walk(x.x)
		}
	}
	walk(e)
	return out
}

// Op is the kind of a parsed expression, for code that translates rules
// into another query language (the search index reuses the rule syntax).
type Op uint8

// The expression kinds Inspect reports.
const (
	OpTerm   Op = iota // a term, matched as a token or inside a longer one
	OpExact            // =term: whole tokens only
	OpPhrase           // "a phrase"
	OpAnd
	OpOr
	OpNot
	OpNear  // NEAR/n(a, b)
	OpScope // customer(…) or agent(…)
)

// Inspect opens one node of a parsed rule: its kind, its text (terms and
// phrases), NEAR's distance and its operands in order.
func Inspect(e Expr) (op Op, text string, n int, operands []Expr) {
	switch e := e.(type) {
	case termExpr:
		if e.exact {
			return OpExact, e.text, 0, nil
		}
		return OpTerm, e.text, 0, nil
	case phraseExpr:
		return OpPhrase, e.text, 0, nil
	case andExpr:
		return OpAnd, "", 0, []Expr{e.l, e.r}
	case orExpr:
		return OpOr, "", 0, []Expr{e.l, e.r}
	case notExpr:
		return OpNot, "", 0, []Expr{e.x}
	case nearExpr:
		return OpNear, "", e.n, []Expr{e.l, e.r}
	case scopeExpr:
		return OpScope, e.speaker.String(), 0, []Expr{e.x}
	}
	panic(fmt.Sprintf("taxonomy: unknown expression %T", e))
}
