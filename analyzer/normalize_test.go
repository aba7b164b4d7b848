package analyzer

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var (
	normOnce sync.Once
	normT    *Normalizer
)

func testNormalizer(t testing.TB) *Normalizer {
	normOnce.Do(func() {
		var err error
		if normT, err = NewNormalizer(); err != nil {
			t.Fatal(err)
		}
	})
	return normT
}

func TestNormalize(t *testing.T) {
	n := testNormalizer(t)
	tests := []struct{ in, want string }{
		{"ＡＢＣ１２３！", "abc123!"},
		{"小區的電梯壞了", "小区的电梯坏了"},
		{"物業費太貴", "物业费太贵"},
		{"电梯\x00坏了", "电梯坏了"},
		{"  电梯  \t 坏了  ", "电梯 坏了"},
		{"第一行\r\n\r\n第二行", "第一行\n第二行"},
		{"好评👍😀", "好评👍😀"},
		{"\u200b\ufeff", ""},
		{"", ""},
		{"\n第一行\n\n", "\n第一行"},
		{"电梯 坏了\t\t", "电梯 坏了"},
		{"ＯＫ吗，好的！", "ok吗,好的!"},
		{"\xff\xfe电梯", "电梯"},
		{"电梯\u0085坏了", "电梯 坏了"},
	}
	for _, tt := range tests {
		got := n.Normalize(tt.in)
		if got.Text != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got.Text, tt.want)
		}
		// Offsets rise, stay inside the input, and the end maps to its end.
		n, prev := utf8.RuneCountInString(got.Text), -1
		for i := range n {
			if o := got.Orig(i); o <= prev || o >= utf8.RuneCountInString(tt.in) {
				t.Errorf("Normalize(%q): rune %d maps to %d (previous %d)", tt.in, i, o, prev)
			}
			prev = got.Orig(i)
		}
		if end := got.Orig(n); end != utf8.RuneCountInString(tt.in) {
			t.Errorf("Normalize(%q): end maps to %d, want %d", tt.in, end, utf8.RuneCountInString(tt.in))
		}
	}
}

func TestNormalizeOffsets(t *testing.T) {
	n := testNormalizer(t)
	in := "  ＡＢ  電梯\x00壞了"
	got := n.Normalize(in)
	orig := []rune(in)
	norm := []rune(got.Text)
	if got.Text != "ab 电梯坏了" {
		t.Fatalf("text %q", got.Text)
	}
	// Each normalized rune maps to the original rune it came from.
	wantFrom := map[rune]rune{'a': 'Ａ', 'b': 'Ｂ', ' ': ' ', '电': '電', '梯': '梯', '坏': '壞', '了': '了'}
	for i, r := range norm {
		if o := orig[got.Orig(i)]; o != wantFrom[r] {
			t.Errorf("rune %d %q maps to %q, want %q", i, r, o, wantFrom[r])
		}
	}
	if got.Orig(len(norm)) != len(orig) {
		t.Errorf("end maps to %d, want %d", got.Orig(len(norm)), len(orig))
	}
}

// Text that needs no change comes back as it is, not as a copy.
func TestNormalizeUnchangedIsShared(t *testing.T) {
	n := testNormalizer(t)
	in := "小区的电梯又坏了。物业一直不来修"
	if got := n.Normalize(in); got.Text != in || substringOffset(in, got.Text) != 0 {
		t.Errorf("Normalize(%q) = %q, a copy", in, got.Text)
	}
}

func BenchmarkNormalizeSimplified(b *testing.B) {
	n := testNormalizer(b)
	s := "小区的电梯又坏了，物业一直不来修，打了三次电话都没人管，太让人失望了！"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		n.Normalize(s)
	}
}

// FuzzNormalize checks what the analysis relies on for any input: valid
// UTF-8 without NUL or control characters, offsets that rise inside the
// input, and the end mapped to the input's end.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "小區的電梯壞了！", "  ＡＢ  電梯\x00壞了 \n\n", "\xff\xfe", "a\u0085b\u3000c", "\r\n\r\n"} {
		f.Add(s)
	}
	n := testNormalizer(f)
	f.Fuzz(func(t *testing.T, in string) {
		got := n.Normalize(in)
		if !utf8.ValidString(got.Text) || strings.ContainsAny(got.Text, "\x00\t\r") {
			t.Fatalf("Normalize(%q) = %q", in, got.Text)
		}
		total, runes, prev := utf8.RuneCountInString(in), utf8.RuneCountInString(got.Text), -1
		for i := range runes {
			o := got.Orig(i)
			if o <= prev || o >= total {
				t.Fatalf("Normalize(%q): rune %d maps to %d (previous %d, input %d runes)", in, i, o, prev, total)
			}
			prev = o
		}
		if got.Orig(runes) != total {
			t.Fatalf("Normalize(%q): end maps to %d, want %d", in, got.Orig(runes), total)
		}
	})
}
