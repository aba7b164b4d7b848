package fulltext

import (
	"slices"
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/taxonomy"
)

func TestTokenizer(t *testing.T) {
	if err := Register(analyzertest.Segmenter(t)); err != nil {
		t.Fatal(err)
	}
	type tok struct {
		term       string
		start, end int
		pos        int
	}
	cases := []struct {
		text   string
		search bool
		want   []tok
	}{
		// Search mode: the words inside 电梯困人 share its position.
		{"电梯困人了", true, []tok{{"电梯", 0, 6, 1}, {"困人", 6, 12, 1}, {"电梯困人", 0, 12, 1}, {"了", 12, 15, 2}}},
		// Precise mode (queries): no inner words.
		{"电梯困人了", false, []tok{{"电梯困人", 0, 12, 1}, {"了", 12, 15, 2}}},
		// Traditional and full-width text is cut as simplified, half-width,
		// lower-case, with offsets into the original bytes.
		{"電梯ＡＢ", false, []tok{{"电梯", 0, 6, 1}, {"ab", 6, 12, 2}}},
		// Punctuation and spaces are not tokens.
		{"，。 ！", true, nil},
	}
	for _, tc := range cases {
		tz := &jiebaTokenizer{tools: tools.Load(), search: tc.search}
		var got []tok
		for _, tk := range tz.Tokenize([]byte(tc.text)) {
			got = append(got, tok{string(tk.Term), tk.Start, tk.End, tk.Position})
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q (search %v): got %v, want %v", tc.text, tc.search, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q (search %v): token %d = %v, want %v", tc.text, tc.search, i, got[i], tc.want[i])
			}
		}
	}
}

// TestTagParents: a tag counts under the ancestors recorded with it, even
// none (a root then); only a tag stored before tags carried them falls
// back on the taxonomy.
func TestTagParents(t *testing.T) {
	tax, err := taxonomy.Parse([]byte("id: t\nname: T\nscenes:\n  - id: a\n    name: A\n    touchpoints:\n      - {id: b, name: B, terms: [x]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		parents []string
		want    []string
	}{
		{[]string{"old"}, []string{"old"}},
		{[]string{}, []string{}},
		{nil, []string{"a"}},
	} {
		got := analyzer.TagParents(analyzer.Tag{ID: "b", Parents: tc.parents}, tax)
		if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("parents %#v: got %#v, want %#v", tc.parents, got, tc.want)
		}
	}
}
