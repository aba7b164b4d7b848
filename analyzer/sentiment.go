package analyzer

import (
	"fmt"
	"io/fs"
	"math"

	"dongting/data"
)

// Sentiment is a polarity label and a score in [-1, 1].
type Sentiment struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Labels.
const (
	Negative = "negative"
	Neutral  = "neutral"
	Positive = "positive"
)

// Lexicon holds the sentiment resources from data/sentiment.
type Lexicon struct {
	weights    map[string]float64 // hand-written weights override learned ones
	handSet    map[string]float64 // the hand-written entries alone, for suffix lookups
	negators   map[string]bool
	degree     map[string]float64
	contrast   map[string]bool
	rhetorical map[string]bool
	requests   map[string]bool // 请问, 建议 …: see plainRequest
	hand       int
}

// Scoring constants, tuned on the training split of the dev data (see
// README, "Sentiment").
const (
	negWindow     = 3    // tokens a negator or degree adverb reaches forward
	negFlipPos    = 0.9  // 不好: a negated positive word turns negative…
	negFlipNeg    = 0.45 // 不差: …a negated negative word only mildly positive
	contrastAfter = 1.6  // weight of the clause after 但是/不过
	contrastPrior = 0.5  // weight of the clauses before it
	rhetoricalCue = -1.2 // 凭什么/难道 … ? with no other polarity
	exclaimBoost  = 1.25 // clause ends with ! (1.5 with !!! or more)
	squash        = 2.5  // score = tanh(sum / squash)
	labelBand     = 0.03 // |score| below this is neutral
	learnedScale  = 1.0  // learned log-odds are used as weights as they are
)

// LoadLexicon reads the lexicon files from fsys (the data package layout).
func LoadLexicon(fsys fs.FS) (*Lexicon, error) {
	hand, err := data.Weights(fsys, "sentiment/lexicon.txt")
	if err != nil {
		return nil, err
	}
	learned, err := data.Weights(fsys, "sentiment/learned.txt")
	if err != nil {
		return nil, err
	}
	lx := &Lexicon{weights: make(map[string]float64, len(hand)+len(learned)), handSet: make(map[string]float64, len(hand)), hand: len(hand)}
	for w, v := range learned {
		lx.weights[w] = v * learnedScale
	}
	for w, v := range hand {
		if v < -3 || v > 3 {
			return nil, fmt.Errorf("analyzer: sentiment/lexicon.txt: weight of %q is %v, outside [-3, 3]", w, v)
		}
		lx.weights[w] = v
		lx.handSet[w] = v
	}
	neutral, err := data.Words(fsys, "sentiment/neutral.txt")
	if err != nil {
		return nil, err
	}
	lx.neutralize(neutral)
	if lx.degree, err = data.Weights(fsys, "sentiment/degree.txt"); err != nil {
		return nil, err
	}
	for name, dst := range map[string]*map[string]bool{
		"sentiment/negation.txt":   &lx.negators,
		"sentiment/contrast.txt":   &lx.contrast,
		"sentiment/rhetorical.txt": &lx.rhetorical,
		"sentiment/request.txt":    &lx.requests,
	} {
		words, err := data.Words(fsys, name)
		if err != nil {
			return nil, err
		}
		m := make(map[string]bool, len(words))
		for _, w := range words {
			m[w] = true
		}
		*dst = m
	}
	return lx, nil
}

// neutralize drops the learned weights of topic words; hand-written
// entries stay.
// clone copies the lexicon's weights (the part neutralize changes).
func (lx *Lexicon) clone() *Lexicon {
	c := *lx
	c.weights = make(map[string]float64, len(lx.weights))
	for w, v := range lx.weights {
		c.weights[w] = v
	}
	return &c
}

func (lx *Lexicon) neutralize(words []string) {
	for _, w := range words {
		if _, ok := lx.handSet[w]; !ok {
			delete(lx.weights, w)
		}
	}
}

// wordInfo is all the scorer and the clause splitter know of a word, so a
// token costs one map lookup (see Analyzer.info) instead of one per list.
type wordInfo struct {
	weight float64 // polarity, when flags has wWeighted
	degree float64 // multiplier, when flags has wDegree
	flags  wordFlag
}

type wordFlag uint8

const (
	wWeighted   wordFlag = 1 << iota // a polarity cue (its own entry or a hand-written suffix)
	wNegator                         // 不, 没有 …
	wDegree                          // 非常, 有点 …
	wContrast                        // 但是, 不过 …
	wRhetorical                      // 难道, 凭什么 …
	wStop                            // a stopword: skipped in a negator's scope, never a keyword
	wConnective                      // 然后, 结果 …: may split an unpunctuated clause
	wRequest                         // 请问, 建议 …: see plainRequest
)

// vocab builds the lookup table of every word the lexicon, the stopwords
// and the connectives name.
func (lx *Lexicon) vocab(stop map[string]bool) map[string]wordInfo {
	v := make(map[string]wordInfo, len(lx.weights)+len(stop)+64)
	add := func(w string, f wordFlag) {
		in := v[w]
		in.flags |= f
		v[w] = in
	}
	for w := range lx.weights {
		add(w, 0)
	}
	for w, d := range lx.degree {
		if d != 0 {
			add(w, wDegree)
		}
	}
	for _, set := range []struct {
		words map[string]bool
		flag  wordFlag
	}{{lx.negators, wNegator}, {lx.contrast, wContrast}, {lx.rhetorical, wRhetorical}, {lx.requests, wRequest}, {stop, wStop}, {connectives, wConnective}} {
		for w, ok := range set.words {
			if ok {
				add(w, set.flag)
			}
		}
	}
	for w, in := range v {
		if x, ok := lx.weight(w); ok {
			in.weight = x
			in.flags |= wWeighted
		}
		in.degree = lx.degree[w]
		v[w] = in
	}
	return v
}

// info looks a token up in the analyzer's vocabulary; a compound outside
// it may still carry the polarity of a hand-written word it ends with.
func (a *Analyzer) info(w string) wordInfo {
	if in, ok := a.vocab.Get(w); ok {
		return in
	}
	if x, ok := a.lex.suffixWeight(w); ok {
		return wordInfo{weight: x, flags: wWeighted}
	}
	return wordInfo{}
}

// clauseScore scores one clause's tokens. It returns the raw (unsquashed)
// score and whether any polarity cue was seen.
func clauseScore(toks []wordInfo, exclaim int, question bool) (float64, bool) {
	sum := 0.0
	cued := false
	rhetorical := false
	for i, t := range toks {
		if t.flags&wRhetorical != 0 {
			rhetorical = true
		}
		if t.flags&wWeighted == 0 {
			continue
		}
		w := t.weight
		cued = true
		neg, mult := modifiers(toks, i)
		if neg {
			if w > 0 {
				w = -w * negFlipPos
			} else {
				w = -w * negFlipNeg
			}
		}
		sum += w * mult
	}
	if rhetorical && (question || sum > -0.5) {
		sum += rhetoricalCue
		cued = true
	}
	switch {
	case exclaim >= 3:
		sum *= exclaimBoost * 1.2
	case exclaim > 0:
		sum *= exclaimBoost
	}
	return sum, cued
}

// weight is the polarity of a token: its own entry, or for a compound the
// segmenter kept whole (电梯坏了, 物业不作为) the longest hand-written entry it ends with,
// since the predicate comes last in such words.
func (lx *Lexicon) weight(t string) (float64, bool) {
	if w, ok := lx.weights[t]; ok {
		return w, true
	}
	return lx.suffixWeight(t)
}

// suffixWeight is the weight of the longest hand-written entry t ends with.
func (lx *Lexicon) suffixWeight(t string) (float64, bool) {
	if len(t) < 9 { // fewer than three CJK runes
		return 0, false
	}
	for i := range t {
		if i == 0 {
			continue
		}
		if len(t)-i < 6 { // suffixes of at least two CJK runes
			break
		}
		// Only curated entries: a learned weight of a noun (标准, from
		// 标准配置 in product reviews) must not colour 收费标准.
		if w, ok := lx.handSet[t[i:]]; ok {
			return w, true
		}
	}
	return 0, false
}

// modifiers looks back from toks[i] for the negators and degree adverbs that
// govern it: within negWindow tokens, skipping stopwords, and stopping at
// the first other content word (a negator governs only the next word that
// carries meaning: in 没有 什么 意思, 没有 governs 意思; in 不 适合 小孩子,
// only 适合).
func modifiers(toks []wordInfo, i int) (neg bool, mult float64) {
	mult = 1.0
	for j := i - 1; j >= 0 && j >= i-negWindow; j-- {
		p := toks[j].flags
		switch {
		case p&wNegator != 0:
			neg = !neg
		case p&wDegree != 0:
			mult *= toks[j].degree
		case p&wStop != 0:
		default:
			return neg, mult
		}
	}
	return neg, mult
}

func squashScore(sum float64) float64 { return math.Tanh(sum / squash) }

func label(score float64) string {
	switch {
	case score >= labelBand:
		return Positive
	case score <= -labelBand:
		return Negative
	}
	return Neutral
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func sentimentOf(sum float64) Sentiment {
	s := round3(squashScore(sum))
	return Sentiment{Label: label(s), Score: s}
}

// Words normalizes and segments text and returns its word tokens (no
// punctuation), each with whether a negator precedes it within the window
// the scorer uses. The lexicon learner counts words this way, so what it
// learns lines up with how clauseScore applies it.
func (a *Analyzer) Words(text string) (words []string, negated []bool) {
	masked, _ := MaskPII(text)
	norm := a.norm.Normalize(masked)
	var clause []string
	var infos []wordInfo
	flush := func() {
		for i, w := range clause {
			neg, _ := modifiers(infos, i)
			words = append(words, w)
			negated = append(negated, neg)
		}
		clause, infos = clause[:0], infos[:0]
	}
	for _, w := range a.seg.Cut(norm.Text) {
		if isBreak(w) {
			flush() // negation does not cross a clause break
			continue
		}
		clause = append(clause, w)
		infos = append(infos, a.info(w))
	}
	flush()
	return words, negated
}

// IsCue reports whether w is a negator, degree adverb, contrast or
// rhetorical marker: words the scorer treats by rule, not by weight.
func (a *Analyzer) IsCue(w string) bool {
	_, deg := a.lex.degree[w]
	return deg || a.lex.negators[w] || a.lex.contrast[w] || a.lex.rhetorical[w]
}

// IsStopword reports whether w is in the stopword list.
func (a *Analyzer) IsStopword(w string) bool { return a.stop[w] }
