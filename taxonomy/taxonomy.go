// Package taxonomy holds the touchpoint tree (scenes → touchpoints, plus the
// independent "dimension" facet), the rule language its nodes are written
// in, and the compiled matcher that tags a record's tokens.
package taxonomy

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Node is a scene, a touchpoint or a dimension.
type Node struct {
	ID        string
	Name      string
	Scene     string   // id of the level-1 scene (empty for dimensions)
	Path      []string // names from the scene (or dimension) down to this node
	Parent    *Node
	Parents   []string // ancestor ids, nearest first (shared: do not modify)
	Children  []*Node
	Dimension bool
	Rule      string // the effective rule: terms | rule, minus excludes
	Line      int    // where the node starts in its file
}

// Taxonomy is a parsed, validated tree.
type Taxonomy struct {
	ID         string
	Name       string
	Scenes     []*Node
	Dimensions []*Node
	nodes      map[string]*Node
	sources    []Source
	ruleNodes  []*Node // ruleNodes[i] is the node of sources[i]
}

// Node returns the node with the given id.
func (t *Taxonomy) Node(id string) (*Node, bool) {
	n, ok := t.nodes[id]
	return n, ok
}

// Touchpoints counts the nodes below the scenes.
func (t *Taxonomy) Touchpoints() int {
	n := 0
	for _, node := range t.nodes {
		if !node.Dimension && node.Parent != nil {
			n++
		}
	}
	return n
}

// IsAncestor reports whether a is b or an ancestor of b.
func IsAncestor(a, b *Node) bool {
	for n := b; n != nil; n = n.Parent {
		if n == a {
			return true
		}
	}
	return false
}

type yamlNode struct {
	ID          string     `yaml:"id"`
	Name        string     `yaml:"name"`
	Terms       []string   `yaml:"terms"`
	Rule        string     `yaml:"rule"`
	Exclude     []string   `yaml:"exclude"`
	Touchpoints []yamlNode `yaml:"touchpoints"`
	line, col   int
	ruleLine    int
	ruleCol     int
}

// UnmarshalYAML keeps the line and column of the node and of its rule.
func (n *yamlNode) UnmarshalYAML(v *yaml.Node) error {
	type plain yamlNode
	var p plain
	if err := v.Decode(&p); err != nil {
		return err
	}
	*n = yamlNode(p)
	n.line, n.col = v.Line, v.Column
	if err := KnownKeys(v, "id", "name", "terms", "rule", "exclude", "touchpoints"); err != nil {
		return err
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value == "rule" {
			val := v.Content[i+1]
			n.ruleLine, n.ruleCol = val.Line, val.Column-1
			if val.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				n.ruleCol++
			}
			if val.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				n.ruleLine++ // block scalars start on the next line
				n.ruleCol = 0
			}
		}
	}
	return nil
}

// KnownKeys rejects mapping keys outside known: a custom UnmarshalYAML does
// not inherit the decoder's KnownFields, and a misspelt key (nmae) must not
// be silently ignored.
func KnownKeys(v *yaml.Node, known ...string) error {
	if v.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := v.Content[i]
		ok := false
		for _, s := range known {
			if k.Value == s {
				ok = true
				break
			}
		}
		if !ok {
			return &ValidationError{Line: k.Line, Col: k.Column, Msg: fmt.Sprintf("unknown field %q (want one of %s)", k.Value, strings.Join(known, ", "))}
		}
	}
	return nil
}

type yamlFile struct {
	ID         string     `yaml:"id"`
	Name       string     `yaml:"name"`
	Scenes     []yamlNode `yaml:"scenes"`
	Dimensions []yamlNode `yaml:"dimensions"`
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$`)

// ValidationError names the node and where it is in the file.
type ValidationError struct {
	Node string
	Line int
	Col  int
	Msg  string
}

func (e *ValidationError) Error() string {
	if e.Node == "" {
		return fmt.Sprintf("taxonomy: line %d, col %d: %s", e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("taxonomy: node %s: line %d, col %d: %s", e.Node, e.Line, e.Col, e.Msg)
}

// Parse reads a taxonomy from YAML (JSON is valid YAML) and validates it:
// ids unique and well-formed, names present, every rule parses. All problems
// are reported together.
func Parse(src []byte) (*Taxonomy, error) {
	var f yamlFile
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, ve
		}
		return nil, fmt.Errorf("taxonomy: %w", err)
	}
	t := &Taxonomy{ID: f.ID, Name: f.Name, nodes: make(map[string]*Node)}
	var errs []error
	if f.ID == "" {
		errs = append(errs, &ValidationError{Line: 1, Col: 1, Msg: "missing taxonomy id"})
	}
	if len(f.Scenes) == 0 {
		errs = append(errs, &ValidationError{Line: 1, Col: 1, Msg: "no scenes"})
	}
	for i := range f.Scenes {
		t.Scenes = append(t.Scenes, t.build(&f.Scenes[i], nil, false, &errs))
	}
	for i := range f.Dimensions {
		t.Dimensions = append(t.Dimensions, t.build(&f.Dimensions[i], nil, true, &errs))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

func (t *Taxonomy) build(y *yamlNode, parent *Node, dim bool, errs *[]error) *Node {
	n := &Node{ID: y.ID, Name: strings.TrimSpace(y.Name), Parent: parent, Dimension: dim, Line: y.line}
	fail := func(format string, args ...any) {
		*errs = append(*errs, &ValidationError{Node: y.ID, Line: y.line, Col: y.col, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case y.ID == "":
		fail("missing id")
	case !idPattern.MatchString(y.ID):
		fail("id %q: use lower-case letters, digits, '-', '_' and '.'", y.ID)
	case t.nodes[y.ID] != nil:
		fail("duplicate id %q (first at line %d)", y.ID, t.nodes[y.ID].Line)
	default:
		t.nodes[y.ID] = n
	}
	if n.Name == "" {
		fail("missing name")
	}
	if parent == nil {
		n.Path = []string{n.Name}
		n.Parents = []string{} // known to have none (nil would read as "not recorded")
		if !dim {
			n.Scene = n.ID
		}
	} else {
		n.Path = append(append([]string(nil), parent.Path...), n.Name)
		n.Scene = parent.Scene
		n.Parents = append([]string{parent.ID}, parent.Parents...)
	}
	rule, err := effectiveRule(y)
	if err != "" {
		fail("%s", err)
	}
	n.Rule = rule
	if rule != "" {
		src := Source{Name: y.ID, Rule: rule, Line: y.line, Col: 0}
		if y.Rule != "" && len(y.Terms) == 0 && len(y.Exclude) == 0 {
			src.Line, src.Col = y.ruleLine, y.ruleCol // errors point into the rule itself
		}
		if _, perr := parseRule(rule); perr != nil {
			*errs = append(*errs, &SyntaxError{Rule: y.ID, Line: src.Line, Col: src.Col + perr.Col + 1, Msg: perr.Msg})
		}
		t.sources = append(t.sources, src)
		t.ruleNodes = append(t.ruleNodes, n)
	} else if len(y.Touchpoints) == 0 {
		fail("a leaf node needs terms or a rule")
	}
	for i := range y.Touchpoints {
		if dim {
			fail("dimensions are flat: no touchpoints below a dimension")
			break
		}
		n.Children = append(n.Children, t.build(&y.Touchpoints[i], n, dim, errs))
	}
	return n
}

// effectiveRule combines terms, rule and exclude: (t1 | t2 | rule) & NOT (x1 | x2).
func effectiveRule(y *yamlNode) (string, string) {
	var alts []string
	for _, term := range y.Terms {
		term = strings.TrimSpace(term)
		if term == "" {
			return "", "empty term in terms"
		}
		if strings.ContainsAny(term, "()|&!\",（）｜，") || strings.ContainsAny(term, " \t") {
			alts = append(alts, `"`+strings.ReplaceAll(term, `"`, "")+`"`)
		} else {
			alts = append(alts, term)
		}
	}
	if r := strings.TrimSpace(y.Rule); r != "" {
		if len(alts) > 0 {
			r = "(" + r + ")"
		}
		alts = append(alts, r)
	}
	if len(alts) == 0 {
		if len(y.Exclude) > 0 {
			return "", "exclude without terms or a rule"
		}
		return "", ""
	}
	rule := strings.Join(alts, " | ")
	if len(y.Exclude) > 0 {
		var ex []string
		for _, x := range y.Exclude {
			if x = strings.TrimSpace(x); x != "" {
				ex = append(ex, `"`+strings.ReplaceAll(x, `"`, "")+`"`)
			}
		}
		rule = "(" + rule + ") & NOT (" + strings.Join(ex, " | ") + ")"
	}
	return rule, ""
}

// Terms lists every plain term used by the taxonomy's rules, for the
// segmenter's dictionary.
func (t *Taxonomy) Terms() []string { return t.terms(true) }

// TopicTerms lists the terms of scenes and touchpoints, not dimensions:
// words that name what a record is about.
func (t *Taxonomy) TopicTerms() []string { return t.terms(false) }

func (t *Taxonomy) terms(dimensions bool) []string {
	seen := make(map[string]bool)
	var out []string
	for i, s := range t.sources {
		if !dimensions && t.ruleNodes[i].Dimension {
			continue
		}
		e, err := parseRule(s.Rule)
		if err != nil {
			continue
		}
		for _, term := range Terms(e) {
			if !seen[term] {
				seen[term] = true
				out = append(out, term)
			}
		}
	}
	return out
}

// Tagger matches a compiled taxonomy, and any extra rules compiled with it,
// against tokens in one pass.
type Tagger struct {
	tax *Taxonomy
	m   *Matcher
	n   int // rules below n are the taxonomy's; the rest are extra
}

// Compile compiles every node's rule, plus extra rules (red lines, say),
// into one matcher, so a record's tokens are looked up once.
func (t *Taxonomy) Compile(tok Tokenizer, extra ...Source) (*Tagger, error) {
	m, err := Compile(append(append([]Source(nil), t.sources...), extra...), tok)
	if err != nil {
		return nil, err
	}
	return &Tagger{tax: t, m: m, n: len(t.sources)}, nil
}

// Terms lists every term the compiled rules look for.
func (tg *Tagger) Terms() []string { return tg.m.Terms() }

// Taxonomy is the tree the tagger was compiled from.
func (tg *Tagger) Taxonomy() *Taxonomy { return tg.tax }

// TagHit is a matched node with its evidence.
type TagHit struct {
	Node     *Node
	Rule     string
	Evidence []Span
}

// Tag returns the most specific matching nodes: when a node and one of its
// descendants both match, only the descendant is kept (its path names the
// ancestor). Hits of the extra rules come second, with Rule indexing extra.
func (tg *Tagger) Tag(tokens []Token) ([]TagHit, []Hit) {
	hits := tg.m.Match(tokens)
	out := make([]TagHit, 0, len(hits))
	var extra []Hit
	for _, h := range hits {
		if h.Rule >= tg.n {
			h.Rule -= tg.n
			extra = append(extra, h)
			continue
		}
		n := tg.tax.ruleNodes[h.Rule]
		out = append(out, TagHit{Node: n, Rule: n.Rule, Evidence: h.Evidence})
	}
	kept := out[:0]
	for i, h := range out {
		shadowed := false
		for j, o := range out {
			if i != j && o.Node != h.Node && (IsAncestor(h.Node, o.Node) || inside(h.Evidence, o.Evidence)) {
				shadowed = true
				break
			}
		}
		if !shadowed {
			kept = append(kept, h)
		}
	}
	return kept, extra
}

// Explanation says why a node is or is not tagged on a record.
type Explanation struct {
	Node       string   `json:"node"`
	Rule       string   `json:"rule"`
	Matched    bool     `json:"matched"` // the node's rule matched
	Tagged     bool     `json:"tagged"`  // and the tag was kept
	ShadowedBy []string `json:"shadowed_by,omitempty"`
	Steps      Step     `json:"steps"`
}

// ErrNoRule is a node tagged only through its children.
var ErrNoRule = errors.New("taxonomy: the node has no rule of its own (it is tagged through the nodes below it)")

// Explain evaluates a node's rule on tokens part by part and says whether
// the tag was kept or shadowed by a more specific one.
func (tg *Tagger) Explain(nodeID string, tokens []Token) (*Explanation, error) {
	n, ok := tg.tax.Node(nodeID)
	if !ok {
		return nil, fmt.Errorf("taxonomy: no node %q", nodeID)
	}
	rule := -1
	for i, rn := range tg.tax.ruleNodes {
		if rn == n {
			rule = i
			break
		}
	}
	if rule < 0 {
		return nil, ErrNoRule
	}
	ex := &Explanation{Node: n.ID, Rule: n.Rule, Steps: tg.m.Explain(rule, tokens)}
	ex.Matched = ex.Steps.Matched && len(ex.Steps.Evidence) > 0
	kept, _ := tg.Tag(tokens)
	for _, h := range kept {
		if h.Node == n {
			ex.Tagged = true
		}
	}
	if ex.Matched && !ex.Tagged {
		var mine []Span
		for _, h := range tg.m.Match(tokens) {
			if h.Rule == rule {
				mine = h.Evidence
			}
		}
		for _, h := range kept {
			if h.Node != n && (IsAncestor(n, h.Node) || inside(mine, h.Evidence)) {
				ex.ShadowedBy = append(ex.ShadowedBy, h.Node.ID)
			}
		}
	}
	return ex, nil
}

// inside reports whether every span of a lies within a strictly longer span
// of b: 地库 matched only as part of 地库漏水 belongs to the node that
// matched the longer term, not to a second node.
func inside(a, b []Span) bool {
	for _, x := range a {
		ok := false
		for _, y := range b {
			if y.Start <= x.Start && x.End <= y.End && y.End-y.Start > x.End-x.Start {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return len(a) > 0
}
