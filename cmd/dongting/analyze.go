package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"

	"dongting/analyzer"
	"dongting/index/work"
)

// maxLine bounds one input line: the largest record text plus JSON overhead.
const maxLine = 4 * analyzer.MaxTextBytes

// lineError is the output for an input line that could not be analyzed.
type lineError struct {
	Line  int       `json:"line"`
	ID    string    `json:"id,omitempty"`
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (m *Main) runAnalyze(ctx context.Context, args []string) error {
	fs := m.newFlagSet("analyze")
	c := m.commonFlags(fs)
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "records analyzed in parallel")
	fs.Usage = func() {
		fmt.Fprintln(m.Stderr, "usage: dongting analyze [flags] [FILE]\n\nReads JSON Lines records (or plain text, one record per line) from FILE or stdin\nand writes one JSON analysis per input line.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errors.New("analyze: at most one FILE")
	}
	in := m.Stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		defer f.Close()
		in = f
	}
	a, _, err := m.analyzer(c)
	if err != nil {
		return err
	}
	failed, first, err := analyzeStream(ctx, a, in, m.Stdout, max(1, *workers))
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if failed > 0 {
		fmt.Fprintf(m.Stderr, "analyze: %d line(s) had errors (first at line %d); see the error objects in the output\n", failed, first)
		return exitError(1)
	}
	return nil
}

type job struct {
	line int
	raw  []byte
	err  *lineError // set while reading (line too long)
	out  []byte
}

// analyzeStream analyzes line by line, in parallel, writing results in
// input order. It returns how many lines failed and the first of them.
func analyzeStream(ctx context.Context, a *analyzer.Analyzer, in io.Reader, out io.Writer, workers int) (int, int, error) {
	r := bufio.NewReaderSize(in, 64*1024)
	w := bufio.NewWriter(out)
	defer w.Flush()
	const batch = 256
	failed, first := 0, 0
	line := 0
	for {
		if err := ctx.Err(); err != nil {
			return failed, first, err
		}
		jobs := make([]job, 0, batch)
		eof := false
		for len(jobs) < batch {
			raw, tooLong, err := analyzer.ReadLine(r, maxLine)
			if err == io.EOF && raw == nil && !tooLong {
				eof = true
				break
			}
			if err != nil && err != io.EOF {
				return failed, first, err
			}
			line++
			j := job{line: line, raw: raw}
			if tooLong {
				j.err = &lineError{Line: line, Error: errorBody{Code: "too_large", Message: fmt.Sprintf("line longer than %d bytes", maxLine)}}
			}
			jobs = append(jobs, j)
			if err == io.EOF {
				eof = true
				break
			}
		}
		if err := work.Parallel(ctx, workers, len(jobs), func(i int) { jobs[i].out = analyzeLine(a, &jobs[i]) }); err != nil {
			return failed, first, err
		}
		for _, j := range jobs {
			if j.err != nil {
				failed++
				if first == 0 {
					first = j.line
				}
			}
			w.Write(j.out)
			w.WriteByte('\n')
		}
		if eof {
			return failed, first, nil
		}
	}
}

func analyzeLine(a *analyzer.Analyzer, j *job) []byte {
	if j.err == nil {
		rec, err := parseLine(j.raw, j.line)
		if err == nil {
			var res *analyzer.Analysis
			if res, err = a.Analyze(rec); err == nil {
				b, _ := json.Marshal(res)
				return b
			}
		}
		j.err = toLineError(err, j.line)
		if rec != nil {
			j.err.ID = rec.ID
		}
	}
	b, _ := json.Marshal(j.err)
	return b
}

// parseLine reads a JSON record, or takes a non-JSON line as plain text
// with its line number as id (Validate then checks the text).
func parseLine(raw []byte, line int) (*analyzer.Record, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, &analyzer.Error{Kind: analyzer.Invalid, Field: "text", Reason: "empty line"}
	}
	if trimmed[0] != '{' {
		return &analyzer.Record{ID: strconv.Itoa(line), Text: string(raw)}, nil
	}
	rec, err := analyzer.DecodeRecord(trimmed)
	if err != nil {
		return nil, err
	}
	if rec.ID == "" {
		rec.ID = strconv.Itoa(line)
	}
	return rec, nil
}

func toLineError(err error, line int) *lineError {
	var fe *analyzer.Error
	var je *analyzer.JSONError
	switch {
	case errors.As(err, &fe):
		return &lineError{Line: line, Error: errorBody{Code: "invalid_field", Message: fe.Reason, Field: fe.Field}}
	case errors.As(err, &je):
		return &lineError{Line: line, Error: errorBody{Code: "invalid_json", Message: je.Reason, Field: je.Field}}
	}
	return &lineError{Line: line, Error: errorBody{Code: "internal", Message: "analysis failed"}}
}
