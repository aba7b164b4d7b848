package review

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/index/store"
	"dongting/index/tagging"
	"dongting/index/work"
)

// Teaching: the records the analyzer in force labels for a retraining,
// and how much each counts against an analyst's label.
const (
	DefaultTeacher = 1000
	TeacherWeight  = 0.5
)

// MinLabels is the fewest labelled texts of the train split a retraining
// starts from.
const MinLabels = 3

// MinDev is the fewest dev cases a model is judged on (scenes), and the
// fewest with a sentiment label its sentiment is judged on: fewer say
// nothing, and the model is refused unless forced.
const MinDev = 20

// Figures are what a model is judged by on the dev part: the scene
// micro-F1 (and macro-F1) over the N dev cases — the dev split of the
// stored labels, the golden cases and the dev split of a data set given
// with Options.Resident — and the sentiment accuracy over the SentimentN
// of them that carry a sentiment label (the golden cases do not).
type Figures struct {
	SceneF1      float64 `json:"scene_f1"`
	SceneMacroF1 float64 `json:"scene_macro_f1"`
	SentimentAcc float64 `json:"sentiment_acc"`
	N            int     `json:"n"`
	SentimentN   int     `json:"sentiment_n"`
}

// Counts say what a retraining learnt from and was measured on.
type Counts struct {
	Labels      int `json:"labels"`       // stored labels trained on (their ids' split is train)
	DevLabels   int `json:"dev_labels"`   // stored labels measured on (split dev)
	Missing     int `json:"missing"`      // stored labels whose record is gone (left out)
	Golden      int `json:"golden"`       // golden cases (trained and measured on)
	Teacher     int `json:"teacher"`      // unlabelled records labelled by the analyzer in force (trained on, weighted TeacherWeight)
	Resident    int `json:"resident"`     // data-set messages trained on
	ResidentDev int `json:"resident_dev"` // data-set messages measured on
}

// ModelVersion is one accepted retrained model.
type ModelVersion struct {
	Version         int       `json:"version"`
	CreatedAt       time.Time `json:"created_at"`
	By              string    `json:"by"`
	Forced          bool      `json:"forced"`
	Before          Figures   `json:"before"` // the model in force before, on the same dev cases
	After           Figures   `json:"after"`
	Counts          Counts    `json:"counts"`
	Trained         string    `json:"trained"`
	Taxonomy        string    `json:"taxonomy"`
	TaxonomyVersion int       `json:"taxonomy_version"`
	Bytes           int       `json:"bytes"`
}

// RetrainOptions tune one retraining.
type RetrainOptions struct {
	By    string // who asks (required)
	Force bool   // take a model that is worse on the dev part
	Retag bool   // re-analyse every stored record with an accepted model
}

// Result is what a retraining did.
type Result struct {
	Accepted bool          `json:"accepted"`
	Forced   bool          `json:"forced"`
	Before   Figures       `json:"before"`
	After    Figures       `json:"after"`
	Reason   string        `json:"reason"`
	Counts   Counts        `json:"counts"`
	Version  *ModelVersion `json:"version,omitempty"`
	Job      *tagging.Job  `json:"job,omitempty"`
}

// devCase is one text the models are measured on.
type devCase struct {
	gold      learn.Label
	record    analyzer.Record
	sentiment bool // the label says something about sentiment
}

type dataset struct {
	train  []analyzer.Labelled
	dev    []devCase
	counts Counts
}

// Retrain trains new models from the stored labels (train split), the
// golden set and Options.Resident's train split, measures them against the
// models in force on the dev part, and puts them in force when they are
// not worse on the scene micro-F1 nor on the sentiment accuracy (or when
// forced). An accepted model is stored as a new version; the history is
// kept.
func (r *Review) Retrain(ctx context.Context, opt RetrainOptions) (*Result, error) {
	if opt.By == "" {
		return nil, &InvalidError{"by", errors.New("review: who retrains is required")}
	}
	if !r.train.TryLock() {
		return nil, ErrBusy
	}
	defer r.train.Unlock()
	cur := r.c.Analyzer()
	set, err := r.dataset(ctx, cur)
	if err != nil {
		return nil, err
	}
	labelled := set.counts.Labels + set.counts.Resident
	sceneN := 0
	for _, t := range set.train {
		if t.Scenes != nil {
			sceneN++
		}
	}
	if labelled < MinLabels || sceneN < analyzer.TrainFolds {
		return nil, &InvalidError{"labels", fmt.Errorf("review: too few labels to train on: %d labelled texts in the train split (at least %d), %d with scenes counting the golden set (at least %d); %d stored labels are in the dev split",
			labelled, MinLabels, sceneN, analyzer.TrainFolds, set.counts.DevLabels)}
	}
	trained, err := cur.Train(ctx, set.train, learn.TrainOptions{Seed: 1})
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	var enc bytes.Buffer
	if err := trained.Models.Write(&enc); err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	// Measured as read back: what is judged is what a restart loads.
	next, err := readModels(enc.Bytes())
	if err != nil {
		return nil, err
	}
	before, after, err := measure(ctx, cur, cur.WithModels(next), set.dev, r.scenes())
	if err != nil {
		return nil, err
	}
	res := &Result{Before: before, After: after, Counts: set.counts}
	worse := worseOf(before, after)
	switch {
	case worse != "" && !opt.Force:
		res.Reason = "refused: " + worse + "; send force=true to take it anyway"
		r.opt.Log.Info("retrained model refused", "by", opt.By, "scene_f1_before", before.SceneF1, "scene_f1_after", after.SceneF1,
			"sentiment_acc_before", before.SentimentAcc, "sentiment_acc_after", after.SentimentAcc)
		return res, nil
	case worse != "":
		res.Forced, res.Reason = true, "forced: "+worse
	default:
		res.Reason = fmt.Sprintf("not worse on the dev part (%d cases): scene micro-F1 %.3f → %.3f, sentiment accuracy %.3f → %.3f (%d cases)",
			after.N, before.SceneF1, after.SceneF1, before.SentimentAcc, after.SentimentAcc, after.SentimentN)
	}
	tv, err := r.tg.Current()
	if err != nil {
		return nil, err
	}
	v := &ModelVersion{CreatedAt: r.opt.Now().UTC(), By: opt.By, Forced: res.Forced, Before: before, After: after, Counts: set.counts,
		Trained: next.Trained, Taxonomy: next.Taxonomy, TaxonomyVersion: tv.Version, Bytes: enc.Len()}
	err = r.c.Store().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketModels)
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		v.Version = int(n)
		meta, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := b.Put(store.SeqKey(n), meta); err != nil {
			return err
		}
		return tx.Bucket(bucketFiles).Put(store.SeqKey(n), enc.Bytes())
	})
	if err != nil {
		return nil, fmt.Errorf("review: store model: %w", err)
	}
	r.tg.SetModels(next)
	r.mu.Lock()
	r.using = v.Version
	r.mu.Unlock()
	res.Accepted, res.Version = true, v
	r.opt.Log.Info("retrained model in force", "version", v.Version, "by", opt.By, "forced", v.Forced, "scene_f1", after.SceneF1, "sentiment_acc", after.SentimentAcc)
	if opt.Retag {
		job, err := r.tg.Reanalyze(v.Version)
		if err != nil {
			return nil, err
		}
		res.Job = &job
	}
	return res, nil
}

// worseOf says how after is worse than before ("" when it is not).
func worseOf(before, after Figures) string {
	const eps = 1e-9
	switch {
	case after.N < MinDev:
		return fmt.Sprintf("too few dev cases to judge the scenes: %d (golden cases and stored labels in the dev split), at least %d", after.N, MinDev)
	case after.SentimentN < MinDev:
		return fmt.Sprintf("too few stored labels in the dev split to judge the sentiment: %d, at least %d (about a third of record ids hash to dev)", after.SentimentN, MinDev)
	case after.SceneF1 < before.SceneF1-eps:
		return fmt.Sprintf("worse on the dev part (%d cases): scene micro-F1 %.3f → %.3f", after.N, before.SceneF1, after.SceneF1)
	case after.SentimentN > 0 && after.SentimentAcc < before.SentimentAcc-eps:
		return fmt.Sprintf("worse on the dev part (%d cases with a sentiment): sentiment accuracy %.3f → %.3f", after.SentimentN, before.SentimentAcc, after.SentimentAcc)
	}
	return ""
}

// dataset gathers the training texts and the dev cases, in a fixed order
// (training is deterministic in it).
func (r *Review) dataset(ctx context.Context, cur *analyzer.Analyzer) (*dataset, error) {
	tax := cur.Taxonomy()
	set := &dataset{}
	for _, ex := range r.opt.Resident {
		if ex.Label.Split == "" {
			ex.Label.Split = learn.Split(ex.Label.ID)
		}
		set.add(ex.Label, ex.Record, &set.counts.Resident, &set.counts.ResidentDev)
	}
	labels, err := r.Labels()
	if err != nil {
		return nil, err
	}
	const chunk = 500
	for start := 0; start < len(labels); start += chunk {
		part := labels[start:min(start+chunk, len(labels))]
		ids := make([]string, len(part))
		for i, l := range part {
			ids[i] = l.ID
		}
		recs, err := r.c.Store().GetMany(ids)
		if err != nil {
			return nil, err
		}
		for i, l := range part {
			if recs[i] == nil {
				set.counts.Missing++
				continue
			}
			set.add(l.Label, recs[i].Record, &set.counts.Labels, &set.counts.DevLabels)
		}
	}
	golden, err := r.tg.Golden()
	if err != nil {
		return nil, err
	}
	for _, c := range golden {
		scenes := []string{}
		for _, id := range c.Expect {
			if n, ok := tax.Node(id); ok && n.Scene != "" && !slices.Contains(scenes, n.Scene) {
				scenes = append(scenes, n.Scene)
			}
		}
		set.train = append(set.train, analyzer.Labelled{ID: c.ID, Record: c.Record, Scenes: scenes})
		set.dev = append(set.dev, devCase{gold: learn.Label{ID: c.ID, Scenes: scenes}, record: c.Record})
		set.counts.Golden++
	}
	if err := r.teach(ctx, cur, set); err != nil {
		return nil, err
	}
	return set, nil
}

// teach adds the newest unlabelled stored records, labelled by the
// analyzer in force: scenes only on texts long enough for the scene model
// to decide (on shorter ones the rules decide alone), sentiment on all.
func (r *Review) teach(ctx context.Context, cur *analyzer.Analyzer, set *dataset) error {
	n := r.opt.Teacher
	if n == 0 {
		n = DefaultTeacher
	}
	var recs []analyzer.Record
	var before uint64
	for len(recs) < n {
		var page []*store.Stored
		low, err := r.c.Newest(before, scanPage, func(st *store.Stored) error {
			page = append(page, st)
			return nil
		})
		if err != nil {
			return err
		}
		ids := make([]string, len(page))
		for i, st := range page {
			ids[i] = st.Record.ID
		}
		done, err := r.labelled(ids)
		if err != nil {
			return err
		}
		for _, st := range page {
			before = st.Seq
			if !done[st.Record.ID] && len(recs) < n {
				recs = append(recs, st.Record)
			}
		}
		if low == 0 {
			break
		}
	}
	taught := make([]*analyzer.Labelled, len(recs))
	err := work.Parallel(ctx, runtime.GOMAXPROCS(0), len(recs), func(i int) {
		rec := recs[i]
		a, err := cur.Analyze(&rec)
		if err != nil {
			return // a record the analyzer now refuses teaches nothing
		}
		rec = recs[i]
		toks, _, err := cur.Tokens(&rec)
		if err != nil || len(toks) == 0 {
			return
		}
		p := a.Prediction()
		l := &analyzer.Labelled{ID: recs[i].ID, Record: recs[i], Sentiment: p.Sentiment, Weight: TeacherWeight}
		if len(toks) >= learn.MinSceneWords {
			l.Scenes = append([]string{}, p.Scenes...)
		}
		taught[i] = l
	})
	if err != nil {
		return err
	}
	for _, l := range taught {
		if l != nil {
			set.train = append(set.train, *l)
			set.counts.Teacher++
		}
	}
	return nil
}

// add puts a labelled text in the training texts or the dev cases by its
// split.
func (set *dataset) add(l learn.Label, rec analyzer.Record, train, dev *int) {
	scenes := l.Scenes
	if scenes == nil {
		scenes = []string{}
	}
	if l.Split == "dev" {
		set.dev = append(set.dev, devCase{gold: l, record: rec, sentiment: true})
		*dev++
		return
	}
	set.train = append(set.train, analyzer.Labelled{ID: l.ID, Record: rec, Scenes: scenes, Sentiment: l.Sentiment})
	*train++
}

// measure analyses the dev cases with both analyzers and scores them.
func measure(ctx context.Context, cur, next *analyzer.Analyzer, dev []devCase, scenes []string) (before, after Figures, err error) {
	preds := make([][2]learn.Prediction, len(dev))
	errs := make([]error, len(dev))
	err = work.Parallel(ctx, runtime.GOMAXPROCS(0), len(dev), func(i int) {
		for side, an := range []*analyzer.Analyzer{cur, next} {
			rec := dev[i].record
			a, err := an.Analyze(&rec)
			if err != nil {
				errs[i] = fmt.Errorf("case %s: %w", dev[i].gold.ID, err)
				return
			}
			preds[i][side] = a.Prediction()
		}
	})
	if err == nil {
		err = errors.Join(errs...)
	}
	if err != nil {
		return before, after, fmt.Errorf("review: measure: %w", err)
	}
	figures := func(side int) Figures {
		gold := make([]learn.Label, len(dev))
		pred := make([]learn.Prediction, len(dev))
		var sGold []learn.Label
		var sPred []learn.Prediction
		for i, c := range dev {
			gold[i], pred[i] = c.gold, preds[i][side]
			if c.sentiment {
				sGold, sPred = append(sGold, c.gold), append(sPred, preds[i][side])
			}
		}
		rep := learn.Evaluate(scenes, gold, pred)
		f := Figures{SceneF1: round3(rep.Micro.F1()), SceneMacroF1: round3(rep.MacroF1()), N: len(dev), SentimentN: len(sGold)}
		if len(sGold) > 0 {
			f.SentimentAcc = round3(learn.Evaluate(scenes, sGold, sPred).SentimentAccuracy())
		}
		return f
	}
	return figures(0), figures(1), nil
}

// round3 keeps figures readable; comparisons are on the rounded values,
// so a difference nobody can see does not refuse a model.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func readModels(enc []byte) (*learn.Models, error) {
	ms, err := learn.ReadModels(bytes.NewReader(enc))
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	return ms, nil
}

// Models are the stored model versions and which is in force.
type Models struct {
	// Current is the version in force; 0: the shipped model (or none).
	Current int `json:"current"`
	// Source is where the model in force comes from: stored, shipped, or
	// none (rules alone).
	Source   string         `json:"source"`
	Shipped  *ShippedModel  `json:"shipped"`
	Versions []ModelVersion `json:"versions"` // newest first
	Labels   struct {
		Train int `json:"train"`
		Dev   int `json:"dev"`
	} `json:"labels"`
}

// ShippedModel describes the data directory's model file.
type ShippedModel struct {
	Taxonomy string `json:"taxonomy"`
	Trained  string `json:"trained"`
}

// Models lists the model versions, newest first.
func (r *Review) Models() (*Models, error) {
	out := &Models{Versions: []ModelVersion{}, Source: "none"}
	r.mu.Lock()
	out.Current = r.using
	r.mu.Unlock()
	if ms := r.opt.Shipped; ms != nil {
		out.Shipped = &ShippedModel{Taxonomy: ms.Taxonomy, Trained: ms.Trained}
		out.Source = "shipped"
	}
	if out.Current > 0 {
		out.Source = "stored"
	}
	err := r.c.Store().View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketModels).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var mv ModelVersion
			if err := json.Unmarshal(v, &mv); err != nil {
				return err
			}
			out.Versions = append(out.Versions, mv)
		}
		return tx.Bucket(bucketLabels).ForEach(func(k, _ []byte) error {
			if learn.Split(string(k)) == "dev" {
				out.Labels.Dev++
			} else {
				out.Labels.Train++
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("review: models: %w", err)
	}
	return out, nil
}
