package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"

	"dongting/analyzer"
	"dongting/index/work"
	"dongting/taxonomy"
)

func (m *Main) runEval(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "sentiment" && args[0] != "tags" && args[0] != "resident") {
		fmt.Fprintln(m.Stderr, "usage: dongting eval sentiment --data CSV | dongting eval tags --data JSONL | dongting eval resident --labels JSONL --messages JSONL")
		return flag.ErrHelp
	}
	fs := m.newFlagSet("eval " + args[0])
	c := m.commonFlags(fs)
	var files multiFlag
	fs.Var(&files, "data", "labelled data file; repeat for several")
	labels := fs.String("labels", "data/eval/resident_labels.jsonl", "resident: labels keyed by message id")
	messages := fs.String("messages", "../shared/datasets/resident/messages.jsonl", "resident: the messages' texts")
	showErrors := fs.Int("errors", 0, "resident: print this many disagreements of the train split")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] == "resident" {
		a, _, err := m.analyzer(c)
		if err != nil {
			return err
		}
		if err := evalResident(ctx, a, *labels, *messages, *showErrors, m.Stdout); err != nil {
			return fmt.Errorf("eval resident: %w", err)
		}
		return nil
	}
	if len(files) == 0 {
		return fmt.Errorf("eval %s: need --data", args[0])
	}
	a, _, err := m.analyzer(c)
	if err != nil {
		return err
	}
	for _, path := range files {
		var err error
		if args[0] == "sentiment" {
			err = evalSentiment(ctx, a, path, m.Stdout)
		} else {
			err = evalTags(ctx, a, path, m.Stdout)
		}
		if err != nil {
			return fmt.Errorf("eval %s: %w", args[0], err)
		}
	}
	return nil
}

// confusion counts (gold, predicted) pairs over a fixed class list.
type confusion struct {
	classes []string
	n       map[[2]string]int
}

func newConfusion(classes ...string) *confusion {
	return &confusion{classes: classes, n: map[[2]string]int{}}
}

func (c *confusion) add(gold, pred string) { c.n[[2]string{gold, pred}]++ }

func (c *confusion) total() int {
	t := 0
	for _, v := range c.n {
		t += v
	}
	return t
}

func (c *confusion) accuracy() float64 {
	ok := 0
	for k, v := range c.n {
		if k[0] == k[1] {
			ok += v
		}
	}
	return ratio(ok, c.total())
}

// prf returns precision, recall, F1 and support of one class.
func (c *confusion) prf(class string) (p, r, f float64, support int) {
	tp, predicted := 0, 0
	for k, v := range c.n {
		if k[0] == class {
			support += v
		}
		if k[1] == class {
			predicted += v
			if k[0] == class {
				tp += v
			}
		}
	}
	p, r = ratio(tp, predicted), ratio(tp, support)
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f, support
}

// macroF1 averages F1 over the classes that occur in the gold labels.
func (c *confusion) macroF1() float64 {
	sum, k := 0.0, 0
	for _, cl := range c.classes {
		_, _, f, support := c.prf(cl)
		if support > 0 {
			sum += f
			k++
		}
	}
	return ratio2(sum, k)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ratio2(a float64, b int) float64 {
	if b == 0 {
		return 0
	}
	return a / float64(b)
}

func evalSentiment(ctx context.Context, a *analyzer.Analyzer, path string, w io.Writer) error {
	rows, err := readLabelled(path)
	if err != nil {
		return err
	}
	preds := make([]string, len(rows))
	err = work.Parallel(ctx, runtime.GOMAXPROCS(0), len(rows), func(i int) {
		res, err := a.Analyze(&analyzer.Record{Text: rows[i].text})
		if err != nil { // empty review: nothing to go on
			preds[i] = analyzer.Neutral
			return
		}
		preds[i] = res.Sentiment.Label
	})
	if err != nil {
		return err
	}
	held, all := newConfusion(analyzer.Negative, analyzer.Positive, analyzer.Neutral), newConfusion(analyzer.Negative, analyzer.Positive, analyzer.Neutral)
	byCat := map[string]*confusion{}
	for i, r := range rows {
		gold := analyzer.Negative
		if r.label == 1 {
			gold = analyzer.Positive
		}
		all.add(gold, preds[i])
		if heldOut(r.row) {
			held.add(gold, preds[i])
			if r.cat != "" {
				if byCat[r.cat] == nil {
					byCat[r.cat] = newConfusion(analyzer.Negative, analyzer.Positive, analyzer.Neutral)
				}
				byCat[r.cat].add(gold, preds[i])
			}
		}
	}
	fmt.Fprintf(w, "sentiment: %s\n", path)
	fmt.Fprintf(w, "  %-34s %7s %9s %9s %8s\n", "split", "n", "accuracy", "macro-F1", "neutral")
	for _, s := range []struct {
		name string
		c    *confusion
	}{{"held-out (row%5==0, not learned)", held}, {"all rows", all}} {
		neutral := 0
		for k, v := range s.c.n {
			if k[1] == analyzer.Neutral {
				neutral += v
			}
		}
		fmt.Fprintf(w, "  %-34s %7d %9.3f %9.3f %7.1f%%\n", s.name, s.c.total(), s.c.accuracy(), s.c.macroF1(), 100*ratio(neutral, s.c.total()))
	}
	fmt.Fprintf(w, "  per class, held-out:\n  %-10s %9s %7s %7s %8s\n", "class", "precision", "recall", "F1", "support")
	for _, cl := range held.classes {
		p, r, f, n := held.prf(cl)
		fmt.Fprintf(w, "  %-10s %9.3f %7.3f %7.3f %8d\n", cl, p, r, f, n)
	}
	if len(byCat) > 0 {
		cats := make([]string, 0, len(byCat))
		for k := range byCat {
			cats = append(cats, k)
		}
		sort.Strings(cats)
		fmt.Fprintf(w, "  per category, held-out:\n")
		for _, k := range cats {
			fmt.Fprintf(w, "  %-10s n=%-5d accuracy %.3f  macro-F1 %.3f\n", k, byCat[k].total(), byCat[k].accuracy(), byCat[k].macroF1())
		}
	}
	fmt.Fprintln(w)
	return nil
}

// tagCase is one line of a tagging gold set: the text (or turns) and the
// ids of the nodes it should carry. Gold ids may be scenes or touchpoints.
type tagCase struct {
	analyzer.Record
	Expect []string `json:"expect"`
}

func evalTags(ctx context.Context, a *analyzer.Analyzer, path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var cases []tagCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxLine)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var tc tagCase
		if err := json.Unmarshal(sc.Bytes(), &tc); err != nil {
			return fmt.Errorf("%s:%d: %v", path, line, err)
		}
		for _, id := range tc.Expect {
			if _, ok := a.Taxonomy().Node(id); !ok {
				return fmt.Errorf("%s:%d: expected id %q is not in taxonomy %s", path, line, id, a.Taxonomy().ID)
			}
		}
		cases = append(cases, tc)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(cases) == 0 {
		return errors.New(path + ": no cases")
	}
	got := make([][]analyzer.Tag, len(cases))
	errs := make([]error, len(cases))
	err = work.Parallel(ctx, runtime.GOMAXPROCS(0), len(cases), func(i int) {
		res, err := a.Analyze(&cases[i].Record)
		if err != nil {
			errs[i] = err
			return
		}
		got[i] = res.Tags
	})
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("%s: case %d: %w", path, i+1, e)
		}
	}
	type prf struct{ tp, fp, fn int }
	scenes := map[string]*prf{}
	nodes := &prf{}
	exact := 0
	for _, s := range a.Taxonomy().Scenes {
		scenes[s.ID] = &prf{}
	}
	for i, tc := range cases {
		goldScenes, predScenes := map[string]bool{}, map[string]bool{}
		for _, id := range tc.Expect {
			n, _ := a.Taxonomy().Node(id)
			goldScenes[n.Scene] = true
		}
		for _, t := range got[i] {
			predScenes[t.Scene] = true
		}
		for s := range scenes {
			switch {
			case goldScenes[s] && predScenes[s]:
				scenes[s].tp++
			case predScenes[s]:
				scenes[s].fp++
			case goldScenes[s]:
				scenes[s].fn++
			}
		}
		if equalSets(goldScenes, predScenes) {
			exact++
		}
		// Touchpoint level: a predicted tag counts when it is an expected
		// node or below one; an expected node is found when some tag is it
		// or below it.
		for _, id := range tc.Expect {
			want, _ := a.Taxonomy().Node(id)
			found := false
			for _, t := range got[i] {
				n, _ := a.Taxonomy().Node(t.ID)
				if taxonomy.IsAncestor(want, n) {
					found = true
				}
			}
			if !found {
				nodes.fn++
			}
		}
		for _, t := range got[i] {
			n, _ := a.Taxonomy().Node(t.ID)
			ok := false
			for _, id := range tc.Expect {
				want, _ := a.Taxonomy().Node(id)
				if taxonomy.IsAncestor(want, n) {
					ok = true
				}
			}
			if ok {
				nodes.tp++
			} else {
				nodes.fp++
			}
		}
	}
	f1 := func(c *prf) (float64, float64, float64) {
		p, r := ratio(c.tp, c.tp+c.fp), ratio(c.tp, c.tp+c.fn)
		if p+r == 0 {
			return p, r, 0
		}
		return p, r, 2 * p * r / (p + r)
	}
	fmt.Fprintf(w, "tags: %s (%d cases, taxonomy %s)\n", path, len(cases), a.Taxonomy().ID)
	micro := &prf{}
	macro, k := 0.0, 0
	fmt.Fprintf(w, "  %-14s %9s %7s %7s %8s\n", "scene", "precision", "recall", "F1", "support")
	for _, s := range a.Taxonomy().Scenes {
		c := scenes[s.ID]
		micro.tp, micro.fp, micro.fn = micro.tp+c.tp, micro.fp+c.fp, micro.fn+c.fn
		p, r, f := f1(c)
		if c.tp+c.fn > 0 {
			macro += f
			k++
		}
		fmt.Fprintf(w, "  %-14s %9.3f %7.3f %7.3f %8d\n", s.ID, p, r, f, c.tp+c.fn)
	}
	p, r, f1v := f1(micro)
	fmt.Fprintf(w, "  scenes: accuracy (exact scene set) %.3f  micro P/R/F1 %.3f/%.3f/%.3f  macro-F1 %.3f\n", ratio(exact, len(cases)), p, r, f1v, ratio2(macro, k))
	p, r, f1v = f1(nodes)
	fmt.Fprintf(w, "  touchpoints: precision %.3f  recall %.3f  F1 %.3f\n\n", p, r, f1v)
	return nil
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
