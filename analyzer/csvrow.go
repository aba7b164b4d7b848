package analyzer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// csvReader reads CSV rows (RFC 4180) one line at a time, so that a row
// with a broken quote costs that row and no other. encoding/csv cannot do
// this: with LazyQuotes an unterminated quote swallows every row after it
// into one field without an error, and without it a stray quote in
// Chinese text (他说"好的") fails the row.
//
// A " inside an unquoted field is kept as written, and so is a " inside a
// quoted field that is not followed by a comma or the line's end, as long
// as the field has not crossed a line break. Past one, such a quote means
// the field was never closed and ran into the rows below; that, reaching
// the end of the input inside quotes, or a quoted field over the row limit
// is an error on the line the row starts on. When a row that fails spans
// several lines, reading goes on at its second line, so the rows an
// unterminated quote would have swallowed are read on their own.
type csvReader struct {
	br   *bufio.Reader
	max  int       // longest row in bytes
	read int       // lines read from br
	back []csvLine // lines to read again, in order
	eof  bool
}

type csvLine struct {
	n    int    // 1-based line number
	text []byte // without its line ending
	long bool   // over max (text not kept)
}

func newCSVReader(r io.Reader, max int) *csvReader {
	return &csvReader{br: bufio.NewReaderSize(r, 64*1024), max: max}
}

func (r *csvReader) nextLine() (csvLine, bool, error) {
	if len(r.back) > 0 {
		l := r.back[0]
		r.back = r.back[1:]
		return l, true, nil
	}
	if r.eof {
		return csvLine{}, false, nil
	}
	raw, long, err := ReadLine(r.br, r.max)
	switch {
	case err == io.EOF:
		r.eof = true
		if raw == nil && !long {
			return csvLine{}, false, nil
		}
	case err != nil:
		return csvLine{}, false, err // the body's reader failed (over its limit, say)
	}
	r.read++
	return csvLine{n: r.read, text: raw, long: long}, true, nil
}

// row reads the next row (blank lines carry nothing) and the line it
// starts on. With want > 0 a row of another number of fields is an error.
// A bad row is a *LineError (the stream goes on); io.EOF ends it; any
// other error is the reader's.
func (r *csvReader) row(want int) ([]string, int, error) {
	var first csvLine
	for {
		l, ok, err := r.nextLine()
		if err != nil {
			return nil, r.read, err
		}
		if !ok {
			return nil, r.read, io.EOF
		}
		if l.long {
			return nil, l.n, &LineError{Line: l.n, Err: &Error{Kind: Invalid, Field: "row", Reason: fmt.Sprintf("row longer than %d bytes", r.max)}}
		}
		if len(l.text) > 0 {
			first = l
			break
		}
	}
	used := []csvLine{first}
	fail := func(reason string) ([]string, int, error) {
		if len(used) > 1 {
			r.back = append(used[1:len(used):len(used)], r.back...)
		}
		return nil, first.n, &LineError{Line: first.n, Err: &Error{Kind: Invalid, Field: "row", Reason: reason}}
	}
	var fields []string
	var field []byte
	line, i, size := first.text, 0, len(first.text)
	for done := false; !done; {
		if i < len(line) && line[i] == '"' { // a quoted field
			i++
			field = field[:0]
			for closed := false; !closed; {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 { // the field goes on on the next line
					field = append(field, line[i:]...)
					l, ok, err := r.nextLine()
					if err != nil {
						return nil, first.n, err
					}
					if !ok {
						return fail(`unterminated quoted field: the " opened on this line is never closed`)
					}
					used = append(used, l)
					if size += len(l.text) + 1; l.long || size > r.max {
						return fail(fmt.Sprintf(`a quoted field opened on this line runs over %d bytes: a " left open?`, r.max))
					}
					field = append(field, '\n')
					line, i = l.text, 0
					continue
				}
				field = append(field, line[i:i+j]...)
				i += j + 1
				switch {
				case i < len(line) && line[i] == '"': // "" is a quote
					field = append(field, '"')
					i++
				case i == len(line):
					closed, done = true, true
				case line[i] == ',':
					closed = true
					i++
				case len(used) == 1: // a stray quote on the field's first line
					field = append(field, '"')
				default:
					return fail(fmt.Sprintf(`a quoted field opened on this line meets a " on line %d that is not doubled (""): a " left open?`, used[len(used)-1].n))
				}
			}
			fields = append(fields, string(field))
			continue
		}
		j := bytes.IndexByte(line[i:], ',')
		if j < 0 {
			fields = append(fields, string(line[i:]))
			break
		}
		fields = append(fields, string(line[i:i+j]))
		i += j + 1
	}
	if want > 0 && len(fields) != want {
		return fail(fmt.Sprintf("%d fields, the header has %d", len(fields), want))
	}
	return fields, first.n, nil
}
