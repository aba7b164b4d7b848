package api_test

import (
	"fmt"
	"strings"
	"testing"

	"dongting/api"
)

// A CSV upload with broken rows among 1,000 good ones: every good row is
// stored, each bad one is reported with the line it starts on, and an
// unterminated quote does not swallow the rows after it.
func TestCSVUploadBadQuotes(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	bad := map[int]string{} // line → what its error says
	var body strings.Builder
	body.WriteString("id,channel,时间,内容\n")
	line, good := 1, 0
	texts := []string{"电梯又坏了，没人修", `他说"马上来"，结果没来`, `"楼道很脏, 没人打扫"`, `"报修三次
还是没修好"`}
	for i := range 1000 {
		if i%97 == 13 { // an unterminated quote in the text column
			line++
			fmt.Fprintf(&body, "bad-%d,app,2026-03-01 09:00,\"说没配件，一直拖着\n", i)
			bad[line] = `row: a quoted field opened on this line meets a " on line`
		}
		if i%250 == 100 { // a quote left open in the channel column
			line++
			fmt.Fprintf(&body, "bad-c%d,\"app,2026-03-01 09:00,电梯坏了\n", i)
			bad[line] = "row: "
		}
		if i == 500 { // a wrong time, well quoted
			line++
			fmt.Fprintf(&body, "bad-t%d,app,昨天,\"停车难\"\n", i)
			bad[line] = "occurred_at"
		}
		text := texts[i%len(texts)]
		line++
		line += strings.Count(text, "\n")
		fmt.Fprintf(&body, "g%04d,app,2026-03-01 09:00,%s\n", i, text)
		good++
	}
	line++
	body.WriteString("bad-end,app,2026-03-01 09:00,\"说没配件，一直拖着\n")
	bad[line] = "row: unterminated quoted field"
	code, out := do(t, "POST", s.URL+"/api/v1/records/batch?wait=indexed", "text/csv", strings.NewReader(body.String()))
	if code != 200 || out["accepted"] != float64(good) || out["failed"] != float64(len(bad)) {
		t.Fatalf("upload: %d accepted %v failed %v (want %d, %d): %v", code, out["accepted"], out["failed"], good, len(bad), out["errors"])
	}
	errs, _ := out["errors"].([]any)
	got := map[int]string{}
	for _, e := range errs {
		e := e.(map[string]any)
		got[int(e["line"].(float64))] = fmt.Sprint(e["field"], ": ", e["message"])
	}
	for l, want := range bad {
		if !strings.Contains(got[l], want) {
			t.Errorf("line %d: error %q, want %q", l, got[l], want)
		}
	}
	if len(got) != len(bad) {
		t.Errorf("errors on lines %v, want %v", got, bad)
	}
	n, err := s.corpus.Records()
	if err != nil || n != good {
		t.Fatalf("stored %d records, want %d (%v)", n, good, err)
	}
	for i := range 1000 {
		st, err := s.corpus.Get(fmt.Sprintf("g%04d", i))
		if err != nil {
			t.Fatalf("g%04d: %v", i, err)
		}
		want := strings.Trim(strings.ReplaceAll(texts[i%len(texts)], `""`, `"`), `"`)
		if i%len(texts) == 1 {
			want = texts[1] // unquoted: its quotes are text
		}
		if st.Record.Text != want {
			t.Fatalf("g%04d: text %q, want %q", i, st.Record.Text, want)
		}
	}

	// Nothing readable at all: 422 with the line.
	code, out = do(t, "POST", s.URL+"/api/v1/records/batch", "text/csv", strings.NewReader("id,text\n1,\"没人修\n2,没人管\"\"\n"))
	if errs, _ := out["errors"].([]any); code != 200 || len(errs) != 1 || errs[0].(map[string]any)["line"] != float64(2) {
		t.Fatalf("one bad row, one good: %d %v", code, out)
	}
	code, out = do(t, "POST", s.URL+"/api/v1/records/batch", "text/csv", strings.NewReader("id,text\n1,\"没人修\n"))
	if errs, _ := out["errors"].([]any); code != 422 || len(errs) != 1 || errs[0].(map[string]any)["line"] != float64(2) {
		t.Fatalf("only an unterminated row: %d %v", code, out)
	}
}
