package analyzer

import (
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
