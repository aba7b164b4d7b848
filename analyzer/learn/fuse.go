package learn

import (
	"cmp"
	"slices"
)

// Fusion thresholds, stored in the scene model's Thresholds under these
// keys: a scene that a rule found is kept when the model gives it at least
// ConfirmKey; a scene no rule found is suggested by the model at SuggestKey
// or above.
const (
	ConfirmKey = "confirm"
	SuggestKey = "suggest"
	MaxScenes  = 3
)

// SceneDecision is one scene of a record after rules and the model voted.
type SceneDecision struct {
	Scene      string
	Confidence float64 // the model's probability; RuleOnly when it does not know the scene
	Rule       bool    // a rule found it
	Model      bool    // the model confirmed or proposed it
}

// RuleOnly is the confidence of a scene the model does not know (a scene
// added to the taxonomy after the model was trained): rules decide alone.
const RuleOnly = -1

// Fuse decides a record's scenes from the scenes rules found and the
// model's probabilities (nil: no model, rules decide). At most MaxScenes
// are kept, most confident first, rule-only scenes after the ones the
// model backs.
func Fuse(m *Linear, ruleScenes []string, probs []float64) []SceneDecision {
	var out []SceneDecision
	confirm, suggest := 0.0, 2.0
	if m != nil {
		confirm, suggest = m.Thresholds[ConfirmKey], m.Thresholds[SuggestKey]
	}
	for _, s := range ruleScenes {
		k := -1
		if m != nil {
			k = m.Class(s)
		}
		if k < 0 {
			out = append(out, SceneDecision{Scene: s, Confidence: RuleOnly, Rule: true})
			continue
		}
		if probs[k] >= confirm {
			out = append(out, SceneDecision{Scene: s, Confidence: probs[k], Rule: true, Model: true})
		}
	}
	if m != nil {
		for k, s := range m.Classes {
			if probs[k] >= suggest && !slices.Contains(ruleScenes, s) {
				out = append(out, SceneDecision{Scene: s, Confidence: probs[k], Model: true})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b SceneDecision) int { return cmp.Compare(b.Confidence, a.Confidence) })
	if len(out) > MaxScenes {
		out = out[:MaxScenes]
	}
	return out
}

// Scenes are the decided scene ids.
func Scenes(ds []SceneDecision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Scene
	}
	return out
}
