package analyzer

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

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

func (a *Analyzer) parse(r *Record) (*parsed, error) {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	p := parsedPool.Get().(*parsed)
	p.base = Analysis{ID: r.ID}
	out := &p.base
	segs := p.segs[:0]
	if len(r.Turns) > 0 {
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
	} else {
		masked, c := MaskPII(r.Text)
		out.PII = c
		out.Text = masked
		for _, t := range SplitTurns(masked) {
			segs = append(segs, segment{text: masked[t.ByteStart:t.ByteEnd], turn: -1, base: t.Start, global: t.Start, runes: t.End - t.Start, speaker: t.Speaker})
		}
	}

	size := 0
	for _, s := range segs {
		size += len(s.text)
	}
	// Chinese text averages ~6 bytes a word token and ~25 bytes a clause:
	// sizing up front saves the slices' repeated growth.
	tokens := grow(p.tokens[:0], size/6+4)
	infos := grow(p.infos[:0], size/6+4)
	tokSeg := grow(p.tokSeg[:0], size/6+4)
	tokCl := grow(p.tokCl[:0], size/6+4)
	clauses := grow(p.clauses[:0], size/25+2)
	for si := range segs {
		s := &segs[si]
		if s.speaker == taxonomy.SpeakerAgent {
			// The analysis is the customer's: an agent's words (登记工单,
			// 物业服务中心, 周到, 谢谢) never make tags, evidence,
			// sentiment, severity or praise. They stay in the text and
			// the search index.
			continue
		}
		norm := a.norm.Normalize(s.text)
		if norm.Text == "" {
			continue
		}
		cur := clause{lo: len(tokens), speaker: s.speaker}
		closeClause := func(sentEnd bool) {
			cur.hi = len(tokens)
			cur.sentEnd = cur.sentEnd || sentEnd
			if cur.hi > cur.lo {
				clauses = append(clauses, cur)
			} else if len(clauses) > 0 && clauses[len(clauses)-1].speaker == cur.speaker {
				// punctuation after a closed clause still belongs to it
				last := &clauses[len(clauses)-1]
				last.exclaim += cur.exclaim
				last.question = last.question || cur.question
				last.sentEnd = last.sentEnd || sentEnd
			}
			cur = clause{lo: len(tokens), speaker: s.speaker}
		}
		pos, bpos := 0, 0 // rune and byte offsets in norm.Text
		prevASCII := -1   // byte offset of the previous token when it is ASCII letters or digits
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
				prevASCII = -1
				for _, r := range w {
					switch r {
					case '!':
						cur.exclaim++
					case '?':
						cur.question = true
					}
				}
				closeClause(strings.ContainsAny(w, ".。!?\n…"))
				continue
			}
			in := a.info(w)
			if in.flags&wContrast != 0 && len(tokens) > cur.lo {
				prevASCII = -1
				closeClause(false)
				cur.contrast = true
			} else if len(tokens)-cur.lo >= stt || (in.flags&wConnective != 0 && len(tokens)-cur.lo >= 4) {
				closeClause(false)
				prevASCII = -1
			} else if len(tokens) == cur.lo && in.flags&wContrast != 0 {
				cur.contrast = true
			}
			// jieba splits long digit runs (110 | 101199003071237); a
			// fragment of a number must not match a rule like =110.
			if ascii := isASCIIWord(w); ascii && prevASCII >= 0 && prevASCII+len(tokens[len(tokens)-1].Text) == bpos-len(w) {
				last := &tokens[len(tokens)-1]
				last.Text = norm.Text[prevASCII:bpos]
				last.End = s.global + norm.Orig(end-1) + 1
				infos[len(infos)-1] = a.info(last.Text)
				continue
			} else if ascii {
				prevASCII = bpos - len(w)
			} else {
				prevASCII = -1
			}
			tokens = append(tokens, taxonomy.Token{
				Text:    w,
				Start:   s.global + norm.Orig(start),
				End:     s.global + norm.Orig(end-1) + 1,
				Speaker: s.speaker,
			})
			infos = append(infos, in)
			tokSeg = append(tokSeg, int32(si))
			tokCl = append(tokCl, int32(len(clauses)))
		}
		closeClause(true)
	}

	scoreClauses(infos, clauses)
	var sum float64
	for _, c := range clauses {
		sum += c.raw
	}
	out.Sentiment = sentimentOf(sum)
	p.segs, p.tokens, p.infos, p.tokSeg, p.tokCl, p.clauses, p.sum = segs, tokens, infos, tokSeg, tokCl, clauses, sum
	return p, nil
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
