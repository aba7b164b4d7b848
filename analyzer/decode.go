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
	if at := loneSurrogate(b); at >= 0 {
		return nil, &JSONError{Reason: fmt.Sprintf("at byte %d: a \\u escape of a lone UTF-16 surrogate (it stands for no character)", at)}
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

// loneSurrogate finds a \uD800–\uDFFF escape that is not half of a
// high-low pair, which encoding/json would quietly turn into U+FFFD. It
// returns the byte offset of the escape, or -1.
func loneSurrogate(b []byte) int {
	inString, pendingHigh := false, -1
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			if pendingHigh >= 0 {
				return pendingHigh
			}
			inString = false
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' && i+5 < len(b) {
				v, ok := hex4(b[i+2 : i+6])
				switch {
				case ok && v >= 0xD800 && v <= 0xDBFF:
					if pendingHigh >= 0 {
						return pendingHigh
					}
					pendingHigh = i
				case ok && v >= 0xDC00 && v <= 0xDFFF:
					if pendingHigh < 0 || pendingHigh != i-6 {
						return i
					}
					pendingHigh = -1
				default:
					if pendingHigh >= 0 {
						return pendingHigh
					}
				}
				i += 5
				continue
			}
			if pendingHigh >= 0 {
				return pendingHigh
			}
			i++ // the escaped character
		default:
			if pendingHigh >= 0 {
				return pendingHigh
			}
		}
	}
	return -1
}

func hex4(h []byte) (int, bool) {
	v := 0
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			v = v<<4 | int(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
