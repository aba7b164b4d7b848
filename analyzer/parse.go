package analyzer

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"dongting/analyzer/learn"
	"dongting/taxonomy"
)

// segment is one stretch of original text said by one speaker.
type segment struct {
	text    string // PII-masked original
	turn    int    // index into Record.Turns, or -1
	base    int    // code-point offset of text in the evidence reference
	global  int    // code-point offset in the analyzer's running count
	runes   int
	speaker taxonomy.Speaker
	bytes   []int32 // lazily: byte offset of each code point
}

type clause struct {
	lo, hi   int // word tokens [lo, hi)
	speaker  taxonomy.Speaker
	exclaim  int
	question bool
	contrast bool // starts with 但是/不过…
	sentEnd  bool // closed by 。！？ or a line break
	raw      float64
	cued     bool
}

// stt is how many words a clause with no punctuation may run to before
// it is split.
const stt = 12

// connectives may split an unpunctuated clause (see wConnective).
var connectives = map[string]bool{"然后": true, "结果": true, "而且": true, "所以": true, "还有": true, "另外": true, "并且": true, "接着": true, "后来": true, "现在": true}

// parsed is a record cut into segments, tokens and scored clauses: all of
// an analysis that does not depend on the taxonomy.
type parsed struct {
	base    Analysis // ID, Text, PII and Sentiment
	segs    []segment
	tokens  []taxonomy.Token
	infos   []wordInfo // per token
	tokSeg  []int32
	tokCl   []int32
	clauses []clause
	sum     float64
	counts  []wordCount // keywords' scratch
	// the models' inputs (see Analyzer.features)
	words               []string
	wordFeats, allFeats learn.Features
}

// parsedPool keeps parses' slices for the next record: analysis allocates
// per token, and these are most of it.
var parsedPool = sync.Pool{New: func() any { return new(parsed) }}

// maxPooled is the most tokens a parse may hold and still be pooled, so
// one huge record does not keep its buffers alive.
const maxPooled = 4096

// release gives p back to the pool. Nothing may use p afterwards; the
// analysis finish made from it holds none of its slices.
func (p *parsed) release() {
	if cap(p.tokens) > maxPooled {
		return
	}
	parsedPool.Put(p)
}

// parse cuts a record into segments, tokens and scored clauses, in three
// steps: mask PII and split the text by speaker (maskSegments), cut each
// customer segment into tokens and clauses (cutSegment), score the
// clauses and the record (score).
func (a *Analyzer) parse(r *Record) (*parsed, error) {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	p := parsedPool.Get().(*parsed)
	p.base = Analysis{ID: r.ID}
	p.segs = maskSegments(r, &p.base, p.segs[:0])
	p.reserve()
	for si := range p.segs {
		a.cutSegment(p, si)
	}
	p.score()
	return p, nil
}

// maskSegments masks PII in the record's text (or in each turn's) into
// out.Text and out.PII, and appends to segs the stretches of it that one
// speaker said: a JSON transcript's turns, or the turns SplitTurns finds
// in plain text.
func maskSegments(r *Record, out *Analysis, segs []segment) []segment {
	if len(r.Turns) == 0 {
		masked, c := MaskPII(r.Text)
		out.PII = c
		out.Text = masked
		if !mayHaveTurns(masked) { // one turn: SplitTurns's result without its slice
			return append(segs, segment{text: masked, turn: -1, runes: utf8.RuneCountInString(masked), speaker: taxonomy.SpeakerCustomer})
		}
		for _, t := range SplitTurns(masked) {
			segs = append(segs, segment{text: masked[t.ByteStart:t.ByteEnd], turn: -1, base: t.Start, global: t.Start, runes: t.End - t.Start, speaker: t.Speaker})
		}
		return segs
	}
	texts := make([]string, len(r.Turns))
	global := 0
	for i, t := range r.Turns {
		masked, c := MaskPII(t.Text)
		addCounts(&out.PII, c)
		texts[i] = masked
		sp := taxonomy.SpeakerCustomer
		if t.Speaker == "agent" {
			sp = taxonomy.SpeakerAgent
		}
		n := utf8.RuneCountInString(masked)
		segs = append(segs, segment{text: masked, turn: i, global: global, runes: n, speaker: sp})
		global += n + 1
	}
	out.Text = strings.Join(texts, "\n")
	return segs
}

// reserve empties p's per-token and per-clause slices, with room for its
// segments' text.
func (p *parsed) reserve() {
	size := 0
	for _, s := range p.segs {
		size += len(s.text)
	}
	// Chinese text averages ~6 bytes a word token and ~25 bytes a clause:
	// sizing up front saves the slices' repeated growth.
	p.tokens = grow(p.tokens[:0], size/6+4)
	p.infos = grow(p.infos[:0], size/6+4)
	p.tokSeg = grow(p.tokSeg[:0], size/6+4)
	p.tokCl = grow(p.tokCl[:0], size/6+4)
	p.clauses = grow(p.clauses[:0], size/25+2)
}

// cutSegment cuts segment si into word tokens and clauses, appending them
// to p.
func (a *Analyzer) cutSegment(p *parsed, si int) {
	s := &p.segs[si]
	if s.speaker == taxonomy.SpeakerAgent {
		// The analysis is the customer's: an agent's words (登记工单,
		// 物业服务中心, 周到, 谢谢) never make tags, evidence,
		// sentiment, severity or praise. They stay in the text and
		// the search index.
		return
	}
	norm := a.norm.Normalize(s.text)
	if norm.Text == "" {
		return
	}
	c := cutter{a: a, p: p, si: int32(si), s: s, norm: &norm, cur: clause{lo: len(p.tokens), speaker: s.speaker}, prevASCII: -1}
	pos, bpos := 0, 0 // rune and byte offsets in norm.Text
	for _, w := range a.seg.Cut(norm.Text) {
		// gojieba returns substrings of its input; should it ever skip
		// text, the gap is counted so offsets stay right.
		if off := substringOffset(norm.Text, w); off > bpos {
			pos += utf8.RuneCountInString(norm.Text[bpos:off])
			bpos = off
		}
		n := utf8.RuneCountInString(w)
		start, end := pos, pos+n
		pos, bpos = end, bpos+len(w)
		if isBreak(w) {
			c.punctuation(w)
		} else {
			c.word(w, start, end, bpos)
		}
	}
	c.closeClause(true)
}

// cutter is the state of cutting one segment (see cutSegment).
type cutter struct {
	a         *Analyzer
	p         *parsed
	si        int32    // the segment's index in p.segs
	s         *segment // p.segs[si]
	norm      *Normalized
	cur       clause // the clause being read
	prevASCII int    // byte offset in norm.Text of the previous token when it is ASCII letters or digits, or -1
}

// closeClause ends the clause being read at the current token and starts
// the next one.
func (c *cutter) closeClause(sentEnd bool) {
	p, cur := c.p, &c.cur
	cur.hi = len(p.tokens)
	cur.sentEnd = cur.sentEnd || sentEnd
	if cur.hi > cur.lo {
		p.clauses = append(p.clauses, *cur)
	} else if len(p.clauses) > 0 && p.clauses[len(p.clauses)-1].speaker == cur.speaker {
		// punctuation after a closed clause still belongs to it
		last := &p.clauses[len(p.clauses)-1]
		last.exclaim += cur.exclaim
		last.question = last.question || cur.question
		last.sentEnd = last.sentEnd || sentEnd
	}
	c.cur = clause{lo: len(p.tokens), speaker: c.s.speaker}
}

// punctuation takes a token of punctuation or space: it closes the clause
// (and the sentence, for .。!?… or a line break), and its ! and ? count
// for the clause's score.
func (c *cutter) punctuation(w string) {
	c.prevASCII = -1
	for _, r := range w {
		switch r {
		case '!':
			c.cur.exclaim++
		case '?':
			c.cur.question = true
		}
	}
	c.closeClause(strings.ContainsAny(w, ".。!?\n…"))
}

// word takes a word token: code points [start, end) of the normalized
// text, ending at byte bpos.
func (c *cutter) word(w string, start, end, bpos int) {
	p := c.p
	in := c.a.info(w)
	c.splitBefore(in)
	// jieba splits long digit runs (110 | 101199003071237); a
	// fragment of a number must not match a rule like =110.
	if ascii := isASCIIWord(w); ascii && c.prevASCII >= 0 && c.prevASCII+len(p.tokens[len(p.tokens)-1].Text) == bpos-len(w) {
		last := &p.tokens[len(p.tokens)-1]
		last.Text = c.norm.Text[c.prevASCII:bpos]
		last.End = c.s.global + c.norm.Orig(end-1) + 1
		p.infos[len(p.infos)-1] = c.a.info(last.Text)
		return
	} else if ascii {
		c.prevASCII = bpos - len(w)
	} else {
		c.prevASCII = -1
	}
	p.tokens = append(p.tokens, taxonomy.Token{
		Text:    w,
		Start:   c.s.global + c.norm.Orig(start),
		End:     c.s.global + c.norm.Orig(end-1) + 1,
		Speaker: c.s.speaker,
	})
	p.infos = append(p.infos, in)
	p.tokSeg = append(p.tokSeg, c.si)
	p.tokCl = append(p.tokCl, int32(len(p.clauses)))
}

// splitBefore closes the clause before a word that starts a new one: a
// contrast (但是, 不过), a connective after four words, any word after stt.
func (c *cutter) splitBefore(in wordInfo) {
	n := len(c.p.tokens) - c.cur.lo
	switch {
	case in.flags&wContrast != 0 && n > 0:
		c.prevASCII = -1
		c.closeClause(false)
		c.cur.contrast = true
	case n >= stt || (in.flags&wConnective != 0 && n >= 4):
		c.closeClause(false)
		c.prevASCII = -1
	case n == 0 && in.flags&wContrast != 0:
		c.cur.contrast = true
	}
}

// score scores the clauses and, from their sum, the record.
func (p *parsed) score() {
	scoreClauses(p.infos, p.clauses)
	var sum float64
	for _, c := range p.clauses {
		sum += c.raw
	}
	p.sum = sum
	p.base.Sentiment = sentimentOf(sum)
}

// grow returns s (empty) with room for n elements.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s
}

// substringOffset is the byte offset of sub within s when sub is a substring
// of s (shares its memory), or -1.
func substringOffset(s, sub string) int {
	if len(sub) == 0 || len(s) == 0 {
		return -1
	}
	d := int(uintptr(unsafe.Pointer(unsafe.StringData(sub))) - uintptr(unsafe.Pointer(unsafe.StringData(s))))
	if d < 0 || d+len(sub) > len(s) {
		return -1
	}
	return d
}

func addCounts(dst *PIICounts, c PIICounts) {
	dst.Mobile += c.Mobile
	dst.Landline += c.Landline
	dst.IDCard += c.IDCard
	dst.BankCard += c.BankCard
	dst.Email += c.Email
}

func isASCIIWord(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return len(w) > 0
}

// isBreak reports a token of punctuation or space, which ends a clause.
// Other symbols (emoji among them) are dropped from matching as well.
func isBreak(w string) bool {
	if w != "" && w[0] >= 0xE4 && w[0] <= 0xE9 { // starts with a CJK ideograph (U+4E00–U+9FFF)
		return false
	}
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// scoreClauses fills raw scores, with contrast: the clause after 但是/不过
// outweighs the clauses before it in the same sentence.
func scoreClauses(infos []wordInfo, clauses []clause) {
	for i := range clauses {
		c := &clauses[i]
		c.raw, c.cued = clauseScore(infos[c.lo:c.hi], c.exclaim, c.question)
	}
	for i := range clauses {
		if !clauses[i].contrast {
			continue
		}
		clauses[i].raw *= contrastAfter
		for j := i - 1; j >= 0 && !clauses[j].sentEnd && clauses[j].speaker == clauses[i].speaker; j-- {
			clauses[j].raw *= contrastPrior
			if clauses[j].contrast {
				break
			}
		}
	}
}
