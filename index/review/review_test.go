package review_test

import (
	"errors"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/data"
	"dongting/index"
	"dongting/index/indextest"
	"dongting/index/review"
	"dongting/index/store"
	"dongting/index/tagging"
)

// env is a corpus in a test directory with its taxonomy manager and
// review, opened as the service opens them.
type env struct {
	dir    string
	corpus *index.Corpus
	tg     *tagging.Manager
	rv     *review.Review
}

func open(t *testing.T, dir string) *env { return openWith(t, dir, review.Options{}) }

func openWith(t *testing.T, dir string, opt review.Options) *env {
	t.Helper()
	c := indextest.Open(t, index.Options{Dir: dir})
	ms, _, err := review.StoredModels(c.Store())
	if err != nil {
		t.Fatal(err)
	}
	base := c.Analyzer()
	shipped := base.Models()
	if ms != nil {
		base = base.WithModels(ms)
		c.SetAnalyzer(base)
	}
	tg, err := tagging.Open(c, base, tagging.Options{Default: read(t, "taxonomy/property.yaml"), Golden: read(t, "eval/property_tags.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	opt.Shipped = shipped
	rv, err := review.Open(c, tg, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, corpus: c, tg: tg, rv: rv}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	if e.corpus == nil {
		return
	}
	e.tg.Close()
	e.corpus.Close()
	e.corpus = nil
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(data.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// all is every stored record, by id.
func all(t *testing.T, c *index.Corpus) map[string]*store.Stored {
	out := map[string]*store.Stored{}
	if _, err := c.Newest(0, 1<<30, func(st *store.Stored) error { out[st.Record.ID] = st; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestQueue(t *testing.T) {
	e := open(t, t.TempDir())
	indextest.Ingest(t, e.corpus, indextest.LongRecords(t, "rec", 300))
	stored := all(t, e.corpus)
	doubt := map[string][]string{}
	for id, st := range stored {
		if rs := review.Reasons(st.Analysis); len(rs) > 0 {
			doubt[id] = rs
		}
	}
	disagree := 0
	for _, rs := range doubt {
		if slices.Contains(rs, review.ModelDisagrees) {
			disagree++
		}
	}
	if disagree == 0 || disagree == len(doubt) || len(doubt) == len(stored) {
		t.Fatalf("the demo records should hold disagreements, other doubts and clear cases: %d disagree, %d in doubt of %d", disagree, len(doubt), len(stored))
	}

	t.Logf("%d records, %d in doubt, %d of them disagreements", len(stored), len(doubt), disagree)
	q, err := e.rv.Queue(t.Context(), review.QueueOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Items) != 10 || q.Next == 0 {
		t.Fatalf("queue: %d items, next %d", len(q.Items), q.Next)
	}
	for i, it := range q.Items {
		if !slices.Equal(it.Reasons, doubt[it.ID]) || it.Analysis == nil || it.Text != stored[it.ID].Text() {
			t.Errorf("item %s: reasons %v, want %v", it.ID, it.Reasons, doubt[it.ID])
		}
		if i > 0 && it.Seq >= q.Items[i-1].Seq {
			t.Errorf("not newest first: %d after %d", it.Seq, q.Items[i-1].Seq)
		}
		if slices.Contains(it.Reasons, review.ModelDisagrees) {
			rejected := len(it.Analysis.Rejected) > 0
			model := slices.ContainsFunc(it.Analysis.Tags, func(t analyzer.Tag) bool { return t.Source == "model" })
			if !rejected && !model {
				t.Errorf("%s listed as a disagreement without one", it.ID)
			}
			kept := slices.ContainsFunc(it.Suggested.Scenes, func(s review.SceneSuggestion) bool { return !s.Kept || s.Source == "model" })
			if !kept {
				t.Errorf("%s: suggestions %+v show no side of the disagreement", it.ID, it.Suggested.Scenes)
			}
		}
	}

	// Labelled records leave the queue.
	first := q.Items[0]
	if _, err := e.rv.SetLabel(first.ID, learn.Label{Scenes: []string{"facilities"}, Severity: "P3", Sentiment: "negative"}, "tester"); err != nil {
		t.Fatal(err)
	}
	q2, err := e.rv.Queue(t.Context(), review.QueueOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if q2.Items[0].ID == first.ID || q2.Items[0].ID != q.Items[1].ID {
		t.Errorf("after labelling %s the queue starts with %s", first.ID, q2.Items[0].ID)
	}

	// One reason only.
	q3, err := e.rv.Queue(t.Context(), review.QueueOptions{Limit: 200, Reason: review.ModelDisagrees})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range q3.Items {
		if !slices.Contains(it.Reasons, review.ModelDisagrees) {
			t.Errorf("reason filter let %s %v through", it.ID, it.Reasons)
		}
	}
	if len(q3.Items) != disagree-countIf(first.ID, doubt, review.ModelDisagrees) {
		t.Errorf("%d disagreements listed, want %d", len(q3.Items), disagree)
	}

	// A bounded scan pages back to the oldest record and lists every
	// record in doubt once.
	seen := map[string]bool{}
	var before uint64
	pages := 0
	for {
		p, err := e.rv.Queue(t.Context(), review.QueueOptions{Limit: 200, Examine: 40, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		if p.Examined > 40 {
			t.Fatalf("examined %d records, bound 40", p.Examined)
		}
		for _, it := range p.Items {
			if seen[it.ID] || before > 0 && it.Seq >= before {
				t.Errorf("%s (seq %d) listed again or out of its page (before %d)", it.ID, it.Seq, before)
			}
			seen[it.ID] = true
		}
		pages++
		if p.Next == 0 {
			break
		}
		before = p.Next
	}
	if pages < 300/40 {
		t.Errorf("%d pages of 40 over 300 records", pages)
	}
	for id := range doubt {
		if !seen[id] && id != first.ID {
			t.Errorf("%s is in doubt and was never listed", id)
		}
	}
	if seen[first.ID] || len(seen) != len(doubt)-1 {
		t.Errorf("listed %d records, want the %d in doubt less the labelled one", len(seen), len(doubt))
	}

	// A scope sees only its records.
	q4, err := e.rv.Queue(t.Context(), review.QueueOptions{Limit: 200, Allow: func(org string) bool { return strings.HasPrefix(org, "华东区域") }})
	if err != nil {
		t.Fatal(err)
	}
	if len(q4.Items) == 0 {
		t.Fatal("no record of 华东区域 in doubt")
	}
	for _, it := range q4.Items {
		if !strings.HasPrefix(stored[it.ID].Record.Org, "华东区域") {
			t.Errorf("scoped queue lists %s of %s", it.ID, stored[it.ID].Record.Org)
		}
	}
}

func countIf(id string, doubt map[string][]string, reason string) int {
	if slices.Contains(doubt[id], reason) {
		return 1
	}
	return 0
}

func TestLabels(t *testing.T) {
	e := open(t, t.TempDir())
	indextest.Ingest(t, e.corpus, indextest.LongRecords(t, "rec", 3))
	for _, tt := range []struct {
		l     learn.Label
		field string
	}{
		{learn.Label{Severity: "P3", Sentiment: "negative"}, "scenes"},
		{learn.Label{Scenes: []string{"nope"}, Severity: "P3", Sentiment: "negative"}, "scenes"},
		{learn.Label{Scenes: []string{"repair", "repair"}, Severity: "P3", Sentiment: "negative"}, "scenes"},
		{learn.Label{Scenes: []string{"repair", "fees", "service", "cleaning"}, Severity: "P3", Sentiment: "negative"}, "scenes"},
		{learn.Label{Scenes: []string{}, Severity: "P4", Sentiment: "negative"}, "severity"},
		{learn.Label{Scenes: []string{}, Severity: "P3", Sentiment: "angry"}, "sentiment"},
		{learn.Label{Scenes: []string{}, Severity: "P1", Sentiment: "negative"}, "redline"},
		{learn.Label{Scenes: []string{}, Severity: "P3", Redline: true, Sentiment: "negative"}, "redline"},
		{learn.Label{Scenes: []string{}, Severity: "P1", Redline: true, RedlineKind: "fire", Sentiment: "negative"}, "redline_kind"},
	} {
		_, err := e.rv.SetLabel("rec-0000", tt.l, "tester")
		var ie *review.InvalidError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("%+v: %v, want an error on %s", tt.l, err, tt.field)
		}
	}
	if _, err := e.rv.Label("rec-0000"); !errors.Is(err, review.ErrNotFound) {
		t.Errorf("a refused label was stored: %v", err)
	}
	if _, err := e.rv.SetLabel("nobody", learn.Label{Scenes: []string{}, Severity: "none", Sentiment: "neutral"}, "tester"); !errors.Is(err, review.ErrNoRecord) {
		t.Errorf("label of a missing record: %v", err)
	}
	l, err := e.rv.SetLabel("rec-0001", learn.Label{Scenes: []string{"facilities", "repair"}, Severity: "P1", Redline: true, RedlineKind: "incident", Sentiment: "negative"}, "tester")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.rv.Label("rec-0001")
	if err != nil || got.By != "tester" || got.At.IsZero() || !slices.Equal(got.Scenes, l.Scenes) || got.Split != learn.Split("rec-0001") || got.ID != "rec-0001" {
		t.Errorf("stored label %+v, %v", got, err)
	}
}

// contradict labels records against what they say: the train split with
// the opposite sentiment and a wrong scene, the dev split as the analyzer
// in force sees them (so it scores fully on them).
func contradict(t *testing.T, e *env, n int) {
	t.Helper()
	opposite := map[string]string{"negative": "positive", "positive": "negative", "neutral": "negative"}
	for id, st := range all(t, e.corpus) {
		if n == 0 {
			break
		}
		n--
		p := st.Analysis.Prediction()
		l := learn.Label{Scenes: p.Scenes, Severity: p.Severity, Redline: p.Redline, Sentiment: p.Sentiment, Praise: p.Praise}
		if l.Scenes == nil {
			l.Scenes = []string{}
		}
		if len(l.Scenes) > 3 {
			l.Scenes = l.Scenes[:3]
		}
		if learn.Split(id) == "train" {
			l.Sentiment, l.Scenes, l.Severity, l.Redline = opposite[p.Sentiment], []string{"amenities"}, "none", false
		}
		if _, err := e.rv.SetLabel(id, l, "tester"); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

// noTeacher trains on labels alone, so that the same labels give the same
// model (what the analyzer in force teaches changes with it).
var noTeacher = review.Options{Teacher: -1}

func TestRetrain(t *testing.T) {
	dir := t.TempDir()
	e := openWith(t, dir, noTeacher)
	recs := indextest.LongRecords(t, "rec", 150)
	indextest.Ingest(t, e.corpus, recs)
	probe := recs[0]
	probe.ID = "probe-before"
	before := indextest.Ingest(t, e.corpus, []analyzer.Record{probe})[0].Analysis

	if _, err := e.rv.Retrain(t.Context(), review.RetrainOptions{By: "tester"}); !isInvalid(err, "labels") {
		t.Fatalf("retrain without labels: %v", err)
	}
	contradict(t, e, 150)

	res, err := e.rv.Retrain(t.Context(), review.RetrainOptions{By: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("contradicting labels: %s; counts %+v", res.Reason, res.Counts)
	if res.Accepted || !strings.Contains(res.Reason, "worse") || res.After.SentimentAcc >= res.Before.SentimentAcc {
		t.Fatalf("contradicting labels: accepted %v (%s), before %+v after %+v", res.Accepted, res.Reason, res.Before, res.After)
	}
	if res.Before.N != res.Counts.DevLabels+res.Counts.Golden || res.Counts.Golden != 40 || res.Counts.Labels+res.Counts.DevLabels != 150 || res.Before.SentimentN != res.Counts.DevLabels {
		t.Errorf("counts %+v, figures %+v", res.Counts, res.Before)
	}
	if ms, err := e.rv.Models(); err != nil || len(ms.Versions) != 0 || ms.Current != 0 || ms.Source != "shipped" {
		t.Errorf("a refused model was stored: %+v %v", ms, err)
	}
	if e.corpus.Analyzer().Models() != e.rv.Shipped() {
		t.Error("a refused model is in force")
	}

	res, err = e.rv.Retrain(t.Context(), review.RetrainOptions{By: "tester", Force: true, Retag: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Accepted || !res.Forced || res.Version == nil || res.Version.Version != 1 || res.Job == nil || res.Job.Model != 1 {
		t.Fatalf("forced: %+v", res)
	}
	probe.ID = "probe-after"
	after := indextest.Ingest(t, e.corpus, []analyzer.Record{probe})[0].Analysis
	if after.Sentiment.Label == before.Sentiment.Label {
		t.Errorf("the retrained model is not in force for new records: sentiment %v before and after", after.Sentiment)
	}
	if err := e.tg.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if job := e.tg.Job(); job.State != tagging.JobDone || job.Done != len(recs)+1 {
		t.Errorf("re-tagging: %+v", job)
	}
	if st, err := e.corpus.Get("probe-before"); err != nil || st.Analysis.Sentiment != after.Sentiment {
		t.Errorf("the stored record was not re-analysed with the new model: %v %v", st.Analysis.Sentiment, err)
	}

	// The same labels again: training is deterministic, so the new model
	// equals the one in force and is not worse.
	res, err = e.rv.Retrain(t.Context(), review.RetrainOptions{By: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Accepted || res.Forced || res.Before != res.After || res.Version.Version != 2 {
		t.Errorf("retrained on the same labels: %+v", res)
	}

	// A restart puts the newest stored model in force.
	e.close()
	e = openWith(t, dir, noTeacher)
	probe.ID = "probe-restart"
	again := indextest.Ingest(t, e.corpus, []analyzer.Record{probe})[0].Analysis
	if again.Sentiment != after.Sentiment {
		t.Errorf("after a restart: sentiment %v, the retrained model gave %v", again.Sentiment, after.Sentiment)
	}
	ms, err := e.rv.Models()
	if err != nil || ms.Current != 2 || ms.Source != "stored" || len(ms.Versions) != 2 || ms.Versions[0].Version != 2 || !ms.Versions[1].Forced || ms.Labels.Train+ms.Labels.Dev != 150 {
		t.Errorf("models after a restart: %+v %v", ms, err)
	}
}

func isInvalid(err error, field string) bool {
	var ie *review.InvalidError
	return errors.As(err, &ie) && ie.Field == field
}

// A few labels correct the models in force; they do not replace what
// those learnt from the shipped labels: the records nobody labelled are
// taught by the analyzer in force.
func TestRetrainKeepsWhatTheModelKnows(t *testing.T) {
	for _, tt := range []struct {
		teacher int
		keeps   bool
	}{{0, true}, {-1, false}} {
		e := openWith(t, t.TempDir(), review.Options{Teacher: tt.teacher})
		indextest.Ingest(t, e.corpus, indextest.LongRecords(t, "rec", 300))
		train, dev := 0, 0
		stored := all(t, e.corpus)
		for _, id := range slices.Sorted(maps.Keys(stored)) {
			p := stored[id].Analysis.Prediction()
			l := learn.Label{Scenes: append([]string{}, p.Scenes[:min(3, len(p.Scenes))]...), Severity: p.Severity, Redline: p.Redline, Sentiment: p.Sentiment, Praise: p.Praise}
			switch {
			case learn.Split(id) == "dev" && dev < 30:
				dev++
			case learn.Split(id) == "train" && train < 6:
				train++
				l.Sentiment = "neutral" // an analyst who finds these neutral
			default:
				continue
			}
			if _, err := e.rv.SetLabel(id, l, "tester"); err != nil {
				t.Fatal(err)
			}
		}
		res, err := e.rv.Retrain(t.Context(), review.RetrainOptions{By: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("teacher %d: %s; before %+v after %+v; counts %+v", tt.teacher, res.Reason, res.Before, res.After, res.Counts)
		// With teachers most of what the shipped model knows survives six
		// contrary labels; without, nothing does.
		kept := res.After.SentimentAcc >= 0.8
		if kept != tt.keeps || !tt.keeps && res.After.SentimentAcc > 0.5 || tt.keeps && res.Counts.Teacher < 200 {
			t.Errorf("teacher %d: sentiment accuracy %.3f → %.3f, scene F1 %.3f → %.3f", tt.teacher, res.Before.SentimentAcc, res.After.SentimentAcc, res.Before.SceneF1, res.After.SceneF1)
		}
		e.close()
	}
}

// BenchmarkQueue is one call of the queue that reads its bound (5,000
// records) and lists nothing: the worst case of a call on any corpus.
func BenchmarkQueue(b *testing.B) {
	c := indextest.Open(b, index.Options{Dir: b.TempDir()})
	defer c.Close()
	tg, err := tagging.Open(c, c.Analyzer(), tagging.Options{Default: readB(b, "taxonomy/property.yaml")})
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	rv, err := review.Open(c, tg, review.Options{})
	if err != nil {
		b.Fatal(err)
	}
	recs := indextest.Demo(b, 1, time.Now().Add(-time.Hour), review.MaxExamined)
	for i := 0; i < len(recs); i += 1000 {
		indextest.Ingest(b, c, recs[i:min(i+1000, len(recs))])
	}
	nobody := func(string) bool { return false }
	b.ResetTimer()
	for b.Loop() {
		q, err := rv.Queue(b.Context(), review.QueueOptions{Allow: nobody})
		if err != nil || q.Examined != review.MaxExamined {
			b.Fatal(q, err)
		}
	}
}

func readB(b *testing.B, name string) []byte {
	s, err := fs.ReadFile(data.FS(), name)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
