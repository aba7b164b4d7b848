package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/api/access"
	"dongting/index"
	"dongting/index/review"
	"dongting/index/tagging"
)

const reviewUsage = `usage: dongting review <subcommand> -dir DIR [flags] (on a stopped server's data directory; while serving use /api/v1/review)

  list [-limit N] [-reason disagree|low_confidence] [-before SEQ]
                                records in doubt that nobody has labelled, newest first
  label ID -scenes a,b -severity P1|P2|P3|none -sentiment negative|neutral|positive [-praise] [-redline-kind K] [-by NAME]
                                store an analyst's label of a record (redline follows severity P1)
  label ID -show                print a record's label
  retrain [-force] [-retag] [-datasets DIR]
                                train from the stored labels and the golden set; put the model
                                in force unless it is worse on the dev split (or -force)
  models                        the model in force and the stored versions
`

// datasetsFlag adds -datasets: the directory of the resident message
// data set, whose labels (data/eval/resident_labels.jsonl) then also train
// (train split) and measure (dev split) a retraining.
func datasetsFlag(m *Main, fset *flag.FlagSet) *string {
	return fset.String("datasets", m.Getenv("DONGTING_DATASETS"), "directory holding resident/messages.jsonl: its labelled messages join retraining (env DONGTING_DATASETS); empty: none")
}

// openReview opens the labels and model versions of the corpus.
func (m *Main) openReview(corpus *index.Corpus, curator *tagging.Manager, fsys fs.FS, c *common, datasets string, log *slog.Logger) (*review.Review, error) {
	shipped, err := analyzer.LoadModels(fsys)
	if err != nil {
		return nil, err
	}
	opt := review.Options{Shipped: shipped, Log: log}
	if datasets != "" {
		if opt.Resident, err = residentExamples(corpus.Analyzer(), fsys, filepath.Join(datasets, "resident", "messages.jsonl")); err != nil {
			return nil, fmt.Errorf("-datasets: %w", err)
		}
	}
	return review.Open(corpus, curator, opt)
}

// residentExamples are the labelled resident messages, both splits.
func residentExamples(a *analyzer.Analyzer, fsys fs.FS, messagesPath string) ([]review.Example, error) {
	labels, msgs, err := residentLabels(a, fsys, "eval/resident_labels.jsonl", messagesPath)
	if err != nil {
		return nil, err
	}
	out := make([]review.Example, 0, len(labels))
	for _, l := range labels {
		out = append(out, review.Example{Label: l, Record: analyzer.Record{ID: l.ID, Kind: "complaint", Text: msgs[l.ID].Body()}})
	}
	return out, nil
}

func (m *Main) runReview(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(m.Stderr, reviewUsage)
		return errors.New("review: give a subcommand")
	}
	sub := args[0]
	fset := m.newFlagSet("review " + sub)
	c := m.commonFlags(fset)
	sf := m.storeFlags(fset)
	limit := fset.Int("limit", 20, "records to list, at most 200 (list)")
	reason := fset.String("reason", "", "disagree or low_confidence; empty: either (list)")
	before := fset.Uint64("before", 0, "list records stored before this sequence number: the next of the previous page (list)")
	scenes := fset.String("scenes", "", "scene ids, main first, comma-separated; empty when none applies (label)")
	severity := fset.String("severity", "", "P1, P2, P3 or none (label)")
	sentiment := fset.String("sentiment", "", "negative, neutral or positive (label)")
	praise := fset.Bool("praise", false, "the record praises (label)")
	redlineKind := fset.String("redline-kind", "", "incident, escalation or collective, for P1 (label)")
	by := fset.String("by", "cli", "who labels or retrains (label, retrain)")
	show := fset.Bool("show", false, "print the record's label instead of storing one (label)")
	force := fset.Bool("force", false, "take a retrained model that is worse on the dev split (retrain)")
	retag := fset.Bool("retag", false, "re-analyse every stored record with an accepted model (retrain)")
	datasets := datasetsFlag(m, fset)
	asJSON := fset.Bool("json", false, "print JSON")
	// The record id may come before the flags (label ID -scenes …).
	var pos []string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fset.Parse(rest); err != nil {
			return err
		}
		if fset.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fset.Arg(0)), fset.Args()[1:]
	}
	switch sub {
	case "list", "label", "retrain", "models":
	default:
		fmt.Fprint(m.Stderr, reviewUsage)
		return fmt.Errorf("review: unknown subcommand %q", sub)
	}
	if (sub == "label") != (len(pos) == 1) || sub != "label" && len(pos) > 0 {
		return fmt.Errorf("review %s: unexpected arguments %q (label takes one record id)", sub, pos)
	}
	if _, err := os.Stat(filepath.Join(sf.dir, "dongting.db")); err != nil {
		return fmt.Errorf("review: no store in %s", sf.dir)
	}
	corpus, fsys, err := m.openCorpus(c, sf, nil, nil, false)
	if err != nil {
		return err
	}
	defer corpus.Close()
	curator, err := m.openTagging(corpus, fsys, c, nil)
	if err != nil {
		return err
	}
	defer curator.Close()
	rv, err := m.openReview(corpus, curator, fsys, c, *datasets, nil)
	if err != nil {
		return err
	}
	keys, err := access.Open(corpus.Store(), nil)
	if err != nil {
		return err
	}
	out := func(v any) error {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	switch sub {
	case "list":
		r, ok := review.ReasonParam(*reason)
		if !ok {
			return fmt.Errorf("review list: -reason %q: want disagree or low_confidence", *reason)
		}
		q, err := rv.Queue(ctx, review.QueueOptions{Limit: *limit, Reason: r, Before: *before})
		if err != nil {
			return err
		}
		if *asJSON {
			return out(q)
		}
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tREASONS\tSUGGESTED SCENES\tSENTIMENT\tTEXT")
		for _, it := range q.Items {
			var sc []string
			for _, s := range it.Suggested.Scenes {
				conf := "-"
				if s.Confidence != nil {
					conf = fmt.Sprintf("%.2f", *s.Confidence)
				}
				mark := ""
				if !s.Kept {
					mark = "✗"
				}
				sc = append(sc, fmt.Sprintf("%s%s(%s %s)", mark, s.Scene, s.Source, conf))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", it.ID, strings.Join(it.Reasons, ","), strings.Join(sc, " "), it.Suggested.Sentiment, snippet(it.Text, 40))
		}
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%d listed of %d records read (✗: a rule's scene the model dropped)", len(q.Items), q.Examined)
		if q.Next != 0 {
			fmt.Fprintf(m.Stdout, "; more with -before %d", q.Next)
		}
		fmt.Fprintln(m.Stdout)
	case "label":
		id := pos[0]
		if *show {
			l, err := rv.Label(id)
			if errors.Is(err, review.ErrNotFound) {
				return fmt.Errorf("review label: %s has no label", id)
			}
			if err != nil {
				return err
			}
			return out(l)
		}
		l := learn.Label{Scenes: []string{}, Severity: *severity, Sentiment: *sentiment, Praise: *praise, RedlineKind: *redlineKind, Redline: *severity == "P1"}
		for _, s := range strings.Split(*scenes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				l.Scenes = append(l.Scenes, s)
			}
		}
		stored, err := rv.SetLabel(id, l, *by)
		var ie *review.InvalidError
		switch {
		case errors.As(err, &ie):
			return fmt.Errorf("review label: -%s: %v", strings.ReplaceAll(ie.Field, "_", "-"), ie.Err)
		case errors.Is(err, review.ErrNoRecord):
			return fmt.Errorf("review label: no record %s in %s", id, sf.dir)
		case err != nil:
			return err
		}
		if err := keys.Record(access.Entry{Action: "review.label", Target: id, Detail: fmt.Sprintf("scenes=[%s] severity=%s sentiment=%s praise=%v (cli, by %s)",
			strings.Join(stored.Scenes, ","), stored.Severity, stored.Sentiment, stored.Praise, *by)}); err != nil {
			return err
		}
		if *asJSON {
			return out(stored)
		}
		fmt.Fprintf(m.Stdout, "labelled %s (%s split): scenes [%s], %s, %s, praise %v\n", id, stored.Split, strings.Join(stored.Scenes, ", "), stored.Severity, stored.Sentiment, stored.Praise)
	case "retrain":
		res, err := rv.Retrain(ctx, review.RetrainOptions{By: *by, Force: *force, Retag: *retag})
		var ie *review.InvalidError
		if errors.As(err, &ie) {
			return fmt.Errorf("review retrain: %v", ie.Err)
		}
		if err != nil {
			return err
		}
		target := ""
		if res.Version != nil {
			target = fmt.Sprint(res.Version.Version)
		}
		if err := keys.Record(access.Entry{Action: "model.retrain", Target: target, Detail: fmt.Sprintf("accepted=%v forced=%v scene_f1 %.3f→%.3f sentiment_acc %.3f→%.3f (cli, by %s)",
			res.Accepted, res.Forced, res.Before.SceneF1, res.After.SceneF1, res.Before.SentimentAcc, res.After.SentimentAcc, *by)}); err != nil {
			return err
		}
		if res.Job != nil {
			// Offline there is no server to finish it later: wait here.
			if err := curator.Wait(ctx); err != nil {
				return err
			}
		}
		if *asJSON {
			return out(res)
		}
		k := res.Counts
		fmt.Fprintf(m.Stdout, "trained on %d stored labels, %d golden cases, %d data-set messages and %d unlabelled records as the model in force sees them; measured on %d dev cases (%d stored labels, %d golden, %d data-set)\n",
			k.Labels, k.Golden, k.Resident, k.Teacher, res.After.N, k.DevLabels, k.Golden, k.ResidentDev)
		fmt.Fprintf(m.Stdout, "scene micro-F1 %.3f → %.3f, sentiment accuracy %.3f → %.3f (%d cases)\n",
			res.Before.SceneF1, res.After.SceneF1, res.Before.SentimentAcc, res.After.SentimentAcc, res.After.SentimentN)
		fmt.Fprintln(m.Stdout, res.Reason)
		if !res.Accepted {
			return exitError(3)
		}
		fmt.Fprintf(m.Stdout, "model version %d is in force\n", res.Version.Version)
		if res.Job != nil {
			job := curator.Job()
			fmt.Fprintf(m.Stdout, "re-analysed %d stored records\n", job.Done)
		}
	case "models":
		ms, err := rv.Models()
		if err != nil {
			return err
		}
		if *asJSON {
			return out(ms)
		}
		fmt.Fprintf(m.Stdout, "in force: %s", ms.Source)
		if ms.Current > 0 {
			fmt.Fprintf(m.Stdout, " version %d", ms.Current)
		}
		fmt.Fprintf(m.Stdout, "; stored labels: %d train, %d dev\n", ms.Labels.Train, ms.Labels.Dev)
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tCREATED\tBY\tFORCED\tSCENE F1\tSENTIMENT ACC\tDEV CASES")
		for _, v := range ms.Versions {
			fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%.3f → %.3f\t%.3f → %.3f\t%d\n", v.Version, v.CreatedAt.Format("2006-01-02 15:04"), v.By, v.Forced,
				v.Before.SceneF1, v.After.SceneF1, v.Before.SentimentAcc, v.After.SentimentAcc, v.After.N)
		}
		return w.Flush()
	}
	return nil
}

// snippet is the first n characters of s on one line.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
