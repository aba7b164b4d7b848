package analyzer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// JSONError is input that is not one well-formed JSON record. Field names
// the offending field when it is known.
type JSONError struct {
	Field  string
	Reason string
}

func (e *JSONError) Error() string { return "invalid JSON: " + e.Reason }

// DecodeRecord parses one JSON record strictly: valid UTF-8 (encoding/json
// would quietly turn invalid bytes into U+FFFD), known fields only (a
// misspelt "txt" is an error, not an empty record), one value only.
func DecodeRecord(b []byte) (*Record, error) {
	if !utf8.Valid(b) {
		return nil, &JSONError{Reason: "not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return nil, &JSONError{Field: te.Field, Reason: fmt.Sprintf("field %s: want %s, got JSON %s", te.Field, te.Type, te.Value)}
		case errors.As(err, &se):
			return nil, &JSONError{Reason: fmt.Sprintf("at byte %d: %v", se.Offset, se)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return nil, &JSONError{Field: f, Reason: fmt.Sprintf("unknown field %q", f)}
		}
		return nil, &JSONError{Reason: err.Error()}
	}
	if dec.More() {
		return nil, &JSONError{Reason: "more than one JSON value"}
	}
	return &r, nil
}
