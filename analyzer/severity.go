package analyzer

import (
	"math"
	"strings"
	"unicode/utf8"

	"dongting/analyzer/learn"
	"dongting/taxonomy"
)

// Thresholds for severity from sentiment alone.
const (
	severeScore = -0.9 // P2 without a rule: a short record very strongly negative
	praiseScore = 0.85 // 亮点 without a praise word: strongly positive
)

// grade sets severity, red lines and praise from the signal rules' hits,
// the record's sentiment label and its lexical strength (the lexicon's
// score: how strongly it is put, which the label alone does not say).
func (a *Analyzer) grade(out *Analysis, lexical Sentiment, hits []taxonomy.Hit, ev *evidenceMaker, p *parsed, feats features) {
	out.Severity = SeverityNone
	if out.Sentiment.Label == Positive && a.reportsHarm(hits) {
		// An incident, a hazard feared, an escalation or collective action
		// is a problem reported (LABELS.md: negative whatever the frame),
		// unless the record praises someone for it: 万一着火谁负责 and 昨晚
		// 发生火情 are not satisfaction, whatever words the model liked.
		out.Sentiment = Sentiment{Label: Negative, Score: -max(math.Abs(out.Sentiment.Score), 0.1)}
	}
	if a.plainRequest(p, hits, len(out.Tags) > 0, out.Sentiment.Label, lexical.Score) {
		out.Sentiment = Sentiment{Label: Neutral}
	}
	if out.Sentiment.Label == Negative {
		out.Severity = P3
	}
	// The red-line model's probability, on texts long enough for it (-1:
	// none; rules decide).
	redP, red := -1.0, (*learn.Linear)(nil)
	if feats.all != nil && a.models.Redline != nil {
		red = a.models.Redline
		redP = red.Probabilities(feats.all)[0]
	}
	praised := false
	for _, h := range hits {
		r := a.signals[h.Rule]
		kind, sev := r.kind, r.Severity
		if len(r.Unless) > 0 && allQualified(p, h.Evidence, r.Unless, r.UnlessIn == "clause") {
			kind, sev = "severe", r.Else
		}
		if kind == "redline" && red != nil && redP < red.Confirm(r.ID) {
			kind, sev = "severe", P2 // the red-line model does not confirm it
		}
		sig := Signal{ID: r.ID, Name: r.Name, Kind: kind, Severity: sev, Evidence: ev.spans(h.Evidence)}
		switch kind {
		case "redline":
			out.Redline = append(out.Redline, r.ID)
			out.Severity = P1
		case "severe":
			if out.Sentiment.Label != Negative {
				continue // 第二次来 with nothing wrong is not a repeat complaint
			}
			if sev == P2 && out.Severity != P1 {
				out.Severity = P2
			}
		case "praise":
			if out.Sentiment.Label != Positive {
				continue // 谢谢 in a complaint is politeness, not praise
			}
			praised = true
		}
		out.Signals = append(out.Signals, sig)
	}
	if red != nil && redP >= red.Thresholds[learn.SuggestKey] && len(out.Redline) == 0 {
		c := round3(redP)
		sig := Signal{ID: "model-redline", Name: "红线（模型）", Kind: "redline", Severity: P1, Confidence: &c}
		for _, i := range topWords(red, 0, p.tokens, 3) {
			sig.Evidence = append(sig.Evidence, ev.spans([]taxonomy.Span{{Start: p.tokens[i].Start, End: p.tokens[i].End, First: i, Last: i}})...)
		}
		out.Redline = append(out.Redline, sig.ID)
		out.Severity = P1
		out.Signals = append(out.Signals, sig)
	}
	// The lexicon's score sums a record's clauses, so a long letter that
	// describes its problem at length reaches it without any anger (on
	// the labelled messages it marked plain complaints more often than
	// severe ones): only a short record so put is severe.
	if lexical.Score <= severeScore && out.Severity == P3 && len(p.tokens) < learn.MinSceneWords {
		out.Severity = P2
		out.Signals = append(out.Signals, Signal{ID: "strong-negative", Name: "强烈不满", Kind: "sentiment", Severity: P2})
	}
	if !praised && out.Sentiment.Label == Positive && lexical.Score >= praiseScore {
		praised = true
		out.Signals = append(out.Signals, Signal{ID: "strong-positive", Name: "强烈满意", Kind: "sentiment"})
	}
	out.Praise = praised
}

// reportsHarm says whether a red-line rule matched, hedged or not, and no
// praise rule did.
func (a *Analyzer) reportsHarm(hits []taxonomy.Hit) bool {
	harm := false
	for _, h := range hits {
		switch a.signals[h.Rule].kind {
		case "redline":
			harm = true
		case "praise":
			return false
		}
	}
	return harm
}

// allQualified says whether every matched span sits in a sentence that also
// holds one of the qualifying words (see SignalRule.Unless; the clause
// alone when clauseOnly, see SignalRule.UnlessIn): then the
// match as a whole is qualified. One plain mention ("电梯困人了") among
// hedged ones keeps the red line.
func allQualified(p *parsed, spans []taxonomy.Span, words []string, clauseOnly bool) bool {
	for _, sp := range spans {
		if !sentenceHas(p, sp.First, words, clauseOnly) {
			return false
		}
	}
	return len(spans) > 0
}

// sentenceHas says whether the sentence of token i holds one of words (its
// clause alone when clauseOnly).
func sentenceHas(p *parsed, i int, words []string, clauseOnly bool) bool {
	if i < 0 || i >= len(p.tokCl) {
		return false
	}
	c := int(p.tokCl[i])
	if c >= len(p.clauses) {
		return false
	}
	lo, hi := c, c
	for !clauseOnly && lo > 0 && !p.clauses[lo-1].sentEnd {
		lo--
	}
	for !clauseOnly && hi < len(p.clauses)-1 && !p.clauses[hi].sentEnd {
		hi++
	}
	for k := p.clauses[lo].lo; k < p.clauses[hi].hi && k < len(p.tokens); k++ {
		t := p.tokens[k].Text
		for _, w := range words {
			if t == w || (utf8.RuneCountInString(w) > 1 && strings.Contains(t, w)) {
				return true
			}
		}
	}
	return false
}
