package analyzer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
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
			var fe *Error
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

// A broken quote costs its row only: the rows before and after it are
// read, each error names the line its row starts on, and well-formed
// quoted fields (doubled quotes, commas, line breaks) still read whole.
func TestReadCSVQuotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		ids  string
		errs map[int]string // line → reason fragment
		text map[string]string
	}{
		{name: "unterminated at the end",
			src:  "id,text\na,电梯坏了\nb,\"没人修\nc,楼道很脏\nd,垃圾没人清\n",
			ids:  "a,c,d",
			errs: map[int]string{3: "never closed"}},
		{name: "unterminated, later rows quoted",
			src:  "id,text\na,电梯坏了\nb,\"没人修\nc,\"楼道很脏，没人扫\"\nd,他说\"马上来\"，结果没来\ne,\"停车难\"\n",
			ids:  "a,c,d,e",
			errs: map[int]string{3: "not doubled"}},
		{name: "two unterminated",
			src:  "id,text\n\"a,电梯坏了\nb,\"没人修\nc,楼道很脏\n",
			ids:  "c",
			errs: map[int]string{2: "not doubled", 3: "never closed"}},
		{name: "closed by a later stray quote, fields left over",
			src:  "id,text\na,\"没人修\nb,楼道很脏\nc,停车难\",x\nd,好\n",
			ids:  "b,d",
			errs: map[int]string{2: "3 fields", 4: "3 fields"}},
		// A quote right before a line's end closes the field: no reader
		// can tell this from a quoted field with line breaks.
		{name: "closed by a later quote at a line's end",
			src:  "id,text\na,\"没人修\nb,楼道很脏\"\nc,好\n",
			ids:  "a,c",
			text: map[string]string{"a": "没人修\nb,楼道很脏"}},
		{name: "well-formed quoted fields",
			src:  "id,text\na,\"他说\"\"马上来\"\"，结果\n没来，\n还是没来\"\nb,\"物业费, 停车费\"\nc,他说\"好的\"\nd,\"他说\"好的\"\n",
			ids:  "a,b,c,d",
			text: map[string]string{"a": "他说\"马上来\"，结果\n没来，\n还是没来", "b": "物业费, 停车费", "c": "他说\"好的\"", "d": "他说\"好的"}},
		{name: "CRLF and blank lines",
			src:  "id,text\r\na,\"电梯\r\n坏了\"\r\n\r\nb,楼道\r\n",
			ids:  "a,b",
			text: map[string]string{"a": "电梯\n坏了"}},
		{name: "unterminated over the row limit",
			src:  "id,text\na,\"没人修\n" + strings.Repeat("x,楼道很脏\n", 600) + "y,停车难\n",
			ids:  strings.Repeat("x,", 600) + "y",
			errs: map[int]string{2: "runs over 4096 bytes"}},
	} {
		rr, err := NewRecordReader(strings.NewReader(tc.src), FormatCSV, ReadOptions{MaxLine: 4096})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var ids []string
		errs := map[int]string{}
		for {
			rec, line, err := rr.Next()
			if err == io.EOF {
				break
			}
			var le *LineError
			if errors.As(err, &le) {
				if le.Line != line {
					t.Errorf("%s: LineError line %d, Next line %d", tc.name, le.Line, line)
				}
				errs[line] = le.Error()
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			ids = append(ids, rec.ID)
			if want, ok := tc.text[rec.ID]; ok && rec.Text != want {
				t.Errorf("%s: %s text %q, want %q", tc.name, rec.ID, rec.Text, want)
			}
		}
		if got := strings.Join(ids, ","); got != tc.ids {
			t.Errorf("%s: read %s, want %s (errors %v)", tc.name, got, tc.ids, errs)
		}
		if len(errs) != len(tc.errs) {
			t.Errorf("%s: errors %v, want lines %v", tc.name, errs, tc.errs)
		}
		for line, frag := range tc.errs {
			if !strings.Contains(errs[line], frag) || !strings.HasPrefix(errs[line], fmt.Sprintf("line %d: row: ", line)) {
				t.Errorf("%s: line %d: %q, want %q", tc.name, line, errs[line], frag)
			}
		}
	}
}

// On well-formed CSV the reader reads what encoding/csv writes, quotes,
// commas and line breaks in fields included.
func TestCSVReaderReadsWhatCSVWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"电梯", "a", ",", `"`, "\n", " ", "，", `""`, "\r\n", "好的"}
	var want [][]string
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for range 2000 {
		row := make([]string, 2+rng.IntN(4))
		for i := range row {
			var b strings.Builder
			for range rng.IntN(6) {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			row[i] = b.String()
		}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
		// encoding/csv reads \r\n inside a quoted field as \n, and so
		// does this reader.
		for i := range row {
			row[i] = strings.ReplaceAll(row[i], "\r\n", "\n")
		}
		want = append(want, row)
	}
	w.Flush()
	r := newCSVReader(&buf, 1<<20)
	for i, row := range want {
		got, _, err := r.row(len(row))
		if err != nil || !slices.Equal(got, row) {
			t.Fatalf("row %d: %q %v, want %q", i, got, err, row)
		}
	}
	if _, _, err := r.row(0); err != io.EOF {
		t.Fatalf("after the last row: %v", err)
	}
}
