// Package data holds the files Dongting ships: the segmenter's domain
// dictionary, the sentiment lexicons, the taxonomies and the severity rules.
// They are embedded in the binary; a directory on disk with the same layout
// can replace them (see Open).
package data

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// demo is also the Go package of the demo generator: its data files are
// named by pattern so that its source is not embedded with them.
//
//go:embed dict sentiment taxonomy rules demo/*.jsonl demo/*.yaml scoring alerts eval model
var embedded embed.FS

// Open returns the embedded files, or the directory dir when it is not empty.
func Open(dir string) (fs.FS, error) {
	if dir == "" {
		return embedded, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("data: %s is not a directory", dir)
	}
	return os.DirFS(dir), nil
}

// Words reads a word list: whitespace-separated words, '#' starts a comment.
func Words(fsys fs.FS, name string) ([]string, error) {
	var out []string
	err := eachLine(fsys, name, func(_ int, line string) error {
		out = append(out, strings.Fields(line)...)
		return nil
	})
	return out, err
}

// Weights reads "word<whitespace>number" lines, '#' starts a comment. A
// malformed line is an error naming the file and line number.
func Weights(fsys fs.FS, name string) (map[string]float64, error) {
	out := make(map[string]float64)
	err := eachLine(fsys, name, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) != 2 {
			return fmt.Errorf("data: %s:%d: want \"word weight\", got %d fields", name, n, len(f))
		}
		w, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return fmt.Errorf("data: %s:%d: bad weight %q", name, n, f[1])
		}
		out[f[0]] = w
		return nil
	})
	return out, err
}

func eachLine(fsys fs.FS, name string, fn func(n int, line string) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("data: %s: %w", name, err)
	}
	return nil
}

// FS returns the embedded files.
func FS() fs.FS { return embedded }
