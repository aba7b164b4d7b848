package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// labelled is one row of a sentiment CSV.
type labelled struct {
	row   int // 0-based data row
	label int // 1 positive, 0 negative
	cat   string
	text  string
}

// heldOut says whether a data row belongs to the held-out evaluation split:
// every fifth row. The lexicon learner uses only the other rows.
func heldOut(row int) bool { return row%5 == 0 }

// readLabelled reads a CSV with a header naming "label" and "review"
// (optionally "cat"), as in ../shared/datasets/sentiment. Errors name the line.
func readLabelled(path string) ([]labelled, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	li, ok1 := col["label"]
	ti, ok2 := col["review"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s:1: header needs columns label and review, got %q", path, header)
	}
	ci, hasCat := col["cat"]
	var out []labelled
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if li >= len(rec) || ti >= len(rec) {
			return nil, fmt.Errorf("%s:%d: want at least %d fields, got %d", path, line, max(li, ti)+1, len(rec))
		}
		l := labelled{row: len(out), text: rec[ti]}
		switch strings.TrimSpace(rec[li]) {
		case "1":
			l.label = 1
		case "0":
		default:
			return nil, fmt.Errorf("%s:%d: label %q, want 0 or 1", path, line, rec[li])
		}
		if hasCat && ci < len(rec) {
			l.cat = rec[ci]
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return out, nil
}
