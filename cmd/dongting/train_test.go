package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/learn"
)

const residentMessages = "../../../shared/datasets/resident/messages.jsonl"

// TestLabelsAreValid checks the shipped labels: every line per LABELS.md's
// schema, the split the id hashes to, and (where the data set is beside
// the project) every labelled message present.
func TestLabelsAreValid(t *testing.T) {
	a := analyzerFor(t)
	var scenes []string
	for _, s := range a.Taxonomy().Scenes {
		scenes = append(scenes, s.ID)
	}
	for _, name := range []string{"resident_labels.jsonl", "resident_labels_second.jsonl"} {
		f, err := os.Open(filepath.Join("../../data/eval", name))
		if err != nil {
			t.Fatal(err)
		}
		labels, err := learn.ReadLabels(f, scenes)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "resident_labels.jsonl" {
			dev := 0
			for _, l := range labels {
				if l.Split == "dev" {
					dev++
				}
			}
			if len(labels) < 600 || dev < len(labels)/4 {
				t.Errorf("%s: %d labels, %d dev", name, len(labels), dev)
			}
		}
	}
}

func analyzerFor(t *testing.T) *analyzer.Analyzer {
	t.Helper()
	m := testMain(t, nil, &bytes.Buffer{}, &bytes.Buffer{})
	c := &common{jiebaDict: m.Getenv("DONGTING_JIEBA_DICT"), taxonomy: "property", noModels: true}
	a, _, err := m.analyzer(c)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTrainIsDeterministic trains on a slice of the labels twice: the same
// bytes, a model the analyzer reads back and decides with.
func TestTrainIsDeterministic(t *testing.T) {
	if _, err := os.Stat(residentMessages); err != nil {
		t.Skip("the resident data set is not beside the project")
	}
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.jsonl")
	src, err := os.Open("../../data/eval/resident_labels.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(src)
	for n := 0; sc.Scan() && n < 240; n++ {
		b.WriteString(sc.Text() + "\n")
	}
	src.Close()
	os.WriteFile(labels, []byte(b.String()), 0o644)
	var outs [][]byte
	for i := range 2 {
		out := filepath.Join(dir, "m"+string(rune('0'+i)))
		stdout, stderr, err := run(t, "", "train", "--labels", labels, "--messages", residentMessages, "--golden", "../../data/eval/property_tags.jsonl", "--out", out)
		if err != nil {
			t.Fatalf("train: %v\n%s", err, stderr)
		}
		if !strings.Contains(stdout, "out-of-fold micro P/R/F1") {
			t.Errorf("train said %q", stdout)
		}
		body, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, body)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two trainings on the same labels wrote different model files")
	}
	ms, err := learn.ReadModels(bytes.NewReader(outs[0]))
	if err != nil {
		t.Fatal(err)
	}
	a := analyzerFor(t).WithModels(ms)
	long := strings.Repeat("小区地下车库的车位被外来车辆长期占用，物业不管，业主停车非常困难。", 4)
	res, err := a.Analyze(&analyzer.Record{ID: "x", Text: long})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range res.Tags {
		if tag.Source == "rule+model" && tag.Confidence == nil {
			t.Errorf("a model-confirmed tag without confidence: %+v", tag)
		}
	}
	if res.Sentiment.Label != "negative" {
		t.Errorf("sentiment %+v", res.Sentiment)
	}
	// eval resident prints every measure for both splits.
	stdout, _, err := run(t, "", "eval", "resident", "--labels", labels, "--messages", residentMessages)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dev split", "train split", "micro P/R/F1", "red line     recall", "sentiment    accuracy", "praise       precision", "severity"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("eval resident output lacks %q:\n%s", want, stdout)
		}
	}
}
