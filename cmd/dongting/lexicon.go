package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(v string) error { *f = append(*f, v); return nil }

func (m *Main) runLexicon(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "learn" {
		fmt.Fprintln(m.Stderr, "usage: dongting lexicon learn --data CSV [--data CSV …] --out FILE")
		return flag.ErrHelp
	}
	fs := m.newFlagSet("lexicon learn")
	c := m.commonFlags(fs)
	var files multiFlag
	fs.Var(&files, "data", "labelled CSV (label,review); repeat for several")
	out := fs.String("out", "", "file to write (word<TAB>weight lines)")
	minDF := fs.Int("min-df", 8, "minimum number of training documents a word occurs in")
	minWeight := fs.Float64("min-weight", 0.4, "minimum |log-odds| to keep a word")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if len(files) == 0 || *out == "" {
		return errors.New("lexicon learn: need --data and --out")
	}
	a, err := m.analyzer(c)
	if err != nil {
		return err
	}
	type counts struct{ pos, neg float64 }
	df := map[string]*counts{}
	var nPos, nNeg float64
	for _, path := range files {
		rows, err := readLabelled(path)
		if err != nil {
			return fmt.Errorf("lexicon learn: %w", err)
		}
		for _, r := range rows {
			if heldOut(r.row) || strings.TrimSpace(r.text) == "" {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			// Each file counts as much as the other: weight its rows by
			// 1/rows so a large file does not drown a small one's domain.
			wt := 1.0 / float64(len(rows))
			if r.label == 1 {
				nPos += wt
			} else {
				nNeg += wt
			}
			words, negated := a.Words(r.text)
			seen := map[string]bool{}
			for i, w := range words {
				if a.IsCue(w) || a.IsStopword(w) || !hasLetter(w) {
					continue
				}
				// A negated word counts for the other side: 不好 in a
				// negative review is evidence that 好 is positive.
				pos := r.label == 1
				if negated[i] {
					pos = !pos
				}
				key := w
				if negated[i] {
					key = "\x00" + w
				}
				if seen[key] {
					continue
				}
				seen[key] = true
				c := df[w]
				if c == nil {
					c = &counts{}
					df[w] = c
				}
				if pos {
					c.pos += wt
				} else {
					c.neg += wt
				}
			}
		}
	}
	if nPos == 0 || nNeg == 0 {
		return errors.New("lexicon learn: the training rows need both labels")
	}
	// Smoothed, class-balanced log-odds of a document containing the word.
	avgRows := float64(0)
	for _, path := range files {
		rows, _ := readLabelled(path)
		avgRows += float64(len(rows))
	}
	avgRows /= float64(len(files))
	alpha := 1.0 / avgRows // one pseudo-document, in the same per-row weight
	type entry struct {
		w string
		v float64
	}
	var entries []entry
	for w, c := range df {
		if (c.pos+c.neg)*avgRows < float64(*minDF) {
			continue
		}
		p := (c.pos + alpha) / (nPos + 2*alpha)
		q := (c.neg + alpha) / (nNeg + 2*alpha)
		v := math.Log(p / q)
		if math.Abs(v) < *minWeight {
			continue
		}
		entries = append(entries, entry{w, math.Max(-3, math.Min(3, v))})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].w < entries[j].w })
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	fmt.Fprintf(bw, "# Learned polarity weights: class-balanced log-odds of a document containing\n")
	fmt.Fprintf(bw, "# the word (negated occurrences count for the other class), from the training\n")
	fmt.Fprintf(bw, "# split (rows where row%%5 != 0) of:\n")
	for _, p := range files {
		fmt.Fprintf(bw, "#   %s\n", filepath.Base(p))
	}
	fmt.Fprintf(bw, "# Regenerate with `make lexicon`. min-df %d, min |weight| %.2f. %d entries.\n", *minDF, *minWeight, len(entries))
	for _, e := range entries {
		fmt.Fprintf(bw, "%s\t%.3f\n", e.w, e.v)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "lexicon learn: wrote %d entries to %s\n", len(entries), *out)
	return nil
}

func hasLetter(w string) bool {
	for _, r := range w {
		if r >= 0x2E80 || (r >= 'a' && r <= 'z') {
			return utf8.ValidString(w)
		}
	}
	return false
}
