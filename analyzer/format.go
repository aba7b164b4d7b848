package analyzer

import (
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
)

// Record stream formats, by name.
const (
	FormatNDJSON = "ndjson" // one JSON record per line
	FormatJSON   = "json"   // one JSON array of records
	FormatCSV    = "csv"    // a header row, then one record per row
)

// Format is a record stream format: what an upload or an ingested file
// may be, and how it is read. The API chooses one by ?format= or
// Content-Type, `dongting ingest` by -format or the file's extension.
type Format struct {
	Name string
	// Description says what the stream holds, for messages.
	Description string
	// ContentTypes are the media types that select the format (lower
	// case); the first is the one to send.
	ContentTypes []string
	// Extensions are the file name extensions that select the format
	// (lower case, with the dot).
	Extensions []string
	// Header is set when the first line is a header, not a record.
	Header bool

	open func(rr *RecordReader, r io.Reader) error
	next func(rr *RecordReader) (*Record, int, error)
}

// Formats are the record stream formats, in the order messages list them.
var Formats = []*Format{
	{
		Name:         FormatNDJSON,
		Description:  "one record a line",
		ContentTypes: []string{"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"},
		Extensions:   []string{".ndjson", ".jsonl"},
		open:         (*RecordReader).openNDJSON,
		next:         (*RecordReader).nextNDJSON,
	},
	{
		Name:         FormatJSON,
		Description:  "an array",
		ContentTypes: []string{"application/json"},
		Extensions:   []string{".json"},
		open:         (*RecordReader).openJSON,
		next:         (*RecordReader).nextJSON,
	},
	{
		Name:         FormatCSV,
		Description:  "a header row first",
		ContentTypes: []string{"text/csv"},
		Extensions:   []string{".csv"},
		Header:       true,
		open:         (*RecordReader).openCSV,
		next:         (*RecordReader).nextCSV,
	},
}

// UnknownFormatError is a name, content type or file extension that
// selects no record format. Its message lists the ones that do.
type UnknownFormatError struct {
	By    string // "name", "content type" or "extension"
	Value string
}

func (e *UnknownFormatError) Error() string {
	var known []string
	for _, f := range Formats {
		switch e.By {
		case "name":
			known = append(known, f.Name)
		case "content type":
			known = append(known, f.ContentTypes...)
		default:
			known = append(known, f.Extensions...)
		}
	}
	if e.By == "name" {
		return fmt.Sprintf("analyzer: unknown record format %q (%s)", e.Value, strings.Join(known, ", "))
	}
	return fmt.Sprintf("analyzer: no record format for %s %q (%s)", e.By, e.Value, strings.Join(known, ", "))
}

// FormatNamed is the format called name (exactly: "ndjson", not "NDJSON").
func FormatNamed(name string) (*Format, error) {
	for _, f := range Formats {
		if f.Name == name {
			return f, nil
		}
	}
	return nil, &UnknownFormatError{By: "name", Value: name}
}

// FormatForContentType is the format a Content-Type header selects; its
// parameters (charset=utf-8) do not matter, nor does case.
func FormatForContentType(contentType string) (*Format, error) {
	// A media type with a malformed parameter still counts, as it did
	// when the API read the header itself.
	mt, _, _ := mime.ParseMediaType(contentType)
	for _, f := range Formats {
		if mt != "" && slices.Contains(f.ContentTypes, mt) {
			return f, nil
		}
	}
	return nil, &UnknownFormatError{By: "content type", Value: contentType}
}

// FormatForExtension is the format a file name extension (".csv", as
// filepath.Ext gives it) selects, whatever its case.
func FormatForExtension(ext string) (*Format, error) {
	lower := strings.ToLower(ext)
	for _, f := range Formats {
		if slices.Contains(f.Extensions, lower) {
			return f, nil
		}
	}
	return nil, &UnknownFormatError{By: "extension", Value: ext}
}

// FormatNames lists the formats' names, for messages: "ndjson, json, csv".
func FormatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// FormatContentTypes lists each format's content type to send and what
// it holds, for messages: "application/x-ndjson (one record a line), …
// or text/csv (…)".
func FormatContentTypes() string {
	var b strings.Builder
	for i, f := range Formats {
		switch {
		case i == len(Formats)-1 && i > 0:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", f.ContentTypes[0], f.Description)
	}
	return b.String()
}
