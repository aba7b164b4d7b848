package analyzer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"dongting/taxonomy"
)

// Speaker prefixes in plain-text transcripts, e.g. "客服：您好" or "业主:电梯又坏了".
var (
	agentPrefixes    = []string{"客服", "坐席", "话务员", "接线员", "工作人员", "管家", "物业客服", "客服人员", "座席"}
	customerPrefixes = []string{"业主", "客户", "来电人", "来电者", "住户", "用户", "访客", "租户", "顾客"}
)

// Turn is one speaker's part of a transcript. Start and End are code-point
// offsets of the turn's words (after the prefix) in the text it came from.
type Turn struct {
	Speaker   taxonomy.Speaker
	Start     int // code points
	End       int
	ByteStart int
	ByteEnd   int
}

// SplitTurns finds speaker prefixes in a plain-text transcript. A prefix
// counts at the start of the text, after a line break, or after sentence
// punctuation or a space (speech-to-text output often has no line breaks),
// and needs a colon (half- or full-width). Text before the first prefix, or
// text with no prefix at all, is the customer's. The result covers the
// text in order; it has one turn when there are no prefixes.
func SplitTurns(text string) []Turn {
	type mark struct {
		speaker          taxonomy.Speaker
		prefix, origin   int // rune offsets: where the prefix starts, where words start
		bprefix, borigin int // the same in bytes
	}
	if !mayHaveTurns(text) {
		return []Turn{{Speaker: taxonomy.SpeakerCustomer, End: utf8.RuneCountInString(text), ByteEnd: len(text)}}
	}
	var marks []mark
	runeIdx := 0
	prevBoundary := true
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if prevBoundary {
			if sp, plen, ok := matchPrefix(text[i:]); ok {
				bstart := i
				for k := 0; k < plen; k++ { // skip the prefix
					_, sz := utf8.DecodeRuneInString(text[i:])
					i += sz
					runeIdx++
				}
				marks = append(marks, mark{sp, runeIdx - plen, runeIdx, bstart, i})
				prevBoundary = false
				continue
			}
		}
		prevBoundary = r == '\n' || r == '\r' || unicode.IsSpace(r) || strings.ContainsRune("。！？!?；;…", r)
		i += size
		runeIdx++
	}
	total := runeIdx
	if len(marks) == 0 {
		return []Turn{{Speaker: taxonomy.SpeakerCustomer, Start: 0, End: total, ByteEnd: len(text)}}
	}
	var turns []Turn
	if marks[0].prefix > 0 {
		turns = append(turns, Turn{Speaker: taxonomy.SpeakerCustomer, End: marks[0].prefix, ByteEnd: marks[0].bprefix})
	}
	for k, m := range marks {
		end, bend := total, len(text)
		if k+1 < len(marks) {
			end, bend = marks[k+1].prefix, marks[k+1].bprefix
		}
		turns = append(turns, Turn{Speaker: m.speaker, Start: m.origin, End: end, ByteStart: m.borigin, ByteEnd: bend})
	}
	return turns
}

// mayHaveTurns says whether text has a colon, without which no prefix is
// possible: it is one turn.
func mayHaveTurns(text string) bool {
	return strings.IndexByte(text, ':') >= 0 || strings.Contains(text, "：")
}

// matchPrefix reports a speaker prefix at the start of s and its length in
// runes including the colon and any spaces around it.
func matchPrefix(s string) (taxonomy.Speaker, int, bool) {
	try := func(list []string, sp taxonomy.Speaker) (taxonomy.Speaker, int, bool) {
		best := -1
		for _, p := range list {
			if !strings.HasPrefix(s, p) {
				continue
			}
			rest := s[len(p):]
			n := utf8.RuneCountInString(p)
			// optional digits or letters: "客服1：", "坐席A:"
			for len(rest) > 0 && (rest[0] >= '0' && rest[0] <= '9' || rest[0] >= 'A' && rest[0] <= 'Z') {
				rest = rest[1:]
				n++
			}
			sp := 0
			for len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
				sp++
			}
			switch {
			case strings.HasPrefix(rest, ":"):
				rest = rest[1:]
			case strings.HasPrefix(rest, "："):
				rest = rest[len("："):]
			default:
				continue
			}
			n += sp + 1
			for len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
				n++
			}
			if n > best {
				best = n
			}
		}
		if best < 0 {
			return 0, 0, false
		}
		return sp, best, true
	}
	if sp, n, ok := try(agentPrefixes, taxonomy.SpeakerAgent); ok {
		return sp, n, true
	}
	return try(customerPrefixes, taxonomy.SpeakerCustomer)
}
