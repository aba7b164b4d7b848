package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dongting/analyzer/analyzertest"
)

func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	m := testMain(t, strings.NewReader(stdin), &out, &errb)
	err := m.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

// testMain is the program with the test's dictionary and the test
// binary's gojieba, shared.
func testMain(t *testing.T, stdin io.Reader, stdout, stderr io.Writer) *Main {
	t.Helper()
	dict := analyzertest.DictDir(t)
	m := &Main{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: func(k string) string {
		if k == "DONGTING_JIEBA_DICT" {
			return dict
		}
		return ""
	}}
	m.seg = analyzertest.Segmenter(t)
	return m
}

func TestAnalyzeFile(t *testing.T) {
	out, stderr, err := run(t, "", "analyze", "testdata/mixed.jsonl")
	var exit exitError
	if !errors.As(err, &exit) || exit != 1 {
		t.Fatalf("err = %v, want exit status 1 (some lines are bad)", err)
	}
	if !strings.Contains(stderr, "4 line(s) had errors (first at line 3)") {
		t.Errorf("stderr %q", stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d output lines, want one per input line (7)", len(lines))
	}
	type result struct {
		ID       string `json:"id"`
		Line     int    `json:"line"`
		Severity string `json:"severity"`
		Tags     []struct {
			ID    string `json:"id"`
			Scene string `json:"scene"`
		} `json:"tags"`
		Error *struct{ Code, Message, Field string } `json:"error"`
	}
	var res []result
	for _, l := range lines {
		var r result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad output line %q: %v", l, err)
		}
		res = append(res, r)
	}
	if res[0].ID != "a1" || res[0].Error != nil || res[0].Tags[0].Scene != "facilities" {
		t.Errorf("line 1: %+v", res[0])
	}
	if res[1].ID != "2" || res[1].Tags[0].ID != "cleaning.cleaner" {
		t.Errorf("line 2 (plain text): %+v", res[1])
	}
	wantErr := map[int][2]string{2: {"invalid_json", ""}, 3: {"invalid_field", "text"}, 4: {"invalid_field", "kind"}, 5: {"invalid_json", "txt"}}
	for i, w := range wantErr {
		if res[i].Error == nil || res[i].Line != i+1 || res[i].Error.Code != w[0] || res[i].Error.Field != w[1] {
			t.Errorf("line %d: %+v, want error %v", i+1, res[i], w)
		}
	}
	if res[6].ID != "a7" || res[6].Error != nil || len(res[6].Tags) == 0 {
		t.Errorf("line 7 (turns): %+v", res[6])
	}
}

func TestAnalyzeStdinAndLongLine(t *testing.T) {
	long := strings.Repeat("好", maxLine/3+10)
	out, _, err := run(t, "电梯坏了\n"+long+"\n物业费太贵", "analyze")
	var exit exitError
	if !errors.As(err, &exit) {
		t.Fatalf("err = %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], `"too_large"`) || !strings.Contains(lines[2], `"fees.property-fee"`) {
		t.Errorf("output %.300q", out)
	}
}

func TestEvalSentiment(t *testing.T) {
	out, _, err := run(t, "", "eval", "sentiment", "--data", "testdata/sentiment.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "all rows                                 5     1.000") {
		t.Errorf("output:\n%s", out)
	}
	_, _, err = run(t, "", "eval", "sentiment", "--data", "testdata/bad.csv")
	if err == nil || !strings.Contains(err.Error(), `bad.csv:3: label "x"`) {
		t.Errorf("bad label: %v", err)
	}
}

func TestEvalTags(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gold.jsonl")
	os.WriteFile(p, []byte(`{"text":"电梯坏了","expect":["facilities.elevator"]}`+"\n"+`{"text":"物业费太贵","expect":["fees"]}`+"\n"), 0o644)
	out, _, err := run(t, "", "eval", "tags", "--data", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "touchpoints: precision 1.000  recall 1.000") || !strings.Contains(out, "accuracy (exact scene set) 1.000") {
		t.Errorf("output:\n%s", out)
	}
	os.WriteFile(p, []byte(`{"text":"x","expect":["nope"]}`+"\n"), 0o644)
	if _, _, err := run(t, "", "eval", "tags", "--data", p); err == nil || !strings.Contains(err.Error(), `gold.jsonl:1: expected id "nope"`) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestMissingDictionary(t *testing.T) {
	m := &Main{Stdin: strings.NewReader("x"), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), []string{"analyze", "-jieba-dict", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "lacks jieba.dict.utf8") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{`{"id":"1","text":"电梯坏了"}`, "纯文本", `{"turns":[{"speaker":"agent","text":"x"}]}`, `{"nps":"x"}`, `{}`, `{"a":1}{"b":2}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := parseLine(b, 7)
		if err != nil {
			if le := toLineError(err, 7); le.Error.Code == "internal" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if rec.ID == "" {
			t.Fatal("record without id")
		}
	})
}
