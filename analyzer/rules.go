package analyzer

import (
	"bytes"
	"fmt"
	"io/fs"

	"gopkg.in/yaml.v3"

	"dongting/taxonomy"
)

// Severity levels (ARCHITECTURE.md, "Severity").
const (
	P1           = "P1"
	P2           = "P2"
	P3           = "P3"
	SeverityNone = "none"
)

// SignalRule is a red-line, severe-dissatisfaction or praise rule from
// data/rules/severity.yaml.
type SignalRule struct {
	ID       string `yaml:"id" json:"id"`
	Name     string `yaml:"name" json:"name"`
	Severity string `yaml:"severity" json:"severity,omitempty"`
	Scope    string `yaml:"scope" json:"-"` // customer (default) or any
	Rule     string `yaml:"rule" json:"-"`
	// Unless lists words that, in the same sentence as the match, make it
	// something less: a hazard spoken of (一旦, 万一, 隐患) rather than an
	// incident, a call to 12345 made before (打了, 也没用) rather than
	// threatened. Such a match counts at Else (P2) instead.
	Unless Words `yaml:"unless" json:"-"`
	// UnlessIn is where the unless words are looked for: "sentence" (the
	// default) or "clause", the clauses the match itself lies in, for a
	// rule whose qualifier belongs to the words beside it (打了三次12345，
	// 门禁还是坏的，再不修我就打市长热线 is a threat after a past call).
	UnlessIn string `yaml:"unless_in" json:"-"`
	Else     string `yaml:"else" json:"-"`
	line     int
	col      int
	kind     string // redline, severe, praise
}

// Words is a list of words in a rules file. An item may itself be a list
// (a YAML alias of another rule's words), taken in place, so rules that
// share part of a list share it rather than copy it.
type Words []string

// UnmarshalYAML takes scalars and lists of scalars.
func (w *Words) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: want a list of words", v.Line)
	}
	for _, item := range v.Content {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		switch item.Kind {
		case yaml.ScalarNode:
			*w = append(*w, item.Value)
		case yaml.SequenceNode:
			var inner Words
			if err := inner.UnmarshalYAML(item); err != nil {
				return err
			}
			*w = append(*w, inner...)
		default:
			return fmt.Errorf("line %d: want a word or a list of words", item.Line)
		}
	}
	return nil
}

// UnmarshalYAML keeps where the rule text is, for compile errors.
func (r *SignalRule) UnmarshalYAML(v *yaml.Node) error {
	type plain SignalRule
	var p plain
	if err := v.Decode(&p); err != nil {
		return err
	}
	*r = SignalRule(p)
	r.line = v.Line
	if err := taxonomy.KnownKeys(v, "id", "name", "severity", "scope", "rule", "unless", "unless_in", "else"); err != nil {
		return err
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value == "rule" {
			r.line, r.col = v.Content[i+1].Line, v.Content[i+1].Column-1
		}
	}
	return nil
}

type signalFile struct {
	Redline []SignalRule `yaml:"redline"`
	Severe  []SignalRule `yaml:"severe"`
	Praise  []SignalRule `yaml:"praise"`
}

// LoadSignalRules reads and checks rules/severity.yaml.
func LoadSignalRules(fsys fs.FS) ([]SignalRule, error) {
	const name = "rules/severity.yaml"
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	var f signalFile
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("analyzer: %s: %w", name, err)
	}
	var out []SignalRule
	seen := map[string]bool{}
	for _, group := range []struct {
		kind  string
		rules []SignalRule
		sev   []string
	}{{"redline", f.Redline, []string{P1}}, {"severe", f.Severe, []string{P2}}, {"praise", f.Praise, []string{""}}} {
		for _, r := range group.rules {
			r.kind = group.kind
			switch {
			case r.ID == "" || r.Rule == "":
				return nil, fmt.Errorf("analyzer: %s:%d: a %s rule needs an id and a rule", name, r.line, group.kind)
			case seen[r.ID]:
				return nil, fmt.Errorf("analyzer: %s:%d: duplicate rule id %q", name, r.line, r.ID)
			case !contains(group.sev, r.Severity):
				return nil, fmt.Errorf("analyzer: %s:%d: rule %s: severity %q, want %q in %s", name, r.line, r.ID, r.Severity, group.sev[0], group.kind)
			case r.Scope != "" && r.Scope != "customer" && r.Scope != "any":
				return nil, fmt.Errorf("analyzer: %s:%d: rule %s: scope %q, want customer or any", name, r.line, r.ID, r.Scope)
			case len(r.Unless) > 0 && r.Else != P2 && r.Else != P3:
				return nil, fmt.Errorf("analyzer: %s:%d: rule %s: unless needs else: P2 or P3", name, r.line, r.ID)
			case r.UnlessIn != "" && r.UnlessIn != "sentence" && r.UnlessIn != "clause":
				return nil, fmt.Errorf("analyzer: %s:%d: rule %s: unless_in %q, want sentence or clause", name, r.line, r.ID, r.UnlessIn)
			case len(r.Unless) == 0 && r.Else != "":
				return nil, fmt.Errorf("analyzer: %s:%d: rule %s: else without unless", name, r.line, r.ID)
			}
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// source turns the rule into a matcher source; customer scope wraps it.
func (r SignalRule) source() taxonomy.Source {
	rule, col := r.Rule, r.col
	if r.Scope != "any" {
		rule, col = "customer("+rule+")", col-len("customer(")
	}
	return taxonomy.Source{Name: r.ID, Rule: rule, Line: r.line, Col: col}
}
