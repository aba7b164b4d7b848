package analyzer

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func turnsString(text string) string {
	var parts []string
	r := []rune(text)
	for _, t := range SplitTurns(text) {
		parts = append(parts, fmt.Sprintf("%s[%s]", t.Speaker, string(r[t.Start:t.End])))
	}
	return strings.Join(parts, " ")
}

func TestSplitTurns(t *testing.T) {
	tests := []struct{ in, want string }{
		{"电梯坏了", "customer[电梯坏了]"},
		{"客服：您好\n业主：电梯坏了", "agent[您好\n] customer[电梯坏了]"},
		{"客服:您好 业主:电梯坏了", "agent[您好 ] customer[电梯坏了]"},
		{"坐席1：请讲。来电人：我要投诉", "agent[请讲。] customer[我要投诉]"},
		{"话务员 : 您好。客户 ：漏水", "agent[您好。] customer[漏水]"},
		{"喂喂 客服：您好", "customer[喂喂 ] agent[您好]"},
		{"我是业主：想问一下", "customer[我是业主：想问一下]"}, // not after a boundary
		{"业主：", "customer[]"},
	}
	for _, tt := range tests {
		if got := turnsString(tt.in); got != tt.want {
			t.Errorf("SplitTurns(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzSplitTurns(f *testing.F) {
	for _, s := range []string{"客服：您好\n业主：电梯坏了", "客服:您好 业主:电梯坏了", "坐席A：请讲", "业主：", "：：客服：：", "\xff客服："} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		turns := SplitTurns(s)
		if len(turns) == 0 {
			t.Fatal("no turns")
		}
		n := utf8.RuneCountInString(s)
		prev := 0
		for _, tr := range turns {
			if tr.Start < prev || tr.End < tr.Start || tr.End > n {
				t.Fatalf("bad turn %+v in %q (n=%d)", tr, s, n)
			}
			if tr.ByteStart > tr.ByteEnd || tr.ByteEnd > len(s) || utf8.RuneCountInString(s[tr.ByteStart:tr.ByteEnd]) != tr.End-tr.Start {
				t.Fatalf("byte offsets disagree with rune offsets: %+v in %q", tr, s)
			}
			prev = tr.End
		}
		if turns[len(turns)-1].End != n {
			t.Fatalf("turns end at %d, text has %d runes", turns[len(turns)-1].End, n)
		}
	})
}
