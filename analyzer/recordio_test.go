package analyzer

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

type readResult struct {
	ids    []string
	errs   map[int]string // line → field
	fatal  error
	sample map[string]*Record
}

func readAll(t *testing.T, r io.Reader, format string) readResult {
	t.Helper()
	loc := time.FixedZone("CST", 8*3600)
	rr, err := NewRecordReader(r, format, ReadOptions{Location: loc, MaxLine: 4096})
	if err != nil {
		return readResult{fatal: err}
	}
	res := readResult{errs: map[int]string{}, sample: map[string]*Record{}}
	for {
		rec, line, err := rr.Next()
		if err == io.EOF {
			return res
		}
		var le *LineError
		if errors.As(err, &le) {
			if le.Line != line {
				t.Errorf("LineError line %d, Next line %d", le.Line, line)
			}
			var fe *FieldError
			var je *JSONError
			switch {
			case errors.As(err, &fe):
				res.errs[line] = fe.Field
			case errors.As(err, &je):
				res.errs[line] = "json:" + je.Field
			default:
				t.Fatalf("line %d: unexpected %v", line, err)
			}
			continue
		}
		if err != nil {
			res.fatal = err
			return res
		}
		res.ids = append(res.ids, rec.ID)
		res.sample[rec.ID] = rec
	}
}

func TestReadCSV(t *testing.T) {
	f, err := os.Open("testdata/records.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res := readAll(t, f, FormatCSV)
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	if got := strings.Join(res.ids, ","); got != "w1,w2,w6" {
		t.Errorf("good rows %s", got)
	}
	want := map[int]string{4: "occurred_at", 5: "row", 6: "nps"}
	for line, field := range want {
		if res.errs[line] != field {
			t.Errorf("line %d: error on %q, want %q (all: %v)", line, res.errs[line], field, res.errs)
		}
	}
	w1 := res.sample["w1"]
	if w1.Channel != "400" || w1.Org != "华南区域/深圳/碧海花园" || w1.OccurredAt != "2026-03-01T09:30:00+08:00" || *w1.NPS != 3 || w1.CSAT != nil || w1.Meta["坐席"] != "张三" {
		t.Errorf("w1 = %+v", w1)
	}
	if w2 := res.sample["w2"]; w2.Text != "保洁很认真，楼道很干净" || *w2.CSAT != 5 {
		t.Errorf("w2 = %+v", w2)
	}
}

func TestReadCSVHeader(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"no text column", "id,channel\n1,app\n", "no text column"},
		{"duplicate", "内容,text\n1,2\n", "two columns map to text"},
		{"GBK", "\xc4\xda\xc8\xdd\n1\n", "GBK"},
		{"empty", "", "no CSV header"},
		{"unnamed", "text,\n1,2\n", "has no name"},
	} {
		_, err := NewRecordReader(strings.NewReader(tc.src), FormatCSV, ReadOptions{})
		var le *LineError
		if !errors.As(err, &le) || le.Line != 1 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want line 1 and %q", tc.name, err, tc.want)
		}
	}
}

func TestReadNDJSON(t *testing.T) {
	src := `{"id":"a","text":"电梯坏了"}

{"id":"b","txt":"拼错了"}
{"id":"c","text":"` + strings.Repeat("长", 2000) + `"}
not json
{"id":"d","text":"最后一行没有换行"}`
	res := readAll(t, strings.NewReader(src), FormatNDJSON)
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	if got := strings.Join(res.ids, ","); got != "a,d" {
		t.Errorf("good lines %s", got)
	}
	want := map[int]string{3: "json:txt", 4: "text", 5: "json:"}
	for line, field := range want {
		if res.errs[line] != field {
			t.Errorf("line %d: %q, want %q (all %v)", line, res.errs[line], field, res.errs)
		}
	}
}

func TestReadJSONArray(t *testing.T) {
	res := readAll(t, strings.NewReader(`[{"id":"a","text":"电梯"}, {"id":"b","nps":"ten"}, {"id":"c","text":"垃圾"}]`), FormatJSON)
	if res.fatal != nil || strings.Join(res.ids, ",") != "a,c" || res.errs[2] != "json:nps" {
		t.Errorf("%+v", res)
	}
	res = readAll(t, strings.NewReader(`[{"id":"a","text":"电梯"}, {"id":`), FormatJSON)
	var je *JSONError
	if !errors.As(res.fatal, &je) || strings.Join(res.ids, ",") != "a" {
		t.Errorf("truncated array: %+v", res)
	}
	if res = readAll(t, strings.NewReader(`{"id":"a"}`), FormatJSON); res.fatal == nil {
		t.Error("an object where an array belongs was accepted")
	}
}

func FuzzRecordReader(f *testing.F) {
	if b, err := os.ReadFile("testdata/records.csv"); err == nil {
		f.Add(b, uint8(2))
	}
	f.Add([]byte(`{"id":"a","text":"电梯"}`+"\n"+`{"id":"b"}`), uint8(0))
	f.Add([]byte(`[{"id":"a","text":"电梯"},{"id":1}]`), uint8(1))
	f.Add([]byte("text,id\n\"a\"\"b\",1\n\"unterminated\n"), uint8(2))
	formats := []string{FormatNDJSON, FormatJSON, FormatCSV}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		rr, err := NewRecordReader(strings.NewReader(string(b)), formats[int(which)%3], ReadOptions{MaxLine: 1 << 12})
		if err != nil {
			return
		}
		prev := 0
		for i := 0; i < 10000; i++ {
			rec, line, err := rr.Next()
			if err == io.EOF {
				return
			}
			var le *LineError
			if err != nil && !errors.As(err, &le) {
				return // fatal: the stream stops
			}
			if line < prev {
				t.Fatalf("line went back from %d to %d", prev, line)
			}
			prev = line
			if err == nil && rec == nil {
				t.Fatal("nil record without an error")
			}
		}
		t.Fatal("reader did not finish")
	})
}

func TestDecodeRecordLoneSurrogate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		lone bool
	}{
		{`{"id":"1","text":"a\ud800b"}`, true},
		{`{"id":"1","text":"a\udc00b"}`, true},
		{`{"id":"1","text":"\ud800"}`, true},
		{`{"id":"1","text":"\ud800\u0041"}`, true},
		{`{"id":"1","text":"\udc00\ud800"}`, true},
		{`{"id":"1","text":"😀 \ud83d\ude00"}`, false},
		{`{"id":"1","text":"\\ud800 is text"}`, false},
		{`{"id":"1","text":"\u6f0f\u6c34"}`, false},
	} {
		_, err := DecodeRecord([]byte(tt.in))
		var je *JSONError
		if got := errors.As(err, &je) && strings.Contains(je.Reason, "surrogate"); got != tt.lone {
			t.Errorf("DecodeRecord(%s): surrogate error %v, want %v (err %v)", tt.in, got, tt.lone, err)
		}
	}
}
