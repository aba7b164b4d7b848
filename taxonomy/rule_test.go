package taxonomy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"电梯", "电梯"},
		{"电梯 | 直梯", "电梯 | 直梯"},
		{"电梯 OR 直梯", "电梯 | 直梯"},
		{"电梯 & 坏", "电梯 & 坏"},
		{"电梯 AND 坏", "电梯 & 坏"},
		{"电梯 坏", "电梯 & 坏"}, // juxtaposition is AND
		{"电梯 & NOT 广告", "电梯 & NOT 广告"},
		{"电梯 & !广告", "电梯 & NOT 广告"},
		{"a | b & c", "a | b & c"}, // AND binds tighter
		{"(a | b) & c", "(a | b) & c"},
		{"（电梯｜直梯）", "电梯 | 直梯"}, // full-width operators
		{`"电梯 困人"`, `"电梯 困人"`},
		{"NEAR/3(电梯, 坏 | 故障)", "NEAR/3(电梯, 坏 | 故障)"},
		{"customer(电梯)", "customer(电梯)"},
		{"agent(抱歉) & customer(投诉)", "agent(抱歉) & customer(投诉)"},
		{"=110", "=110"},
		{"a | b | c | d", "a | b | c | d"},             // a list reads flat
		{"NOT (a | b) & c", "NOT (a | b) & c"},         // parentheses only where needed
		{"(a & b) | (c & NOT d)", "a & b | c & NOT d"}, // AND binds tighter than OR
		{"ABC", "abc"}, // terms are lower-cased like normalized text
	}
	for _, tt := range tests {
		e, err := ParseRule(tt.in)
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("ParseRule(%q) = %s, want %s", tt.in, got, tt.want)
		}
		// What is printed parses back to the same rule.
		if again, err := ParseRule(e.String()); err != nil || again.String() != e.String() {
			t.Errorf("ParseRule(%q) prints %s, which reads back as %v (%v)", tt.in, e.String(), again, err)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct {
		in      string
		col     int
		message string
	}{
		{"", 1, "empty rule"},
		{"电梯 |", 5, "expected a term"},
		{"(电梯 | 直梯", 9, "expected ')'"},
		{"电梯)", 3, "unexpected ')'"},
		{`"电梯`, 1, "unterminated phrase"},
		{`""`, 1, "empty phrase"},
		{"NEAR/x(a, b)", 1, "bad distance"},
		{"NEAR(a, b)", 1, "NEAR needs a distance"},
		{"NEAR/3(a b)", 11, "expected ','"},
		{"NEAR/3 a", 8, "expected '('"},
		{"NOT 广告", 1, "at least one term"},
		{"NEAR/2(a, NOT b)", 1, "both operands"},
		{"customer(a", 11, "expected ')'"},
		{"=", 1, "'=' must be followed"},
		{strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100), 66, "nested deeper"},
		{"a\xffb", 1, "not valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := ParseRule(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseRule(%q): got %v, want a SyntaxError", tt.in, err)
			continue
		}
		if se.Col != tt.col || !strings.Contains(se.Msg, tt.message) {
			t.Errorf("ParseRule(%q): col %d %q, want col %d containing %q", tt.in, se.Col, se.Msg, tt.col, tt.message)
		}
	}
}

func TestRuleTerms(t *testing.T) {
	e, err := ParseRule(`电梯 & NOT 广告 | NEAR/2(困, "关 在") | =110`)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Terms(e), ",")
	if got != "电梯,广告,困,110" {
		t.Errorf("Terms = %s", got)
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"电梯", "a | b & !c", `"电梯 困人" | NEAR/3(a, b)`, "customer(a & agent(b))", "((a)", "NEAR/999(a,b)", "=", "，（）｜"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseRule(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is %T, want *SyntaxError", err)
			}
			return
		}
		// A rule that parses prints as a rule that parses to the same thing.
		again, err := ParseRule(e.String())
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", e.String(), s, err)
		}
		if again.String() != e.String() {
			t.Fatalf("round trip changed %q to %q", e.String(), again.String())
		}
		if _, err := Compile([]Source{{Name: "fuzz", Rule: s}}, nil); err != nil {
			t.Fatalf("compile of a parsed rule failed: %v", err)
		}
	})
}
