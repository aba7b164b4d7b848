package learn

import (
	"maps"
	"slices"
)

// MaxFalseAlarms is the share of messages without a red line that may be
// flagged one: the product's target. Red-line thresholds are chosen for the
// highest recall within it.
const MaxFalseAlarms = 0.05

// ConfirmKeyOf is the key of a red-line rule's own confirm threshold in the
// red-line model's Thresholds. Rules differ in how often their words mean
// a red line (法院 in a quoted regulation, 维权 said of one worker), so each
// asks the model for as much confirmation as its hits need.
func ConfirmKeyOf(rule string) string { return ConfirmKey + ":" + rule }

// Confirm is the probability the red-line model must give a hit of rule
// for it to stay a red line: the rule's own threshold, else ConfirmKey.
func (m *Linear) Confirm(rule string) float64 {
	if t, ok := m.Thresholds[ConfirmKeyOf(rule)]; ok {
		return t
	}
	return m.Thresholds[ConfirmKey]
}

// RedlineCase is one labelled text for choosing red-line thresholds: its
// label, the red-line rules that fired on it and the model's out-of-fold
// probability.
type RedlineCase struct {
	Gold  bool
	Rules []string
	Prob  float64
}

// ChooseRedline picks a confirm threshold per rule and one suggest
// threshold (a red line no rule found) for the highest recall whose false
// alarms stay within maxFalseAlarms of the texts without a red line (ties:
// fewer false alarms). It trades recall against false alarms at a range of
// prices and keeps the best trade within the cap; at each price, a
// coordinate search sets one threshold at a time. Deterministic.
func ChooseRedline(cases []RedlineCase, maxFalseAlarms float64) (map[string]float64, PRF) {
	var rules []string
	pos, neg := 0, 0
	for _, c := range cases {
		for _, r := range c.Rules {
			if !slices.Contains(rules, r) {
				rules = append(rules, r)
			}
		}
		if c.Gold {
			pos++
		} else {
			neg++
		}
	}
	slices.Sort(rules)
	var confirms, suggests []float64
	for i := 0; i <= 60; i++ { // fine where the hits of most rules lie
		confirms = append(confirms, float64(i)/100)
	}
	for i := 65; i <= 100; i += 5 {
		confirms = append(confirms, float64(i)/100)
	}
	confirms = append(confirms, 2) // the rule alone is never enough
	for i := 30; i <= 100; i += 5 {
		suggests = append(suggests, float64(i)/100)
	}
	suggests = append(suggests, 2) // never
	count := func(th map[string]float64) PRF {
		var c PRF
		for _, x := range cases {
			c.Add(x.Gold, redlineOf(th, x))
		}
		return c
	}
	var best map[string]float64
	var bestPRF PRF
	found := false
	for price := 0.5; price <= 20; price += 0.25 {
		th := map[string]float64{ConfirmKey: 0, SuggestKey: 2}
		for _, r := range rules {
			th[ConfirmKeyOf(r)] = 0
		}
		value := func(c PRF) float64 {
			return ratio(c.TP, pos) - price*ratio(c.FP, neg)
		}
		set := func(key string, grid []float64) {
			bestV, bestT := 0.0, th[key]
			for j, t := range grid {
				th[key] = t
				if v := value(count(th)); j == 0 || v > bestV+1e-12 {
					bestV, bestT = v, t
				}
			}
			th[key] = bestT
		}
		for range 3 {
			for _, r := range rules {
				set(ConfirmKeyOf(r), confirms)
			}
			set(SuggestKey, suggests)
		}
		c := count(th)
		if ratio(c.FP, neg) > maxFalseAlarms {
			continue
		}
		if !found || c.TP > bestPRF.TP || (c.TP == bestPRF.TP && c.FP < bestPRF.FP) {
			best, bestPRF, found = maps.Clone(th), c, true
		}
	}
	if found {
		fill(best, &bestPRF, count, rules, confirms, suggests, int(maxFalseAlarms*float64(neg)))
	}
	if !found { // nothing within the cap: no red line from the model, rules need certainty
		best = map[string]float64{ConfirmKey: 1, SuggestKey: 2}
		bestPRF = count(best)
	}
	return best, bestPRF
}

// redlineOf is the fused decision for one case under thresholds th.
func redlineOf(th map[string]float64, c RedlineCase) bool {
	for _, r := range c.Rules {
		t, ok := th[ConfirmKeyOf(r)]
		if !ok {
			t = th[ConfirmKey]
		}
		if c.Prob >= t {
			return true
		}
	}
	return c.Prob >= th[SuggestKey]
}

// fill spends what is left of the false-alarm budget: it lowers one
// threshold to a lower grid value at a time, the move that gains the most
// red lines per false alarm, while the false alarms stay within maxFP.
func fill(th map[string]float64, c *PRF, count func(map[string]float64) PRF, rules []string, confirms, suggests []float64, maxFP int) {
	keys := []string{SuggestKey}
	for _, r := range rules {
		keys = append(keys, ConfirmKeyOf(r))
	}
	for {
		bestKey, bestT, bestRate := "", 0.0, 0.0
		var bestC PRF
		for _, k := range keys {
			grid := confirms
			if k == SuggestKey {
				grid = suggests
			}
			old := th[k]
			for _, t := range grid {
				if t >= old {
					break
				}
				th[k] = t
				n := count(th)
				gain, cost := n.TP-c.TP, n.FP-c.FP
				if gain > 0 && n.FP <= maxFP {
					rate := float64(gain) / float64(max(cost, 0)+1)
					if rate > bestRate+1e-12 {
						bestKey, bestT, bestRate, bestC = k, t, rate, n
					}
				}
			}
			th[k] = old
		}
		if bestKey == "" {
			return
		}
		th[bestKey], *c = bestT, bestC
	}
}
