package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/index/work"
)

// evalResident measures the analyzer on labelled real messages: the labels
// file (kept in data/eval) names messages by id, their texts come from the
// data set file. errors > 0 prints that many disagreements of the train
// split (never the dev split: rules are not tuned on it).
func evalResident(ctx context.Context, a *analyzer.Analyzer, labelsPath, messagesPath string, errors int, w io.Writer) error {
	var scenes []string
	for _, s := range a.Taxonomy().Scenes {
		scenes = append(scenes, s.ID)
	}
	labels, msgs, err := residentLabels(a, osFS{}, labelsPath, messagesPath)
	if err != nil {
		return err
	}
	preds := make([]learn.Prediction, len(labels))
	err = work.Parallel(ctx, runtime.GOMAXPROCS(0), len(labels), func(i int) {
		res, err := a.Analyze(&analyzer.Record{ID: labels[i].ID, Kind: "complaint", Text: msgs[labels[i].ID].Body()})
		if err == nil {
			preds[i] = res.Prediction()
		}
	})
	if err != nil {
		return err
	}
	for _, split := range []string{"dev", "train"} {
		var g []learn.Label
		var p []learn.Prediction
		for i, l := range labels {
			if l.Split == split {
				g, p = append(g, l), append(p, preds[i])
			}
		}
		if len(g) > 0 {
			learn.Evaluate(scenes, g, p).Write(w, fmt.Sprintf("resident messages, %s split (%s)", split, labelsPath))
		}
	}
	shown := 0
	for i, l := range labels {
		if shown >= errors || l.Split != "train" {
			continue
		}
		p := preds[i]
		if equalScenes(l.Scenes, p.Scenes) && l.Redline == p.Redline && l.Sentiment == p.Sentiment && l.Praise == p.Praise {
			continue
		}
		shown++
		body := []rune(msgs[l.ID].Body())
		if len(body) > 300 {
			body = append(body[:300], '…')
		}
		fmt.Fprintf(w, "%s\n  labelled  scenes %v redline %v %s %s praise %v\n  predicted scenes %v redline %v %s %s praise %v\n  %s\n\n",
			l.ID, l.Scenes, l.Redline, l.Severity, l.Sentiment, l.Praise, p.Scenes, p.Redline, p.Severity, p.Sentiment, p.Praise,
			strings.ReplaceAll(string(body), "\n", " / "))
	}
	return nil
}

func equalScenes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// residentLabels reads labels (checked against the taxonomy's scenes) and
// the texts of the messages they name; every labelled message must be in
// the data set file.
func residentLabels(a *analyzer.Analyzer, fsys fs.FS, labelsPath, messagesPath string) ([]learn.Label, map[string]learn.Message, error) {
	var scenes []string
	for _, s := range a.Taxonomy().Scenes {
		scenes = append(scenes, s.ID)
	}
	lf, err := fsys.Open(labelsPath)
	if err != nil {
		return nil, nil, err
	}
	defer lf.Close()
	labels, err := learn.ReadLabels(lf, scenes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", labelsPath, err)
	}
	want := map[string]bool{}
	for _, l := range labels {
		want[l.ID] = true
	}
	mf, err := os.Open(messagesPath)
	if err != nil {
		return nil, nil, err
	}
	defer mf.Close()
	msgs, err := learn.ReadMessages(mf, want)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", messagesPath, err)
	}
	for _, l := range labels {
		if _, ok := msgs[l.ID]; !ok {
			return nil, nil, fmt.Errorf("%s: labelled message %s is not in %s", labelsPath, l.ID, messagesPath)
		}
	}
	return labels, msgs, nil
}

// osFS opens paths as given (relative to the working directory).
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(name) }
