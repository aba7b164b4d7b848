package analyzer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CSVColumns maps accepted CSV header names (lower-cased) to record fields.
// Any other column goes to meta under its own name.
var CSVColumns = map[string]string{
	"id": "id", "编号": "id", "工单号": "id", "记录编号": "id",
	"kind": "kind", "类型": "kind",
	"channel": "channel", "渠道": "channel", "来源": "channel",
	"org": "org", "组织": "org", "项目": "org",
	"occurred_at": "occurred_at", "时间": "occurred_at", "日期": "occurred_at", "发生时间": "occurred_at",
	"customer": "customer", "客户": "customer", "客户编号": "customer",
	"text": "text", "内容": "text", "文本": "text", "描述": "text", "诉求内容": "text",
	"nps": "nps", "推荐度": "nps",
	"csat": "csat", "满意度": "csat",
	"stage": "stage", "阶段": "stage",
}

// LineError is one bad record in a stream; the stream goes on after it.
// Line is the line (NDJSON, CSV) or the 1-based item number (JSON array).
type LineError struct {
	Line int
	ID   string // when the record got far enough to have one
	Err  error  // a *Error or *JSONError
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ReadOptions tune a RecordReader.
type ReadOptions struct {
	MaxLine  int               // longest NDJSON line or CSV row; 2×MaxTextBytes if 0
	Columns  map[string]string // extra CSV header → field mappings
	Location *time.Location    // for CSV times without a zone; UTC if nil
}

// RecordReader reads records one at a time from a stream in one of the
// Formats, so a large upload is never held whole.
type RecordReader struct {
	format *Format
	opt    ReadOptions
	line   int

	br   *bufio.Reader // ndjson
	dec  *json.Decoder // json
	cr   *csvReader    // csv
	cols []string      // csv: field per column
}

// NewRecordReader starts reading r in the format named format (see
// FormatNamed). For CSV it reads and checks the header.
func NewRecordReader(r io.Reader, format string, opt ReadOptions) (*RecordReader, error) {
	f, err := FormatNamed(format)
	if err != nil {
		return nil, err
	}
	return f.NewReader(r, opt)
}

// NewReader starts reading r as f. For CSV it reads and checks the header.
func (f *Format) NewReader(r io.Reader, opt ReadOptions) (*RecordReader, error) {
	if opt.MaxLine <= 0 {
		opt.MaxLine = 2 * MaxTextBytes
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	rr := &RecordReader{format: f, opt: opt}
	if err := f.open(rr, r); err != nil {
		return nil, err
	}
	return rr, nil
}

func (rr *RecordReader) openNDJSON(r io.Reader) error {
	rr.br = bufio.NewReaderSize(r, 64*1024)
	return nil
}

func (rr *RecordReader) openJSON(r io.Reader) error {
	rr.dec = json.NewDecoder(r)
	tok, err := rr.dec.Token()
	if err != nil || tok != json.Delim('[') {
		return &JSONError{Reason: "want a JSON array of records"}
	}
	return nil
}

func (rr *RecordReader) openCSV(r io.Reader) error {
	rr.cr = newCSVReader(r, rr.opt.MaxLine)
	header, line, err := rr.cr.row(0)
	var fe *Error
	switch {
	case err == io.EOF:
		return &LineError{Line: 1, Err: &Error{Kind: Invalid, Field: "header", Reason: "no CSV header row: the input is empty"}}
	case errors.As(err, &fe):
		return &LineError{Line: line, Err: &Error{Kind: Invalid, Field: "header", Reason: "no CSV header row: " + fe.Reason}}
	case err != nil:
		return err
	}
	if err := rr.header(header); err != nil {
		return &LineError{Line: line, Err: err}
	}
	rr.line = line
	return nil
}

func (rr *RecordReader) header(h []string) error {
	seen := map[string]bool{}
	rr.cols = make([]string, len(h))
	for i, name := range h {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // Excel's UTF-8 byte-order mark
		}
		if !utf8.ValidString(name) {
			return &Error{Kind: Invalid, Field: "header", Reason: "not valid UTF-8 (save the file as UTF-8; GBK is not read)"}
		}
		key := strings.ToLower(strings.TrimSpace(name))
		field, ok := rr.opt.Columns[key]
		if !ok {
			field, ok = CSVColumns[key]
		}
		if !ok {
			if key == "" {
				return &Error{Kind: Invalid, Field: "header", Reason: fmt.Sprintf("column %d has no name", i+1)}
			}
			field = "meta." + strings.TrimPrefix(key, "meta.")
		}
		if seen[field] {
			return &Error{Kind: Invalid, Field: "header", Reason: fmt.Sprintf("two columns map to %s", field)}
		}
		seen[field] = true
		rr.cols[i] = field
	}
	if !seen["text"] {
		known := make([]string, 0, len(CSVColumns))
		for k, v := range CSVColumns {
			if v == "text" {
				known = append(known, k)
			}
		}
		sort.Strings(known)
		return &Error{Kind: Invalid, Field: "header", Reason: "no text column (one of " + strings.Join(known, ", ") + ")"}
	}
	return nil
}

// Next returns the next record and its line. A bad record comes back as a
// *LineError and the stream can go on; io.EOF ends it; any other error
// (a broken JSON array, an I/O error, a body over its limit) is fatal.
func (rr *RecordReader) Next() (*Record, int, error) { return rr.format.next(rr) }

func (rr *RecordReader) nextNDJSON() (*Record, int, error) {
	for {
		raw, tooLong, err := ReadLine(rr.br, rr.opt.MaxLine)
		if err != nil && err != io.EOF {
			return nil, rr.line, err
		}
		if raw == nil && !tooLong && err == io.EOF {
			return nil, rr.line, io.EOF
		}
		rr.line++
		if tooLong {
			return nil, rr.line, &LineError{Line: rr.line, Err: &Error{Kind: Invalid, Field: "text", Reason: fmt.Sprintf("line longer than %d bytes", rr.opt.MaxLine)}}
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue // blank lines carry nothing
		}
		rec, derr := DecodeRecord(raw)
		if derr != nil {
			return nil, rr.line, &LineError{Line: rr.line, Err: derr}
		}
		return rec, rr.line, nil
	}
}

func (rr *RecordReader) nextJSON() (*Record, int, error) {
	if !rr.dec.More() {
		if _, err := rr.dec.Token(); err != nil {
			return nil, rr.line, &JSONError{Reason: fmt.Sprintf("after item %d: %v", rr.line, err)}
		}
		return nil, rr.line, io.EOF
	}
	rr.line++
	var raw json.RawMessage
	if err := rr.dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, rr.line, &JSONError{Reason: fmt.Sprintf("item %d: %v", rr.line, err)}
		}
		return nil, rr.line, err // the body's reader failed (over its limit, say)
	}
	rec, err := DecodeRecord(raw)
	if err != nil {
		return nil, rr.line, &LineError{Line: rr.line, Err: err}
	}
	return rec, rr.line, nil
}

func (rr *RecordReader) nextCSV() (*Record, int, error) {
	row, line, err := rr.cr.row(len(rr.cols))
	if err == io.EOF {
		return nil, rr.line, io.EOF
	}
	rr.line = line
	if err != nil {
		return nil, rr.line, err // a *LineError, or the reader's
	}
	rec, ferr := rr.csvRecord(row)
	if ferr != nil {
		id := ""
		if rec != nil {
			id = rec.ID
		}
		return nil, rr.line, &LineError{Line: rr.line, ID: id, Err: ferr}
	}
	return rec, rr.line, nil
}

// Time layouts accepted in CSV besides RFC 3339 (spreadsheet exports).
var csvTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "2006/01/02 15:04:05", "2006/01/02 15:04", "2006/01/02", "2006/1/2 15:04", "2006/1/2"}

func (rr *RecordReader) csvRecord(row []string) (*Record, error) {
	r := &Record{}
	for i, v := range row {
		v = strings.TrimSpace(v)
		switch f := rr.cols[i]; f {
		case "id":
			r.ID = v
		case "kind":
			r.Kind = v
		case "channel":
			r.Channel = v
		case "org":
			r.Org = v
		case "customer":
			r.Customer = v
		case "text":
			r.Text = row[i] // keep the words as written
		case "stage":
			r.Stage = v
		case "occurred_at":
			if v == "" {
				break
			}
			if _, err := time.Parse(time.RFC3339, v); err == nil {
				r.OccurredAt = v
				break
			}
			ok := false
			for _, l := range csvTimeLayouts {
				if t, err := time.ParseInLocation(l, v, rr.opt.Location); err == nil {
					r.OccurredAt, ok = t.Format(time.RFC3339), true
					break
				}
			}
			if !ok {
				return r, &Error{Kind: Invalid, Field: "occurred_at", Reason: fmt.Sprintf("%q is not a time (RFC 3339 or 2006-01-02 15:04:05)", v)}
			}
		case "nps", "csat":
			if v == "" {
				break
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return r, &Error{Kind: Invalid, Field: f, Reason: fmt.Sprintf("%q is not a whole number", v)}
			}
			if f == "nps" {
				r.NPS = &n
			} else {
				r.CSAT = &n
			}
		default:
			if v == "" {
				break
			}
			if r.Meta == nil {
				r.Meta = map[string]string{}
			}
			r.Meta[strings.TrimPrefix(f, "meta.")] = v
		}
	}
	for k, v := range r.Meta {
		if !utf8.ValidString(v) || !utf8.ValidString(k) {
			return r, &Error{Kind: Invalid, Field: "meta." + k, Reason: "not valid UTF-8"}
		}
	}
	return r, nil
}

// ReadLine reads one line without its line ending. A line over limit is
// consumed and reported as tooLong, with no content.
func ReadLine(r *bufio.Reader, limit int) ([]byte, bool, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > limit {
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
			if err == nil {
				return nil, true, nil
			}
			return nil, true, err
		}
		buf = append(buf, chunk...)
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil:
			return bytes.TrimRight(buf, "\r\n"), false, nil
		case io.EOF:
			if len(buf) == 0 {
				return nil, false, io.EOF
			}
			return bytes.TrimRight(buf, "\r\n"), false, io.EOF
		default:
			return nil, false, err
		}
	}
}
