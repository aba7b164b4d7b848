package analyzer

import (
	"dongting/taxonomy"
)

// evidenceMaker turns matcher spans (analyzer-global code points) into
// evidence with offsets into the original text or turn.
type evidenceMaker struct {
	segs   []segment
	tokSeg []int32
}

// MaxEvidence is the most evidence spans one tag or signal carries (the
// first ones in the text): a long record that says 漏水 a thousand times
// needs a few to show, not a thousand.
const MaxEvidence = 16

func (e *evidenceMaker) spans(spans []taxonomy.Span) []Evidence {
	spans = spans[:min(len(spans), MaxEvidence)]
	out := make([]Evidence, 0, len(spans))
	for _, sp := range spans {
		s := &e.segs[e.tokSeg[sp.First]]
		start, end := sp.Start-s.global, sp.End-s.global
		ev := Evidence{Start: s.base + start, End: s.base + end, Text: s.slice(start, end)}
		if s.turn >= 0 {
			t := s.turn
			ev.Turn = &t
		}
		out = append(out, ev)
	}
	return out
}

// slice returns code points [start, end) of the segment's text.
func (s *segment) slice(start, end int) string {
	if s.bytes == nil {
		s.bytes = make([]int32, 0, s.runes+1)
		for i := range s.text {
			s.bytes = append(s.bytes, int32(i))
		}
		s.bytes = append(s.bytes, int32(len(s.text)))
	}
	start = max(0, min(start, len(s.bytes)-1))
	end = max(start, min(end, len(s.bytes)-1))
	return s.text[s.bytes[start]:s.bytes[end]]
}
