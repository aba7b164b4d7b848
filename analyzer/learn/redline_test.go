package learn

import (
	"maps"
	"testing"
)

// redlineCases: rule "court" is right whatever the model says; rule
// "police" is right only when the model agrees (high probability); a
// red line no rule finds is found by a very sure model.
func redlineCases() []RedlineCase {
	var cs []RedlineCase
	for i := range 20 {
		cs = append(cs, RedlineCase{Gold: true, Rules: []string{"court"}, Prob: 0.02 + float64(i)/100})
		cs = append(cs, RedlineCase{Gold: true, Rules: []string{"police"}, Prob: 0.6})
		cs = append(cs, RedlineCase{Gold: false, Rules: []string{"police"}, Prob: 0.1})
		cs = append(cs, RedlineCase{Gold: true, Prob: 0.95})
		for range 10 {
			cs = append(cs, RedlineCase{Gold: false, Prob: 0.2})
		}
	}
	return cs
}

func TestChooseRedlineSetsAThresholdPerRule(t *testing.T) {
	cs := redlineCases()
	th, prf := ChooseRedline(cs, 0.05)
	if prf.Recall() != 1 || prf.FP != 0 {
		t.Errorf("recall %.3f with %d false alarms, want every red line and none (thresholds %v)", prf.Recall(), prf.FP, th)
	}
	m := &Linear{Thresholds: th}
	if c := m.Confirm("court"); c > 0.02 {
		t.Errorf("court needs %.2f, want no more than its weakest hit (0.02)", c)
	}
	if c := m.Confirm("police"); c <= 0.1 || c > 0.6 {
		t.Errorf("police needs %.2f, want above its false alarms' 0.10 and at most 0.60", c)
	}
	if s := th[SuggestKey]; s <= 0.2 || s > 0.95 {
		t.Errorf("suggest %.2f, want above 0.20 and at most 0.95", s)
	}
	if c := m.Confirm("a rule trained later"); c != th[ConfirmKey] {
		t.Errorf("an unknown rule needs %.2f, want the default %.2f", c, th[ConfirmKey])
	}
	again, _ := ChooseRedline(cs, 0.05)
	if !maps.Equal(th, again) {
		t.Errorf("not deterministic: %v then %v", th, again)
	}
}

func TestChooseRedlineKeepsFalseAlarmsWithinTheCap(t *testing.T) {
	cs := redlineCases()
	// Half the police hits a model cannot tell apart: taking them all
	// costs 20 false alarms of 240 (8%), over a 5% cap.
	for i := range cs {
		if !cs[i].Gold && len(cs[i].Rules) > 0 {
			cs[i].Prob = 0.6
		}
	}
	neg := 0
	for _, c := range cs {
		if !c.Gold {
			neg++
		}
	}
	th, prf := ChooseRedline(cs, 0.05)
	if fa := float64(prf.FP) / float64(neg); fa > 0.05 {
		t.Errorf("false alarms %.3f over the cap (thresholds %v)", fa, th)
	}
	if prf.TP != 40 {
		t.Errorf("%d red lines found, want the 40 that cost no false alarm (thresholds %v)", prf.TP, th)
	}
}

func TestNeutralClass(t *testing.T) {
	classes := []string{"negative", "neutral", "positive"}
	for _, tt := range []struct {
		probs []float64
		th    float64
		want  int
	}{
		{[]float64{0.6, 0.3, 0.1}, 0.25, 1}, // neutral at the threshold though not the most probable
		{[]float64{0.6, 0.3, 0.1}, 0.35, 0},
		{[]float64{0.2, 0.3, 0.5}, 0.35, 2},
		{[]float64{0.1, 0.8, 0.1}, 0.9, 0}, // below the threshold: the likelier polarity (ties: the first)
	} {
		if got := NeutralClass(classes, tt.probs, tt.th); got != tt.want {
			t.Errorf("NeutralClass(%v, %.2f) = %d, want %d", tt.probs, tt.th, got, tt.want)
		}
	}
}
