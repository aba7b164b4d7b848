package api_test

import (
	"slices"
	"strings"
	"testing"

	"dongting/api"
	"dongting/index"
	"dongting/index/indextest"
)

func TestDictionary(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	seg := s.corpus.Analyzer().Segmenter()
	const word = "蓝鲸湾"
	if slices.Contains(seg.Cut(word+"小区的电梯又坏了"), word) {
		t.Fatalf("%s is already a word: pick another for this test", word)
	}
	code, out := do(t, "POST", s.URL+"/api/v1/dictionary", "application/json", strings.NewReader(`{"add":["`+word+`"]}`))
	if code != 200 {
		t.Fatalf("add: %d %v", code, out)
	}
	if !slices.Contains(seg.Cut(word+"小区的电梯又坏了"), word) {
		t.Fatal("the running segmenter did not take the word")
	}
	// Searchable as a word in records stored from now on.
	do(t, "POST", s.URL+"/api/v1/records?wait=indexed", "application/json", strings.NewReader(`{"id":"lw-1","text":"`+word+`小区的电梯又坏了"}`))
	if _, out = do(t, "GET", s.URL+"/api/v1/search?q="+word, "", nil); out["total"] != 1.0 {
		t.Errorf("search for the new word: %v", out)
	}
	for _, c := range []struct{ body, field string }{
		{`{"add":[""]}`, "add[0]"},
		{`{"add":["蓝 鲸"]}`, "add[0]"},
		{`{"remove":["` + strings.Repeat("长", 40) + `"]}`, "remove[0]"},
		{`{}`, "add"},
	} {
		code, out := do(t, "POST", s.URL+"/api/v1/dictionary", "application/json", strings.NewReader(c.body))
		if _, field := errOf(out); code != 422 || field != c.field {
			t.Errorf("%s: %d %v", c.body, code, out)
		}
	}
	if code, _ := do(t, "POST", s.URL+"/api/v1/dictionary", "application/json", strings.NewReader(`{"add":["x"],"colour":1}`)); code != 400 {
		t.Errorf("unknown field: %d", code)
	}

	// Stored: a restart applies it again to a segmenter that lost it.
	dir := t.TempDir()
	c := indextest.Open(t, index.Options{Dir: dir})
	if _, err := c.ChangeWords([]string{word}, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	seg.RemoveWords(word)
	if slices.Contains(seg.Cut(word+"小区的电梯又坏了"), word) {
		t.Fatal("word still in the segmenter after its removal")
	}
	c = indextest.Open(t, index.Options{Dir: dir})
	defer c.Close()
	if !slices.Contains(seg.Cut(word+"小区的电梯又坏了"), word) {
		t.Error("a stored word was not applied at open")
	}

	// Removed over the API: cut apart again, and listed as removed.
	code, out = do(t, "POST", s.URL+"/api/v1/dictionary", "application/json", strings.NewReader(`{"remove":["`+word+`"]}`))
	if code != 200 || slices.Contains(seg.Cut(word+"小区的电梯又坏了"), word) {
		t.Errorf("remove: %d %v %v", code, out, seg.Cut(word+"小区的电梯又坏了"))
	}
	if ws := out["words"].([]any); len(ws) != 1 || ws[0].(map[string]any)["removed"] != true {
		t.Errorf("listed %v", ws)
	}
	// jieba's own words cannot be removed, and the answer says so.
	code, out = do(t, "POST", s.URL+"/api/v1/dictionary", "application/json", strings.NewReader(`{"remove":["电梯"]}`))
	if nr, _ := out["not_removed"].([]any); code != 200 || len(nr) != 1 || nr[0] != "电梯" {
		t.Errorf("removing a jieba word: %d %v", code, out)
	}
	do(t, "POST", s.URL+"/api/v1/dictionary", "application/json", strings.NewReader(`{"add":["电梯"]}`)) // as it was for the other tests
}
