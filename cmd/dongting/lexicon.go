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
	a, _, err := m.analyzer(c)
	if err != nil {
		return err
	}
	// Counts are kept per group (a file, or a category within a file) so
	// that a word's weight comes from how it splits positive and negative
	// documents inside its group: a topic word of a mostly positive category
	// (本书 among book reviews) must not become a positive word.
	type group struct {
		file       int
		nPos, nNeg float64
		pos, neg   map[string]float64
	}
	groups := map[string]*group{}
	raw := map[string]int{} // documents per word, over all groups
	for fi, path := range files {
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
			key := fmt.Sprintf("%d/%s", fi, r.cat)
			g := groups[key]
			if g == nil {
				g = &group{file: fi, pos: map[string]float64{}, neg: map[string]float64{}}
				groups[key] = g
			}
			if r.label == 1 {
				g.nPos++
			} else {
				g.nNeg++
			}
			words, negated := a.Words(r.text)
			seen := map[string]bool{}
			for i, w := range words {
				if a.IsCue(w) || a.IsStopword(w) || !hasLetter(w) {
					continue
				}
				// A negated word counts for the other side: 不好 in a
				// negative review is evidence that 好 is positive.
				pos := (r.label == 1) != negated[i]
				k := w
				if negated[i] {
					k = "\x00" + w
				}
				if seen[k] {
					continue
				}
				seen[k] = true
				raw[w]++
				if pos {
					g.pos[w]++
				} else {
					g.neg[w]++
				}
			}
		}
	}
	// Each file weighs the same, and each group the same within its file.
	perFile := make([]int, len(files))
	for _, g := range groups {
		if g.nPos > 0 && g.nNeg > 0 {
			perFile[g.file]++
		}
	}
	usedFiles := 0
	for _, n := range perFile {
		if n > 0 {
			usedFiles++
		}
	}
	if usedFiles == 0 {
		return errors.New("lexicon learn: the training rows need both labels")
	}
	type entry struct {
		w string
		v float64
	}
	var entries []entry
	for w, n := range raw {
		if n < *minDF {
			continue
		}
		var p, q, eps float64
		for _, g := range groups {
			if g.nPos == 0 || g.nNeg == 0 {
				continue
			}
			share := 1 / float64(perFile[g.file]*usedFiles)
			p += share * g.pos[w] / g.nPos
			q += share * g.neg[w] / g.nNeg
			eps += share / (g.nPos + g.nNeg) // one pseudo-document per group
		}
		v := math.Log((p + eps) / (q + eps))
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
	fmt.Fprintf(bw, "# the word within each file and category, averaged (files weigh the same);\n")
	fmt.Fprintf(bw, "# negated occurrences count for the other class. From the training\n")
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

// hasLetter reports a word worth weighing: one with CJK or Latin letters,
// not punctuation or a number.
func hasLetter(w string) bool {
	for _, r := range w {
		if r >= 0x2E80 || (r >= 'a' && r <= 'z') {
			return true
		}
	}
	return false
}
