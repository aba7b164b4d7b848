package analyzer

import (
	"errors"
	"fmt"

	"dongting/analyzer/learn"
	"dongting/taxonomy"
)

// Explanation says why a record is or is not tagged with a node: the
// node's rule evaluated part by part on the record's tokens (for a scene,
// each of its touchpoints' rules), the tokens themselves as the rules see
// them (楼道充电 is one word, 楼道/里/充电 three), and what the scene model
// decided.
type Explanation struct {
	*taxonomy.Explanation
	Tokens   []string                `json:"tokens"`
	Children []*taxonomy.Explanation `json:"children,omitempty"` // a scene's touchpoints whose rules matched
	Model    *ModelVote              `json:"model,omitempty"`
}

// ModelVote is the scene model's part in a decision.
type ModelVote struct {
	Scene       string  `json:"scene"`
	Probability float64 `json:"probability"`
	Confirm     float64 `json:"confirm"` // a rule tag of the scene is kept at this probability or above
	Suggest     float64 `json:"suggest"` // the model proposes the scene alone at this or above
	Decision    string  `json:"decision"`
}

// Explain explains the record's tagging with a node (see Explanation).
func (a *Analyzer) Explain(r *Record, nodeID string) (*Explanation, error) {
	p, err := a.parse(r)
	if err != nil {
		return nil, err
	}
	out := a.finish(p, a.tagger)
	tokens := p.tokens
	ex := &Explanation{Tokens: make([]string, len(tokens))}
	for i, t := range tokens {
		ex.Tokens[i] = t.Text
	}
	runes := []rune(out.Text)
	node, ok := a.Taxonomy().Node(nodeID)
	if !ok {
		return nil, fmt.Errorf("analyzer: no node %q", nodeID)
	}
	one, err := a.tagger.Explain(nodeID, tokens)
	switch {
	case errors.Is(err, taxonomy.ErrNoRule):
		// A scene (or a grouping node): tagged through the nodes below it.
		one = &taxonomy.Explanation{Node: nodeID}
		var walk func(n *taxonomy.Node)
		walk = func(n *taxonomy.Node) {
			for _, c := range n.Children {
				if ce, err := a.tagger.Explain(c.ID, tokens); err == nil && ce.Matched {
					fillEvidence(&ce.Steps, runes)
					ex.Children = append(ex.Children, ce)
					one.Matched = true
					one.Tagged = one.Tagged || ce.Tagged
				}
				walk(c)
			}
		}
		walk(node)
		for _, t := range out.Tags {
			one.Tagged = one.Tagged || t.Scene == nodeID && t.Source == "model"
		}
	case err != nil:
		return nil, err
	default:
		fillEvidence(&one.Steps, runes)
	}
	ex.Explanation = one
	ex.Model = a.modelVote(p, out, node)
	p.release()
	return ex, nil
}

func fillEvidence(st *taxonomy.Step, runes []rune) {
	for i := range st.Evidence {
		e := &st.Evidence[i]
		if e.Start >= 0 && e.End <= len(runes) && e.Start < e.End {
			e.Text = string(runes[e.Start:e.End])
		}
	}
	for i := range st.Parts {
		fillEvidence(&st.Parts[i], runes)
	}
}

// modelVote says what the scene model did with the node's scene.
func (a *Analyzer) modelVote(p *parsed, out *Analysis, node *taxonomy.Node) *ModelVote {
	if a.models == nil || node.Scene == "" {
		return nil
	}
	m := a.models.Scenes
	v := &ModelVote{Scene: node.Scene, Confirm: m.Thresholds[learn.ConfirmKey], Suggest: m.Thresholds[learn.SuggestKey]}
	k := m.Class(node.Scene)
	switch {
	case k < 0:
		v.Decision = "rules only: the model does not know this scene"
		return v
	case !a.models.Knows(node.ID):
		v.Decision = "rules only: the node is newer than the model"
	case len(p.tokens) < learn.MinSceneWords:
		v.Decision = fmt.Sprintf("rules only: under %d words", learn.MinSceneWords)
	}
	if f := a.features(p); f.all != nil {
		v.Probability = round3(a.sceneProbabilities(p, f)[k])
	}
	if v.Decision != "" {
		return v
	}
	ruled, tagged := false, false
	for _, r := range out.Rejected {
		ruled = ruled || r.Scene == node.Scene
	}
	for _, t := range out.Tags {
		if t.Scene == node.Scene {
			tagged = true
			ruled = ruled || t.Source != "model"
		}
	}
	switch {
	case ruled && tagged:
		v.Decision = "kept: a rule found the scene and the model confirmed it"
	case ruled:
		v.Decision = "dropped: a rule found the scene, the model's probability is under confirm"
	case tagged:
		v.Decision = "proposed: no rule found the scene, the model's probability reached suggest"
	default:
		v.Decision = "not proposed: no rule found the scene and the model's probability is under suggest"
	}
	return v
}
