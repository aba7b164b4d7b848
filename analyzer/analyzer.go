// Package analyzer turns one verbatim into an analysis: PII masked,
// normalized, segmented, split into turns and clauses, tagged against the
// taxonomy, scored for sentiment per clause, tag and record, and graded for
// severity. It does no network or database I/O.
package analyzer

import (
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"unicode/utf8"

	"dongting/analyzer/learn"
	"dongting/data"
	"dongting/taxonomy"
	"dongting/taxonomy/wordmap"
)

// Resources are the data files an analyzer needs, loaded and checked.
type Resources struct {
	Models      *learn.Models // nil: rules alone decide
	Taxonomy    *taxonomy.Taxonomy
	Signals     []SignalRule
	Lexicon     *Lexicon
	DomainWords []string
	Stopwords   map[string]bool
}

// LoadResources reads everything from fsys (see package data). taxonomy
// names a file under taxonomy/ without its extension ("property", "mall").
func LoadResources(fsys fs.FS, taxonomyName string) (*Resources, error) {
	src, err := fs.ReadFile(fsys, "taxonomy/"+taxonomyName+".yaml")
	if err != nil {
		return nil, fmt.Errorf("analyzer: taxonomy %q: %w", taxonomyName, err)
	}
	tax, err := taxonomy.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("analyzer: taxonomy/%s.yaml: %w", taxonomyName, err)
	}
	res := &Resources{Taxonomy: tax}
	if res.Models, err = LoadModels(fsys); err != nil {
		return nil, err
	}
	if res.Signals, err = LoadSignalRules(fsys); err != nil {
		return nil, err
	}
	if res.Lexicon, err = LoadLexicon(fsys); err != nil {
		return nil, err
	}
	if res.DomainWords, err = data.Words(fsys, "dict/property.txt"); err != nil {
		return nil, err
	}
	// Touchpoint words are topics, not opinions (see sentiment/neutral.txt).
	res.Lexicon.neutralize(tax.TopicTerms())
	stop, err := data.Words(fsys, "dict/stopwords.txt")
	if err != nil {
		return nil, err
	}
	res.Stopwords = make(map[string]bool, len(stop))
	for _, w := range stop {
		if !res.Lexicon.negators[w] && res.Lexicon.degree[w] == 0 {
			res.Stopwords[w] = true
		}
	}
	return res, nil
}

// SegmenterWords are the words to add to gojieba: the domain dictionary,
// every rule term (so tagging and search cut text alike) and the
// hand-written sentiment cues.
func (r *Resources) SegmenterWords() []string {
	words := append([]string(nil), r.DomainWords...)
	words = append(words, r.Taxonomy.Terms()...)
	for _, s := range r.Signals {
		if e, err := taxonomy.ParseRule(s.Rule); err == nil {
			words = append(words, taxonomy.Terms(e)...)
		}
	}
	for w, v := range r.Lexicon.weights {
		if v <= -1.5 || v >= 1.5 { // strong cues only: mild ones are often common words
			words = append(words, w)
		}
	}
	// The rule words are looked up as whole tokens: 凭什么 cut 凭/什么 is
	// no rhetorical question.
	for _, set := range []map[string]bool{r.Lexicon.rhetorical, r.Lexicon.requests} {
		for w := range set {
			words = append(words, w)
		}
	}
	sort.Strings(words)
	out := words[:0]
	for i, w := range words {
		if (i == 0 || w != words[i-1]) && utf8.RuneCountInString(w) >= 2 {
			out = append(out, w)
		}
	}
	return out
}

// Analyzer is safe for concurrent use.
type Analyzer struct {
	seg     *Segmenter
	norm    *Normalizer
	lex     *Lexicon
	tagger  *taxonomy.Tagger
	signals []SignalRule
	stop    map[string]bool
	vocab   *wordmap.Map[wordInfo] // lex, stop and connectives in one table
	models  *learn.Models
}

// New builds an analyzer on a shared segmenter (which should have been
// given res.SegmenterWords()).
func New(seg *Segmenter, res *Resources) (*Analyzer, error) {
	norm, err := NewNormalizer()
	if err != nil {
		return nil, err
	}
	a := &Analyzer{seg: seg, norm: norm, lex: res.Lexicon, signals: res.Signals, stop: res.Stopwords, models: res.Models}
	a.vocab = wordmap.New(a.lex.vocab(a.stop))
	if a.tagger, err = res.Taxonomy.Compile(a.tokenize, a.signalSources()...); err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	return a, nil
}

// Taxonomy is the taxonomy the analyzer tags against.
func (a *Analyzer) Taxonomy() *taxonomy.Taxonomy { return a.tagger.Taxonomy() }

// Segmenter is the shared segmenter the analyzer cuts with.
func (a *Analyzer) Segmenter() *Segmenter { return a.seg }

// Analyze analyzes one record. It returns a *Error for invalid input.
func (a *Analyzer) Analyze(r *Record) (*Analysis, error) {
	return a.analyzeOnly(r)
}

func (a *Analyzer) analyze(r *Record) (*Analysis, []taxonomy.Token, error) {
	p, err := a.parse(r)
	if err != nil {
		return nil, nil, err
	}
	return a.finish(p, a.tagger), p.tokens, nil
}

// Analyze without the tokens: the parse goes back to the pool.
func (a *Analyzer) analyzeOnly(r *Record) (*Analysis, error) {
	p, err := a.parse(r)
	if err != nil {
		return nil, err
	}
	out := a.finish(p, a.tagger)
	p.release()
	return out, nil
}

// finish tags a parsed record with tagger and grades it.
func (a *Analyzer) finish(p *parsed, tagger *taxonomy.Tagger) *Analysis {
	// One allocation for the analysis and room for its keywords.
	mem := new(struct {
		Analysis
		keywords [maxKeywords]string
	})
	out := &mem.Analysis
	*out = p.base
	out.Redline, out.Tags, out.Dimensions, out.Signals = []string{}, []Tag{}, []Tag{}, []Signal{}
	tags, extra := tagger.Tag(p.tokens)
	ev := evidenceMaker{segs: p.segs, tokSeg: p.tokSeg}
	for _, h := range tags {
		t := Tag{ID: h.Node.ID, Scene: h.Node.Scene, Path: h.Node.Path, Parents: h.Node.Parents, Rule: h.Rule,
			Sentiment: a.tagSentiment(h.Evidence, p.tokCl, p.clauses, p.sum), Evidence: ev.spans(h.Evidence), Source: "rule"}
		if h.Node.Dimension {
			t.Scene = ""
			out.Dimensions = append(out.Dimensions, t)
		} else {
			out.Tags = append(out.Tags, t)
		}
	}
	lexical := out.Sentiment
	var feats features
	if a.models != nil && len(p.tokens) > 0 { // no customer words: nothing to decide
		feats = a.features(p)
		if feats.all != nil {
			a.decideScenes(out, p, feats, tagger.Taxonomy())
		}
		out.Sentiment = a.modelSentiment(feats.words, lexical)
	}
	slices.SortStableFunc(out.Tags, func(a, b Tag) int { return cmp.Compare(a.Evidence[0].Start, b.Evidence[0].Start) })

	a.grade(out, lexical, extra, &ev, p, feats)
	out.Keywords, p.counts = keywords(p.tokens, p.infos, p.counts[:0], mem.keywords[:])
	return out
}

// Compare analyzes a record with this analyzer and with other. On the
// same segmenter (other built by WithTaxonomy) the record is segmented
// once and tagged twice; on another (WithSegmenter: a trial with the words
// a change adds) each segments it, since new words change the cut.
func (a *Analyzer) Compare(r *Record, other *Analyzer) (cur, next *Analysis, err error) {
	if other.seg != a.seg {
		if cur, err = a.Analyze(r); err != nil {
			return nil, nil, err
		}
		if next, err = other.Analyze(r); err != nil {
			return nil, nil, err
		}
		return cur, next, nil
	}
	p, err := a.parse(r)
	if err != nil {
		return nil, nil, err
	}
	cur, next = a.finish(p, a.tagger), a.finish(p, other.tagger)
	p.release()
	return cur, next, nil
}

// Tokens are a record's normalized tokens with their speakers and
// code-point offsets, as the taxonomy's rules see them.
func (a *Analyzer) Tokens(r *Record) ([]taxonomy.Token, string, error) {
	p, err := a.parse(r)
	if err != nil {
		return nil, "", err
	}
	return p.tokens, p.base.Text, nil
}

// WithTaxonomy is an analyzer that tags against tax and otherwise works as
// a does, sharing its segmenter. Words of tax that the segmenter does not
// know still match, as phrases of the pieces it cuts them into; adding them
// to the dictionary (AddWords) makes the cut agree with the rule. To see
// what tax will do once its words are added, build it on a trial
// segmenter (Segmenter.Trial, WithSegmenter).
func (a *Analyzer) WithTaxonomy(tax *taxonomy.Taxonomy) (*Analyzer, error) {
	lex := a.lex.clone()
	lex.neutralize(tax.TopicTerms())
	b := *a
	b.lex = lex
	b.vocab = wordmap.New(lex.vocab(a.stop))
	tagger, err := tax.Compile(a.tokenize, a.signalSources()...)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	b.tagger = tagger
	return &b, nil
}

// WithSegmenter is an analyzer that works as a does with another
// segmenter (a trial: Segmenter.Trial), its rules compiled with that
// segmenter's cut.
func (a *Analyzer) WithSegmenter(seg *Segmenter) (*Analyzer, error) {
	if seg == a.seg {
		return a, nil
	}
	b := *a
	b.seg = seg
	tagger, err := a.Taxonomy().Compile(b.tokenize, a.signalSources()...)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	b.tagger = tagger
	return &b, nil
}

// CompileRule compiles one rule of the taxonomy's language with the
// analyzer's segmenter, for trying a rule on records (see Tokens).
func (a *Analyzer) CompileRule(rule string) (*taxonomy.Matcher, error) {
	return taxonomy.Compile([]taxonomy.Source{{Name: "rule", Rule: rule, Line: 1}}, a.tokenize)
}

// signalSources are the severity and praise rules, compiled with every
// taxonomy's rules so a record's tokens are looked up once.
func (a *Analyzer) signalSources() []taxonomy.Source {
	out := make([]taxonomy.Source, len(a.signals))
	for i, s := range a.signals {
		out[i] = s.source()
	}
	return out
}

func (a *Analyzer) tokenize(s string) []string { return a.seg.Cut(a.norm.Normalize(s).Text) }

// Opinion reports whether a word says how something was rather than what
// it was about: a clear sentiment cue, a degree adverb or a negator.
// Discovery keeps such words out of the rules it suggests.
func (a *Analyzer) Opinion(w string) bool {
	if a.lex.negators[w] || a.lex.degree[w] != 0 || a.lex.contrast[w] {
		return true
	}
	v, ok := a.lex.weight(w)
	return ok && (v >= 0.5 || v <= -0.5)
}
