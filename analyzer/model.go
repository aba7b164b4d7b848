package analyzer

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"

	"dongting/analyzer/learn"
	"dongting/taxonomy"
)

// ModelFile is where the trained models live in the data directory.
const ModelFile = "model/dongting.model"

// LoadModels reads the trained models from fsys; none (nil, nil) when the
// data directory ships no model file: rules then decide alone.
func LoadModels(fsys fs.FS) (*learn.Models, error) {
	f, err := fsys.Open(ModelFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("analyzer: %s: %w", ModelFile, err)
	}
	defer f.Close()
	ms, err := learn.ReadModels(f)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %s: %w", ModelFile, err)
	}
	return ms, nil
}

// Models are the trained models the analyzer uses (nil: none).
func (a *Analyzer) Models() *learn.Models { return a.models }

// WithModels is an analyzer that works as a does but decides with ms (nil:
// rules alone), for comparing a retrained model before it is used.
func (a *Analyzer) WithModels(ms *learn.Models) *Analyzer {
	b := *a
	b.models = ms
	return &b
}

// words are the customer's tokens as the models read them.
func words(p *parsed) []string {
	out := make([]string, len(p.tokens))
	for i, t := range p.tokens {
		out[i] = t.Text
	}
	return out
}

// features are what the models read of a parsed record: its words, word
// pairs and character pairs (Redline, and Scenes with sceneFeatures; only
// for texts of learn.MinSceneWords or more), its words and word pairs
// (Sentiment), and how strongly the lexicon scored it and how long it is.
type features struct {
	all, words learn.Features
}

// features are built in p's buffers: they are valid until p is released
// or its features are taken again.
func (a *Analyzer) features(p *parsed) features {
	ws := p.words[:0]
	for _, t := range p.tokens {
		ws = append(ws, t.Text)
	}
	p.words = ws
	f := features{words: append(learn.AppendWords(p.wordFeats[:0], ws), learn.ScoreFeature(sentimentOf(p.sum).Score), learn.LengthFeature(len(p.tokens)))}
	p.wordFeats = f.words
	if len(p.tokens) >= learn.MinSceneWords {
		f.all = learn.AppendCharPairs(append(p.allFeats[:0], f.words...), ws)
		p.allFeats = f.all
	}
	return f
}

// Features are the model inputs of one record (for training): all of
// them, and the words alone (what the sentiment model reads).
func (a *Analyzer) Features(r *Record) (all, wordsOnly learn.Features, err error) {
	p, err := a.parse(r)
	if err != nil {
		return nil, nil, err
	}
	f := a.features(p)
	wordsOnly = slices.Clone(f.words)
	if all = slices.Clone(f.all); all == nil { // short texts train the scene models too
		all = append(wordsOnly[:len(wordsOnly):len(wordsOnly)], learn.CharPairs(words(p))...)
	}
	p.release()
	return all, wordsOnly, nil
}

// sceneFeatures are what the scene model reads: the record's features
// (built here for a short text, which trains the model too) and what the
// rules found (learn.RuleFeatures).
func sceneFeatures(ws []string, f features, ruleScenes, nodes []string) learn.Features {
	base := f.all
	if base == nil {
		base = append(f.words[:len(f.words):len(f.words)], learn.CharPairs(ws)...)
	}
	return append(base[:len(base):len(base)], learn.RuleFeatures(ruleScenes, nodes, learn.MentionsEstate(ws))...)
}

// ruleInputs are the scenes (each once, in order) and nodes of the rule
// tags that the model knows: a node newer than the model is the rules'
// alone.
func (a *Analyzer) ruleInputs(tags []Tag) (scenes, nodes []string) {
	for _, t := range tags {
		if t.Scene == "" || a.models != nil && !a.models.Knows(t.ID) {
			continue
		}
		nodes = append(nodes, t.ID)
		if !slices.Contains(scenes, t.Scene) {
			scenes = append(scenes, t.Scene)
		}
	}
	return scenes, nodes
}

// ruleTags are the scene tags the analyzer's rules find in a parsed
// record, before any model decides (for explaining and training).
func (a *Analyzer) ruleTags(p *parsed) []Tag {
	hits, _ := a.tagger.Tag(p.tokens)
	var out []Tag
	for _, h := range hits {
		if !h.Node.Dimension {
			out = append(out, Tag{ID: h.Node.ID, Scene: h.Node.Scene})
		}
	}
	return out
}

// sceneProbabilities are the scene model's probabilities for a parsed
// record, with the rules' tags as the analyzer finds them.
func (a *Analyzer) sceneProbabilities(p *parsed, f features) []float64 {
	scenes, nodes := a.ruleInputs(a.ruleTags(p))
	return a.models.Scenes.Probabilities(sceneFeatures(words(p), f, scenes, nodes))
}

// decideScenes keeps the rule tags whose scene the model confirms, drops
// the others, and adds a tag for each scene the model proposes that no
// rule found (marked source "model", explained by its weightiest words).
func (a *Analyzer) decideScenes(out *Analysis, p *parsed, f features, tax *taxonomy.Taxonomy) {
	m := a.models.Scenes
	ruleScenes, nodes := a.ruleInputs(out.Tags)
	probs := m.Probabilities(sceneFeatures(words(p), f, ruleScenes, nodes))
	decided := learn.Fuse(m, ruleScenes, probs)
	kept := out.Tags[:0]
	for _, t := range out.Tags {
		if !a.models.Knows(t.ID) {
			kept = append(kept, t) // a node newer than the model: rules decide
			continue
		}
		i := slices.IndexFunc(decided, func(d learn.SceneDecision) bool { return d.Scene == t.Scene })
		if i < 0 {
			j := slices.IndexFunc(out.Rejected, func(r Rejected) bool { return r.Scene == t.Scene })
			if j < 0 {
				k := m.Class(t.Scene)
				c := 0.0
				if k >= 0 {
					c = round3(probs[k])
				}
				out.Rejected = append(out.Rejected, Rejected{Scene: t.Scene, Confidence: c})
				j = len(out.Rejected) - 1
			}
			out.Rejected[j].Tags = append(out.Rejected[j].Tags, t.ID)
			continue
		}
		if d := decided[i]; d.Model {
			c := round3(d.Confidence)
			t.Confidence, t.Source = &c, "rule+model"
		}
		kept = append(kept, t)
	}
	out.Tags = kept
	for _, d := range decided {
		if d.Rule {
			continue
		}
		n, ok := tax.Node(d.Scene)
		if !ok {
			continue
		}
		c := round3(d.Confidence)
		t := Tag{ID: n.ID, Scene: n.ID, Path: n.Path, Parents: n.Parents, Rule: "model", Source: "model", Confidence: &c,
			Sentiment: out.Sentiment}
		top := topWords(m, m.Class(d.Scene), p.tokens, 3)
		for _, i := range top {
			t.Explanation = append(t.Explanation, p.tokens[i].Text)
			t.Evidence = append(t.Evidence, (&evidenceMaker{segs: p.segs, tokSeg: p.tokSeg}).spans([]taxonomy.Span{{Start: p.tokens[i].Start, End: p.tokens[i].End, First: i, Last: i}})...)
		}
		if len(t.Evidence) == 0 {
			continue // nothing in the text to show for it
		}
		out.Tags = append(out.Tags, t)
	}
}

// topWords are the indices of the n tokens that weigh most for class k
// (each word once, positive weights only), in the order of the text.
func topWords(m *learn.Linear, k int, tokens []taxonomy.Token, n int) []int {
	type cand struct {
		i int
		w float64
	}
	var cs []cand
	seen := map[string]bool{}
	for i, t := range tokens {
		if seen[t.Text] {
			continue
		}
		seen[t.Text] = true
		if w := m.Contribution(learn.WordFeature(t.Text), k); w > 0 {
			cs = append(cs, cand{i, w})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(b.w, a.w) })
	cs = cs[:min(n, len(cs))]
	out := make([]int, len(cs))
	for j, c := range cs {
		out[j] = c.i
	}
	slices.Sort(out)
	return out
}

// modelSentiment is the record's sentiment from the sentiment model: neutral
// when the model gives it the neutral threshold chosen in training, else
// the more probable polarity (without a threshold, the most probable
// label), scored P(positive) − P(negative).
func (a *Analyzer) modelSentiment(feats learn.Features, lexical Sentiment) Sentiment {
	m := a.models.Sentiment
	probs := m.Probabilities(feats)
	best := 0
	if th, ok := m.Thresholds[learn.NeutralKey]; ok {
		best = learn.NeutralClass(m.Classes, probs, th)
	} else {
		for k := range probs {
			if probs[k] > probs[best] {
				best = k
			}
		}
	}
	pos, neg := 0.0, 0.0
	if k := m.Class(Positive); k >= 0 {
		pos = probs[k]
	}
	if k := m.Class(Negative); k >= 0 {
		neg = probs[k]
	}
	if math.IsNaN(pos - neg) {
		return lexical
	}
	// The model decides the polarity; the lexicon says how strongly it is
	// put (negation, degree words, exclamations), which a bag of words
	// cannot. The score keeps the label's sign.
	label := m.Classes[best]
	mag := math.Abs(lexical.Score)
	switch label {
	case Negative:
		return Sentiment{Label: label, Score: -max(mag, 0.1)}
	case Positive:
		return Sentiment{Label: label, Score: max(mag, 0.1)}
	}
	return Sentiment{Label: label, Score: max(-0.2, min(0.2, lexical.Score))}
}

// SceneProbabilities are the scene model's probabilities for a record, by
// scene id (nil without a model), for explaining a decision.
func (a *Analyzer) SceneProbabilities(r *Record) (map[string]float64, []string, error) {
	if a.models == nil {
		return nil, nil, nil
	}
	p, err := a.parse(r)
	if err != nil {
		return nil, nil, err
	}
	defer p.release()
	m := a.models.Scenes
	f := a.features(p)
	if f.all == nil {
		return nil, words(p), nil // too short for the scene model
	}
	probs := a.sceneProbabilities(p, f)
	out := make(map[string]float64, len(probs))
	for k, s := range m.Classes {
		out[s] = round3(probs[k])
	}
	return out, words(p), nil
}

// Prediction is the analysis in the terms people label with (LABELS.md).
func (a *Analysis) Prediction() learn.Prediction {
	p := learn.Prediction{Redline: len(a.Redline) > 0, Severity: a.Severity, Sentiment: a.Sentiment.Label, Praise: a.Praise}
	for _, t := range a.Tags {
		if !slices.Contains(p.Scenes, t.Scene) {
			p.Scenes = append(p.Scenes, t.Scene)
		}
	}
	return p
}
