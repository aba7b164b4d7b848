package analyzer

import (
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
	}
	for _, tt := range tests {
		got := n.Normalize(tt.in)
		if got.Text != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got.Text, tt.want)
		}
		if len(got.Offs) != utf8.RuneCountInString(got.Text)+1 {
			t.Errorf("Normalize(%q): %d offsets for %d runes", tt.in, len(got.Offs), utf8.RuneCountInString(got.Text))
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

func BenchmarkNormalizeSimplified(b *testing.B) {
	n := testNormalizer(b)
	s := "小区的电梯又坏了，物业一直不来修，打了三次电话都没人管，太让人失望了！"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		n.Normalize(s)
	}
}
