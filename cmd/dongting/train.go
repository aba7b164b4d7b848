package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"dongting/analyzer"
	"dongting/analyzer/learn"
)

// reviewWeight is how much one review counts in the sentiment model against
// one labelled message: there are a hundred times more reviews, and they
// are about food and products, not homes.
const reviewWeight = 0.5

func (m *Main) runTrain(ctx context.Context, args []string) error {
	fs := m.newFlagSet("train")
	c := m.commonFlags(fs)
	labels := fs.String("labels", "data/eval/resident_labels.jsonl", "labelled messages (the train split is used)")
	messages := fs.String("messages", "../shared/datasets/resident/messages.jsonl", "the labelled messages' texts")
	golden := fs.String("golden", "data/eval/property_tags.jsonl", "golden tagging cases (scenes)")
	var reviews multiFlag
	fs.Var(&reviews, "reviews", "sentiment CSV (label,review); rows not held out are used; repeat for several")
	out := fs.String("out", "data/model/dongting.model", "where to write the models")
	// The optimiser's settings, for comparing them out of fold (the
	// figures printed); the defaults are the shipped setting.
	var opt learn.TrainOptions
	fs.IntVar(&opt.Epochs, "epochs", 0, "passes over the data (0: the defaults, 30; 10 for the sentiment model)")
	fs.Float64Var(&opt.Rate, "rate", 0, "AdaGrad learning rate (0: the default, 0.2)")
	fs.Float64Var(&opt.L2, "l2", 0, "weight decay per example (0: the default, 1e-4)")
	fs.IntVar(&opt.MinDF, "min-df", 0, "drop features seen in fewer examples (0: the default, 2)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.noModels = true
	a, _, err := m.analyzer(c)
	if err != nil {
		return err
	}
	texts, err := trainingTexts(a, *labels, *messages, *golden, reviews)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	opt.Seed = 1
	res, err := a.Train(ctx, texts, opt)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var b bytes.Buffer
	if err := res.Models.Write(&b); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	th := res.Models.Scenes.Thresholds
	fmt.Fprintf(m.Stdout, "trained on %d scene-labelled and %d sentiment-labelled texts\n", res.Examples.Scenes, res.Examples.Sentiment)
	fmt.Fprintf(m.Stdout, "scenes: %d features; thresholds confirm %.2f suggest %.2f; out-of-fold micro P/R/F1 %.3f/%.3f/%.3f (rules alone %.3f/%.3f/%.3f)\n",
		res.Models.Scenes.Size(), th[learn.ConfirmKey], th[learn.SuggestKey],
		res.OOFMicro.Precision(), res.OOFMicro.Recall(), res.OOFMicro.F1(), res.RuleMicro.Precision(), res.RuleMicro.Recall(), res.RuleMicro.F1())
	rt := res.Models.Redline.Thresholds
	fa := func(c learn.PRF) float64 { return float64(c.FP) / float64(max(1, res.RedClean)) }
	fmt.Fprintf(m.Stdout, "red lines: %d features; thresholds %s; out-of-fold P/R/F1 %.3f/%.3f/%.3f, false alarms %.1f%% (rules alone %.3f/%.3f/%.3f, %.1f%%)\n",
		res.Models.Redline.Size(), formatThresholds(rt), res.OOFRed.Precision(), res.OOFRed.Recall(), res.OOFRed.F1(), 100*fa(res.OOFRed),
		res.RuleRed.Precision(), res.RuleRed.Recall(), res.RuleRed.F1(), 100*fa(res.RuleRed))
	nc := res.Neutral
	fmt.Fprintf(m.Stdout, "sentiment: %d features; neutral threshold %.2f; out of fold, labelled messages' accuracy %.3f, macro-F1 %.3f (most probable class: accuracy %.3f), reviews called neutral %.2f%%\nwrote %s (%d bytes)\n",
		res.Models.Sentiment.Size(), nc.Threshold, nc.Accuracy, nc.MacroF1, nc.ArgmaxAccuracy, 100*nc.ReviewNeutral, *out, b.Len())
	return nil
}

// trainingTexts gathers the train split of the labelled messages, the
// golden cases and the reviews' training rows, in a fixed order.
func trainingTexts(a *analyzer.Analyzer, labelsPath, messagesPath, goldenPath string, reviews []string) ([]analyzer.Labelled, error) {
	labels, msgs, err := residentLabels(a, osFS{}, labelsPath, messagesPath)
	if err != nil {
		return nil, err
	}
	var out []analyzer.Labelled
	for _, l := range labels {
		if l.Split != "train" {
			continue // the dev split is for measuring only
		}
		msg := msgs[l.ID]
		sc := l.Scenes
		if sc == nil {
			sc = []string{}
		}
		red := l.Redline
		out = append(out, analyzer.Labelled{ID: l.ID, Record: analyzer.Record{ID: l.ID, Kind: "complaint", Text: msg.Body()}, Scenes: sc, Sentiment: l.Sentiment, Redline: &red})
	}
	gf, err := os.Open(goldenPath)
	if err != nil {
		return nil, err
	}
	defer gf.Close()
	sc := bufio.NewScanner(gf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var tc tagCase
		if err := json.Unmarshal(sc.Bytes(), &tc); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", goldenPath, line, err)
		}
		gold := []string{}
		for _, id := range tc.Expect {
			n, ok := a.Taxonomy().Node(id)
			if !ok {
				return nil, fmt.Errorf("%s:%d: %q is not a node of the taxonomy", goldenPath, line, id)
			}
			if n.Scene != "" && !slices.Contains(gold, n.Scene) {
				gold = append(gold, n.Scene)
			}
		}
		tc.Record.ID = fmt.Sprintf("golden-%d", line)
		out = append(out, analyzer.Labelled{ID: tc.Record.ID, Record: tc.Record, Scenes: gold})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, path := range reviews {
		rows, err := readLabelled(path)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if heldOut(r.row) || strings.TrimSpace(r.text) == "" {
				continue
			}
			label := analyzer.Negative
			if r.label == 1 {
				label = analyzer.Positive
			}
			id := fmt.Sprintf("%s#%d", filepath.Base(path), r.row)
			out = append(out, analyzer.Labelled{ID: id, Record: analyzer.Record{ID: id, Text: r.text}, Sentiment: label, Weight: reviewWeight})
		}
	}
	return out, nil
}

// formatThresholds lists thresholds by key, in key order.
func formatThresholds(th map[string]float64) string {
	keys := slices.Sorted(maps.Keys(th))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, th[k])
	}
	return strings.Join(parts, ", ")
}
