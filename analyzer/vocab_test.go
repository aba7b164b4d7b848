package analyzer

import "testing"

func TestVocabularyLookup(t *testing.T) {
	words := map[string]wordInfo{
		"好": {weight: 1, flags: wWeighted}, "不": {flags: wNegator}, "非常": {degree: 2, flags: wDegree},
		"太离谱": {weight: -2, flags: wWeighted}, "ok": {weight: 0.5, flags: wWeighted}, "1234567": {flags: wStop},
		"12345678": {flags: wStop}, "a": {}, "物业不作为": {weight: -2, flags: wWeighted},
	}
	v := newVocabulary(words)
	for w, want := range words {
		if got, ok := v.lookup(w); !ok || got != want {
			t.Errorf("lookup(%q) = %v, %v; want %v", w, got, ok, want)
		}
	}
	for _, w := range []string{"", "b", "好的", "不好", "非", "太离", "123456", "1234567 ", "物业", "o", "ok\x00"} {
		if got, ok := v.lookup(w); ok {
			t.Errorf("lookup(%q) = %v; want none", w, got)
		}
	}
}
