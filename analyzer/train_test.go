package analyzer

import (
	"slices"
	"testing"

	"dongting/analyzer/learn"
)

// TestChooseSceneThresholds: thresholds are chosen on the texts as the
// analyzer decides them. Short texts keep their rule scenes whatever the
// model says (here wrong at 0.9), so they must not pull the thresholds:
// the long texts' wrong rule scene (0.2) is dropped, the right one (0.6)
// kept.
func TestChooseSceneThresholds(t *testing.T) {
	scenes := []string{"parking", "fees"}
	var ex []learn.Example
	var oof [][]float64
	for i := range 20 {
		right := i%2 == 0
		p := 0.2
		if right {
			p = 0.6
		}
		if i < 4 {
			right, p = true, 0.1 // short: the rule is right, the model wrong
		}
		ex = append(ex, learn.Example{Targets: []bool{right, false}})
		oof = append(oof, []float64{p, 0.01})
	}
	m := &learn.Linear{Classes: scenes}
	ruled := func(int) []string { return []string{"parking"} }
	th, prf := chooseSceneThresholds(m, ex, oof, ruled, func(i int) bool { return i < 4 }, scenes)
	if v := th[learn.ConfirmKey]; v <= 0.2 || v > 0.6 {
		t.Errorf("confirm threshold %.2f, want one in (0.2, 0.6]", v)
	}
	if prf.FP != 0 || prf.FN != 0 {
		t.Errorf("out-of-fold counts %+v, want every decision right", prf)
	}
}

// TestSceneFeatures: the scene model reads a short text's words and
// character pairs (built here, since the other models skip short texts)
// and what the rules found, the estate included, and trains on the same.
func TestSceneFeatures(t *testing.T) {
	ws := []string{"小区", "幼儿园", "没开"}
	words := learn.ExtractWords(ws)
	got := sceneFeatures(ws, features{words: words}, []string{"amenities"}, []string{"amenities.supporting"})
	want := append(append(append(learn.Features{}, words...), learn.CharPairs(ws)...), learn.RuleFeatures([]string{"amenities"}, []string{"amenities.supporting"}, true)...)
	if !slices.Equal(got, want) {
		t.Errorf("sceneFeatures = %v, want %v", got, want)
	}
	long := features{all: learn.Extract(ws), words: words}
	if got := sceneFeatures(ws, long, nil, nil); !slices.Equal(got, long.all) {
		t.Errorf("no rule hit: %v, want the record's features %v", got, long.all)
	}
}
