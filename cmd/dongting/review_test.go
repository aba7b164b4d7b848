package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/analyzer/learn"
	"dongting/api/access"
	"dongting/data"
	"dongting/index"
	"dongting/index/indextest"
	"dongting/index/store"
)

// stored reads one record from a data directory no process holds.
// sentiments are the stored sentiments of recs, by id.
func sentiments(t *testing.T, dir string, recs []analyzer.Record) map[string]analyzer.Sentiment {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]analyzer.Sentiment{}
	for _, r := range recs {
		rec, err := st.Get(r.ID)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		out[r.ID] = rec.Analysis.Sentiment
	}
	return out
}

func stored(t *testing.T, dir, id string) *store.Stored {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := st.Get(id)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return rec
}

func TestReviewCommands(t *testing.T) {
	dir := t.TempDir()
	src := indextest.Demo(t, 3, time.Now().Add(-time.Hour), 600)
	var texts []string
	for _, r := range src {
		if r.Text != "" && len(r.Turns) == 0 {
			texts = append(texts, r.Text)
		}
	}
	var lines bytes.Buffer
	var recs []analyzer.Record
	for i := range 80 {
		r := src[i]
		r.ID, r.Kind, r.Turns = fmt.Sprintf("c-%03d", i), "complaint", nil
		r.Text = strings.Join(texts[i*3:i*3+1+i%4], "")
		recs = append(recs, r)
		b, _ := json.Marshal(r)
		lines.Write(append(b, '\n'))
	}
	file := filepath.Join(t.TempDir(), "recs.jsonl")
	if err := os.WriteFile(file, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := run(t, "", "ingest", "-q", "-dir", dir, file); err != nil {
		t.Fatalf("ingest: %v\n%s\n%s", err, out, errOut)
	}
	first := sentiments(t, dir, recs)

	out, _, err := run(t, "", "review", "list", "-dir", dir, "-limit", "5", "-json")
	var q struct {
		Items []struct {
			ID      string
			Reasons []string
		}
		Examined int
	}
	if err != nil || json.Unmarshal([]byte(out), &q) != nil || len(q.Items) == 0 || q.Examined == 0 {
		t.Fatalf("review list: %v\n%s", err, out)
	}
	if out, _, err := run(t, "", "review", "list", "-dir", dir, "-reason", "disagree"); err != nil || !strings.Contains(out, "model_disagrees") || !strings.Contains(out, "records read") {
		t.Errorf("review list -reason disagree: %v\n%s", err, out)
	}
	id := q.Items[0].ID
	if _, _, err := run(t, "", "review", "label", id, "-dir", dir, "-scenes", "nope", "-severity", "P3", "-sentiment", "negative"); err == nil || !strings.Contains(err.Error(), "-scenes") {
		t.Errorf("bad scene: %v", err)
	}
	if _, _, err := run(t, "", "review", "label", id, "-dir", dir, "-scenes", "repair", "-severity", "P4", "-sentiment", "negative"); err == nil || !strings.Contains(err.Error(), "-severity") {
		t.Errorf("bad severity: %v", err)
	}
	if _, _, err := run(t, "", "review", "label", "nobody", "-dir", dir, "-scenes", "repair", "-severity", "P3", "-sentiment", "negative"); err == nil || !strings.Contains(err.Error(), "no record nobody") {
		t.Errorf("missing record: %v", err)
	}
	if out, _, err := run(t, "", "review", "label", id, "-dir", dir, "-scenes", "repair,service", "-severity", "P1", "-redline-kind", "incident", "-sentiment", "negative", "-by", "王分析"); err != nil || !strings.Contains(out, "labelled "+id) {
		t.Fatalf("label: %v\n%s", err, out)
	}
	out, _, err = run(t, "", "review", "label", id, "-show", "-dir", dir)
	var l struct {
		learn.Label
		By string
	}
	if err != nil || json.Unmarshal([]byte(out), &l) != nil || l.By != "王分析" || !l.Redline || l.Scenes[1] != "service" {
		t.Fatalf("label -show: %v\n%s", err, out)
	}
	if _, _, err := run(t, "", "review", "retrain", "-dir", dir); err == nil || !strings.Contains(err.Error(), "too few labels") {
		t.Errorf("retrain on one label: %v", err)
	}

	// Labels that contradict the records, stored through the command's own
	// wiring.
	m := testMain(t, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	c := &common{taxonomy: "property"}
	corpus, fsys, err := m.openCorpus(c, &storeFlags{dir: dir, tz: index.DefaultZone}, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	curator, err := m.openTagging(corpus, fsys, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := m.openReview(corpus, curator, fsys, c, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	opposite := map[string]string{"negative": "positive", "positive": "negative", "neutral": "negative"}
	for _, r := range recs {
		st, err := corpus.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := st.Analysis.Prediction()
		l := learn.Label{Scenes: append([]string{}, p.Scenes[:min(3, len(p.Scenes))]...), Severity: p.Severity, Redline: p.Redline, Sentiment: p.Sentiment, Praise: p.Praise}
		if learn.Split(r.ID) == "train" {
			l.Scenes, l.Sentiment, l.Severity, l.Redline = []string{"amenities"}, opposite[p.Sentiment], "none", false
		}
		if _, err := rv.SetLabel(r.ID, l, "test"); err != nil {
			t.Fatal(err)
		}
	}
	curator.Close()
	if err := corpus.Close(); err != nil {
		t.Fatal(err)
	}

	out, _, err = run(t, "", "review", "retrain", "-dir", dir)
	var exit exitError
	if !errors.As(err, &exit) || exit != 3 || !strings.Contains(out, "refused: worse") {
		t.Fatalf("retrain on contradicting labels: %v\n%s", err, out)
	}
	out, _, err = run(t, "", "review", "retrain", "-force", "-retag", "-dir", dir)
	if err != nil || !strings.Contains(out, "forced: worse") || !strings.Contains(out, "model version 1 is in force") || !strings.Contains(out, "re-analysed 80 stored records") {
		t.Fatalf("retrain -force: %v\n%s", err, out)
	}
	if out, _, err := run(t, "", "review", "models", "-dir", dir); err != nil || !strings.Contains(out, "in force: stored version 1") || !strings.Contains(out, "stored labels: ") {
		t.Errorf("models: %v\n%s", err, out)
	}
	// Labels opposite to the model's sentiment change some records' (not
	// every one: a red line or a plain request decides a record by rule).
	after := sentiments(t, dir, recs)
	var moved *analyzer.Record
	for i, r := range recs {
		if after[r.ID] != first[r.ID] {
			moved = &recs[i]
			break
		}
	}
	if moved == nil {
		t.Fatalf("no record re-analysed with the retrained model changed its sentiment")
	}

	// The next command to open the directory ingests with the stored model.
	probe := *moved
	probe.ID = "probe"
	b, _ := json.Marshal(probe)
	if err := os.WriteFile(file, append(b, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := run(t, "", "ingest", "-q", "-dir", dir, file); err != nil {
		t.Fatalf("ingest: %v\n%s\n%s", err, out, errOut)
	}
	if got := stored(t, dir, "probe").Analysis.Sentiment; got != after[moved.ID] {
		t.Errorf("after a restart the probe gets %v, the retrained model gave %v", got, after[moved.ID])
	}

	st, err := store.Open(filepath.Join(dir, "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := access.Open(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]int{"review.label": 1, "model.retrain": 2} {
		es, err := keys.Audit(0, action, 10)
		if err != nil || len(es) != want || !strings.Contains(es[0].Detail, "(cli") {
			t.Errorf("audit %s: %v %v", action, es, err)
		}
	}
}

// -datasets reads the labelled resident messages, both splits; a labelled
// message the file lacks is an error, not a silent gap.
func TestResidentExamples(t *testing.T) {
	a := analyzertest.New(t, "property")
	fsys := data.FS()
	f, err := fsys.Open("eval/resident_labels.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var scenes []string
	for _, s := range a.Taxonomy().Scenes {
		scenes = append(scenes, s.ID)
	}
	labels, err := learn.ReadLabels(f, scenes)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var msgs bytes.Buffer
	for _, l := range labels[1:] {
		b, _ := json.Marshal(learn.Message{ID: l.ID, Title: "电梯", Text: "电梯又坏了"})
		msgs.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "messages.jsonl")
	if err := os.WriteFile(path, msgs.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := residentExamples(a, fsys, path); err == nil || !strings.Contains(err.Error(), labels[0].ID) {
		t.Errorf("a missing message: %v", err)
	}
	b, _ := json.Marshal(learn.Message{ID: labels[0].ID, Text: "垃圾没人清运"})
	if err := os.WriteFile(path, append(append(b, '\n'), msgs.Bytes()...), 0o600); err != nil {
		t.Fatal(err)
	}
	ex, err := residentExamples(a, fsys, path)
	if err != nil || len(ex) != len(labels) {
		t.Fatalf("%d examples of %d labels: %v", len(ex), len(labels), err)
	}
	dev := 0
	for _, e := range ex {
		if e.Label.Split == "dev" {
			dev++
		}
		if e.Record.ID != e.Label.ID || e.Record.Text == "" {
			t.Fatalf("example %+v", e)
		}
	}
	if dev == 0 || dev == len(ex) || ex[1].Record.Text != "电梯\n电梯又坏了" {
		t.Errorf("%d dev of %d; second text %q", dev, len(ex), ex[1].Record.Text)
	}
}
