package analyzer

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestFormats looks every format up by its name, each of its content types
// and each of its extensions, and reads one record with it.
func TestFormats(t *testing.T) {
	sample := map[string]string{
		FormatNDJSON: `{"id":"a","text":"电梯坏了"}` + "\n",
		FormatJSON:   `[{"id":"a","text":"电梯坏了"}]`,
		FormatCSV:    "id,text\na,电梯坏了\n",
	}
	seen := map[string]string{} // name, content type or extension → format
	claim := func(key, name string) {
		if other, ok := seen[key]; ok {
			t.Errorf("%q selects both %s and %s", key, other, name)
		}
		seen[key] = name
	}
	for _, f := range Formats {
		claim(f.Name, f.Name)
		if got, err := FormatNamed(f.Name); err != nil || got != f {
			t.Errorf("FormatNamed(%q) = %v, %v", f.Name, got, err)
		}
		if len(f.ContentTypes) == 0 || len(f.Extensions) == 0 || f.Description == "" {
			t.Errorf("%s: no content type, extension or description", f.Name)
		}
		for _, ct := range f.ContentTypes {
			claim(ct, f.Name)
			for _, v := range []string{ct, ct + "; charset=utf-8", strings.ToUpper(ct)} {
				if got, err := FormatForContentType(v); err != nil || got != f {
					t.Errorf("FormatForContentType(%q) = %v, %v; want %s", v, got, err, f.Name)
				}
			}
		}
		for _, ext := range f.Extensions {
			claim(ext, f.Name)
			for _, v := range []string{ext, strings.ToUpper(ext)} {
				if got, err := FormatForExtension(v); err != nil || got != f {
					t.Errorf("FormatForExtension(%q) = %v, %v; want %s", v, got, err, f.Name)
				}
			}
		}
		src, ok := sample[f.Name]
		if !ok {
			t.Errorf("%s: no sample to read", f.Name)
			continue
		}
		rr, err := f.NewReader(strings.NewReader(src), ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if rec, _, err := rr.Next(); err != nil || rec.ID != "a" || rec.Text != "电梯坏了" {
			t.Errorf("%s: first record %+v, %v", f.Name, rec, err)
		}
		if _, _, err := rr.Next(); err != io.EOF {
			t.Errorf("%s: after the record: %v, want io.EOF", f.Name, err)
		}
	}
}

// TestFormatSpellings pins what the API and `dongting ingest` accepted
// when each chose the format by a switch of its own.
func TestFormatSpellings(t *testing.T) {
	for key, want := range map[string]string{
		"name:ndjson":                          FormatNDJSON,
		"name:json":                            FormatJSON,
		"name:csv":                             FormatCSV,
		"type:application/x-ndjson":            FormatNDJSON,
		"type:application/jsonl":               FormatNDJSON,
		"type:application/x-jsonlines":         FormatNDJSON,
		"type:application/jsonlines":           FormatNDJSON,
		"type:application/json":                FormatJSON,
		"type:application/json; charset=UTF-8": FormatJSON,
		"type:text/csv":                        FormatCSV,
		"type:text/csv; charset=utf-8":         FormatCSV,
		"type:text/csv; =broken":               FormatCSV, // a malformed parameter does not hide the type
		"ext:.csv":                             FormatCSV,
		"ext:.CSV":                             FormatCSV,
		"ext:.json":                            FormatJSON,
	} {
		by, v, _ := strings.Cut(key, ":")
		var f *Format
		var err error
		switch by {
		case "name":
			f, err = FormatNamed(v)
		case "type":
			f, err = FormatForContentType(v)
		default:
			f, err = FormatForExtension(v)
		}
		if err != nil || f.Name != want {
			t.Errorf("%s: %v, %v; want %s", key, f, err, want)
		}
	}
	if got := FormatNames(); got != "ndjson, json, csv" {
		t.Errorf("FormatNames() = %q", got)
	}
}

// TestUnknownFormat: a name, content type or extension that selects no
// format is an *UnknownFormatError whose message lists those that do.
func TestUnknownFormat(t *testing.T) {
	for _, tc := range []struct {
		by, value string
		lookup    func(string) (*Format, error)
		known     func(*Format) []string
	}{
		{"name", "xml", FormatNamed, func(f *Format) []string { return []string{f.Name} }},
		{"name", "NDJSON", FormatNamed, func(f *Format) []string { return []string{f.Name} }},
		{"name", "", FormatNamed, func(f *Format) []string { return []string{f.Name} }},
		{"content type", "text/plain", FormatForContentType, func(f *Format) []string { return f.ContentTypes }},
		{"content type", "", FormatForContentType, func(f *Format) []string { return f.ContentTypes }},
		{"content type", "application/octet-stream", FormatForContentType, func(f *Format) []string { return f.ContentTypes }},
		{"extension", ".txt", FormatForExtension, func(f *Format) []string { return f.Extensions }},
		{"extension", "", FormatForExtension, func(f *Format) []string { return f.Extensions }},
	} {
		f, err := tc.lookup(tc.value)
		var ue *UnknownFormatError
		if !errors.As(err, &ue) || f != nil {
			t.Errorf("%s %q: %v, %v; want an *UnknownFormatError", tc.by, tc.value, f, err)
			continue
		}
		if ue.By != tc.by || ue.Value != tc.value {
			t.Errorf("%s %q: error says %s %q", tc.by, tc.value, ue.By, ue.Value)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "analyzer: ") || !strings.Contains(msg, `"`+tc.value+`"`) {
			t.Errorf("%s %q: message %q", tc.by, tc.value, msg)
		}
		for _, known := range Formats {
			for _, k := range tc.known(known) {
				if !strings.Contains(msg, k) {
					t.Errorf("%s %q: message %q does not list %s", tc.by, tc.value, msg, k)
				}
			}
		}
	}
	// The message NewRecordReader gave before the registry.
	_, err := NewRecordReader(strings.NewReader(""), "xml", ReadOptions{})
	if want := `analyzer: unknown record format "xml" (ndjson, json, csv)`; err == nil || err.Error() != want {
		t.Errorf("NewRecordReader(xml): %v, want %s", err, want)
	}
}
