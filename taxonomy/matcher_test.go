package taxonomy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// toks builds tokens from space-separated words; a word prefixed "A:" is the
// agent's. Offsets are code points in the words joined without spaces.
func toks(s string) []Token {
	var out []Token
	pos := 0
	for _, w := range strings.Fields(s) {
		sp := SpeakerCustomer
		if rest, ok := strings.CutPrefix(w, "A:"); ok {
			w, sp = rest, SpeakerAgent
		}
		n := utf8.RuneCountInString(w)
		out = append(out, Token{Text: w, Start: pos, End: pos + n, Speaker: sp})
		pos += n
	}
	return out
}

func matchOne(t *testing.T, rule, text string) (bool, []Span) {
	t.Helper()
	m, err := Compile([]Source{{Name: "r", Rule: rule}}, nil)
	if err != nil {
		t.Fatalf("compile %q: %v", rule, err)
	}
	hits := m.Match(toks(text))
	if len(hits) == 0 {
		return false, nil
	}
	return true, hits[0].Evidence
}

func TestMatchSemantics(t *testing.T) {
	tests := []struct {
		rule, text string
		want       bool
		evidence   string // start-end of each span
	}{
		{"电梯", "小区 电梯 坏 了", true, "2-4"},
		{"电梯", "小区 楼梯 坏 了", false, ""},
		{"电梯", "电梯困人 了", true, "0-2"}, // sub-word inside a longer token
		{"=电梯", "电梯困人 了", false, ""},  // exact: whole tokens only
		{"=电梯", "电梯 困人", true, "0-2"},
		{"电梯 | 直梯", "直梯 坏", true, "0-2"},
		{"电梯 & 坏", "电梯 好 的", false, ""},
		{"电梯 & 坏", "坏 的 电梯", true, "0-1,2-4"},
		{"电梯 & NOT 广告", "电梯 广告 太 多", false, ""},
		{"电梯 & NOT 广告", "电梯 太 旧", true, "0-2"},
		{"NEAR/1(电梯, 坏)", "电梯 又 坏", true, "0-2,3-4"},
		{"NEAR/0(电梯, 坏)", "电梯 又 坏", false, ""},
		{"NEAR/0(电梯, 坏)", "坏 电梯", true, "0-1,1-3"}, // either order
		{"NEAR/1(电梯, 坏)", "电梯 很 好 门 坏", false, ""},
		{`"电梯 困人"`, "电梯 困人", true, "0-4"},
		{`"电梯 困人"`, "困人 电梯", false, ""},
		{`"电梯 困人"`, "电梯 又 困人", false, ""},
		{"customer(投诉)", "A:投诉 处理", false, ""},
		{"customer(投诉)", "A:您好 投诉", true, "2-4"},
		{"agent(抱歉)", "A:抱歉 抱歉", true, "0-2"},
		{"(a | b) & c", "b x c", true, "0-1,2-3"},
	}
	for _, tt := range tests {
		got, spans := matchOne(t, tt.rule, tt.text)
		if got != tt.want {
			t.Errorf("%q on %q: match %v, want %v", tt.rule, tt.text, got, tt.want)
			continue
		}
		var ev []string
		for _, s := range spans {
			ev = append(ev, fmt.Sprintf("%d-%d", s.Start, s.End))
		}
		if g := strings.Join(ev, ","); g != tt.evidence {
			t.Errorf("%q on %q: evidence %s, want %s", tt.rule, tt.text, g, tt.evidence)
		}
	}
}

func TestMatchOnlyCandidates(t *testing.T) {
	// Many rules; a record with one term matches exactly the rules that
	// hold it, in rule order, whatever the others are.
	var src []Source
	for i := range 5000 {
		src = append(src, Source{Name: fmt.Sprint(i), Rule: fmt.Sprintf("词%d | 共同%d", i, i%7)})
	}
	m, err := Compile(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	hits := m.Match(toks("这是 共同3 的 记录"))
	want := 0
	for i := range 5000 {
		if i%7 == 3 {
			want++
		}
	}
	if len(hits) != want {
		t.Fatalf("got %d hits, want %d", len(hits), want)
	}
	for i, h := range hits {
		if m.Name(h.Rule) != fmt.Sprint(3+7*i) {
			t.Fatalf("hit %d is rule %s", i, m.Name(h.Rule))
		}
	}
	if len(m.Match(toks("没有 相关 词"))) != 0 {
		t.Fatal("unexpected hit")
	}
}

func TestCompileErrorsAreJoined(t *testing.T) {
	_, err := Compile([]Source{{Name: "a", Rule: "x |", Line: 3, Col: 10}, {Name: "b", Rule: "ok"}, {Name: "c", Rule: "(y", Line: 9}}, nil)
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{"rule a: line 3, col 14", "rule c: line 9, col 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

// A rule is a candidate only on the terms every match of it must hold: one
// side of an AND or a NEAR (the one with fewer terms), never a negated
// term; where that is not known (a NOT of a NOT), every positive term.
func TestTriggers(t *testing.T) {
	for _, tt := range []struct {
		rule, terms string
		complete    bool
	}{
		{"电梯 | 扶梯", "电梯 扶梯", true},
		{"NEAR/3(售楼处 | 销售 | 置业顾问, 说 | 说好)", "说 说好", true},
		{"NEAR/3(售楼处, 说 | 说好 | 答应)", "售楼处", true},
		{"(交房 | 收房) & NOT NEAR/2(交房, 年)", "交房 收房", true},
		{`"报 了 警" | 报警`, "报 报警", true},
		{"customer(投诉 & 电梯)", "投诉", true},
		{"电梯 | (物业 & NOT 投诉)", "电梯 物业", true},
		{"NOT NOT 电梯", "电梯", false},
	} {
		m, err := Compile([]Source{{Name: "r", Rule: tt.rule}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids, complete := triggers(m.progs[0])
		if !complete {
			ids = positives(m.progs[0], false)
		}
		var terms []string
		for _, id := range ids {
			for term, tid := range m.terms {
				if tid == id {
					terms = append(terms, term)
				}
			}
		}
		if got := strings.Join(terms, " "); got != tt.terms || complete != tt.complete {
			t.Errorf("%s: triggers %q %v, want %q %v", tt.rule, got, complete, tt.terms, tt.complete)
		}
	}
}

// Evaluating only the candidates finds what evaluating every rule finds.
func TestTriggersKeepMatches(t *testing.T) {
	rules := []string{
		"NEAR/3(售楼处 | 销售, 说 | 说好)", "(交房 | 收房) & NOT NEAR/2(交房, 年)", "电梯 | (物业 & NOT 投诉)",
		"NOT NOT 电梯", "NEAR/2(=门 | 大门, 卡住 | 坏了) & NOT 电梯门", `"卡 电梯" | 被困`, "customer(投诉 & 电梯)",
	}
	var src []Source
	for i, r := range rules {
		src = append(src, Source{Name: fmt.Sprint(i), Rule: r})
	}
	m, err := Compile(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"售楼处 当时 说 送 车位", "销售 没 说", "说好 的 事", "2019 年 交房", "交房 延期", "收房 时", "物业 不 管",
		"电梯 坏了", "大门 卡住 了", "电梯门 卡住", "卡 电梯 里 了", "A:投诉 电梯", "投诉 电梯", "什么 都 没有",
	} {
		tokens := toks(text)
		var want []int
		ev := evaluator{tokens: tokens, occs: m.collect(tokens, nil)}
		slices.SortStableFunc(ev.occs, func(a, b occ) int { return cmp.Compare(a.term, b.term) })
		for r, p := range m.progs {
			if ok, spans := ev.eval(p, anySpeaker); ok && len(spans) > 0 {
				want = append(want, r)
			}
		}
		var got []int
		for _, h := range m.Match(tokens) {
			got = append(got, h.Rule)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: matched %v, every rule evaluated %v", text, got, want)
		}
	}
}
