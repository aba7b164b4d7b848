package api

import (
	"encoding/csv"
	"io"
	"regexp"
)

// csvWriter writes CSV that a spreadsheet opens without running anything:
// a cell that starts with = + - @, a tab or a carriage return (OWASP's
// list for CSV injection) gets a leading ' so Excel, LibreOffice and
// Sheets take it as text, not a formula (=HYPERLINK(…), +cmd|…, @SUM(…)).
// Every CSV the API writes goes through it: cells hold customers' words,
// org names and ids that anyone who can ingest chooses.
type csvWriter struct{ *csv.Writer }

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{csv.NewWriter(w)} }

// Write writes one row with every cell made safe.
func (w *csvWriter) Write(row []string) error {
	safe := make([]string, len(row))
	for i, c := range row {
		safe[i] = safeCell(c)
	}
	return w.Writer.Write(safe)
}

// plainNumber is a number a spreadsheet reads as a value (-3, +0.5):
// not a formula, so it keeps its sign and stays a number.
var plainNumber = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$`)

// safeCell neutralises a cell a spreadsheet would evaluate.
func safeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if !plainNumber.MatchString(s) {
			return "'" + s
		}
	}
	return s
}
