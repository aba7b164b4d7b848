package analyzer

import (
	"slices"
	"strings"

	"dongting/analyzer/learn"
	"dongting/taxonomy"
)

// requestLexical is the lexicon's score at or below which a record is a
// complaint whatever its form: its learned words (夹生, 毛发) know more
// complaints than the hand-written ones.
const requestLexical = -0.3

// plainRequest says whether a short record only asks, requests or suggests
// (LABELS.md: neutral, "a plain question, request or suggestion with no
// complaint"): it has a request marker (sentiment/request.txt) or a
// question, and no complaint cue: no hand-written negative word that is
// not negated, no negated hand-written positive one (courtesies such as
// 谢谢 aside), no rhetorical marker, no severe or red-line rule. The
// sentiment model learnt from complaint letters and reviews, where a short
// question is rare, and calls most of them negative. It holds only for a
// record about the home (tagged, or naming the estate). label is the
// model's: a positive one stands when a hand-written positive word backs
// it.
func (a *Analyzer) plainRequest(p *parsed, hits []taxonomy.Hit, tagged bool, label string, lexical float64) bool {
	if len(p.tokens) >= learn.MinSceneWords || label == Neutral || lexical <= requestLexical {
		return false
	}
	for _, h := range hits {
		if k := a.signals[h.Rule].kind; k == "redline" || k == "severe" {
			return false
		}
	}
	asks := false
	for _, c := range p.clauses {
		if c.speaker == taxonomy.SpeakerAgent {
			continue
		}
		asks = asks || c.question
		toks := p.infos[c.lo:c.hi]
		for i, t := range toks {
			if t.flags&wRequest != 0 {
				asks = true
			}
			if t.flags&wRhetorical != 0 && t.flags&wRequest == 0 {
				return false // 凭什么; 啥时候 is in both lists, and asks here
			}
			w := p.tokens[c.lo+i].Text
			hand, ok := a.lex.handSet[w]
			if !ok || learn.Polite[w] { // 谢谢 after a question is a courtesy
				continue
			}
			neg, _ := modifiers(toks, i)
			if neg {
				hand = -hand
			}
			if hand < 0 || label == Positive && hand > 0 {
				return false
			}
		}
	}
	// Not about a home: a review's 希望下次快点 is a complaint in its own
	// words, and the model knows reviews. A question about a work order is
	// the property service's (我想查一下我的工单进度).
	if !asks || tagged {
		return asks
	}
	ws := words(p)
	return learn.MentionsEstate(ws) || slices.ContainsFunc(ws, func(w string) bool {
		return slices.ContainsFunc(workOrderWords, func(o string) bool { return strings.Contains(w, o) })
	})
}

// workOrderWords name the property service's own channel: a short question
// holding one is about the home even without the estate's words.
var workOrderWords = []string{"工单", "单子", "进度", "回电话", "回个电话", "回电"}
