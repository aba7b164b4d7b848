// Package analyzer turns one verbatim into an analysis: PII masked,
// normalized, segmented, split into turns and clauses, tagged against the
// taxonomy, scored for sentiment per clause, tag and record, and graded for
// severity. It does no network or database I/O.
package analyzer

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"dongting/analyzer/learn"
	"dongting/data"
	"dongting/taxonomy"
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
	vocab   map[string]wordInfo // lex, stop and connectives in one table
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
	a.vocab = a.lex.vocab(a.stop)
	if a.tagger, err = res.Taxonomy.Compile(a.tokenize, a.signalSources()...); err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	return a, nil
}

// Taxonomy is the taxonomy the analyzer tags against.
func (a *Analyzer) Taxonomy() *taxonomy.Taxonomy { return a.tagger.Taxonomy() }

// Segmenter is the shared segmenter the analyzer cuts with.
func (a *Analyzer) Segmenter() *Segmenter { return a.seg }

// Analysis is the result for one record (the `dongting analyze` contract).
type Analysis struct {
	ID         string    `json:"id"`
	Sentiment  Sentiment `json:"sentiment"`
	Severity   string    `json:"severity"`
	Praise     bool      `json:"praise"`
	Redline    []string  `json:"redline"`
	Tags       []Tag     `json:"tags"`
	Dimensions []Tag     `json:"dimensions"`
	Signals    []Signal  `json:"signals"`
	Keywords   []string  `json:"keywords"`
	PII        PIICounts `json:"pii"`
	// Rejected are the scenes a rule found that the scene model did not
	// confirm (their tags were dropped): where rules and model disagree.
	Rejected []Rejected `json:"rejected,omitempty"`
	// Text is the record's text after PII masking (turns joined by
	// newlines for a JSON transcript): what may be stored and indexed.
	Text string `json:"-"`
}

// Rejected is a scene a rule found and the model did not confirm.
type Rejected struct {
	Scene      string   `json:"scene"`
	Confidence float64  `json:"confidence"` // the model's probability, below its confirm threshold
	Tags       []string `json:"tags"`       // the rule tags dropped with it
}

// Tag is a matched taxonomy node (a touchpoint, or a dimension).
type Tag struct {
	ID    string   `json:"id"`
	Scene string   `json:"scene,omitempty"`
	Path  []string `json:"path"`
	// Parents are the ids of the node's ancestors, nearest first: what the
	// record counts under in rollups and searches even after the taxonomy
	// has changed.
	Parents   []string   `json:"parents"`
	Rule      string     `json:"rule"`
	Sentiment Sentiment  `json:"sentiment"`
	Evidence  []Evidence `json:"evidence"`
	// Source says who decided the tag: "rule" (the model does not know its
	// scene, or there is no model), "rule+model" (a rule found it and the
	// model confirmed its scene) or "model" (the model proposed a scene no
	// rule found; Explanation then lists the words that weighed most).
	Source      string   `json:"source"`
	Confidence  *float64 `json:"confidence,omitempty"` // the model's probability for the tag's scene
	Explanation []string `json:"explanation,omitempty"`
}

// Evidence is matched text. Start and End are code-point offsets into the
// record's original text, or into turns[Turn].text for a JSON transcript.
type Evidence struct {
	Turn  *int   `json:"turn,omitempty"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Text  string `json:"text"`
}

// Signal is a severity or praise rule that fired.
type Signal struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Kind     string     `json:"kind"` // redline, severe, praise, sentiment
	Severity string     `json:"severity,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Confidence is the red-line model's probability, for a red line only
	// the model found (id model-redline).
	Confidence *float64 `json:"confidence,omitempty"`
}

// segment is one stretch of original text said by one speaker.
type segment struct {
	text    string // PII-masked original
	turn    int    // index into Record.Turns, or -1
	base    int    // code-point offset of text in the evidence reference
	global  int    // code-point offset in the analyzer's running count
	runes   int
	speaker taxonomy.Speaker
	bytes   []int32 // lazily: byte offset of each code point
}

type clause struct {
	lo, hi   int // word tokens [lo, hi)
	speaker  taxonomy.Speaker
	exclaim  int
	question bool
	contrast bool // starts with 但是/不过…
	sentEnd  bool // closed by 。！？ or a line break
	raw      float64
	cued     bool
}

// Thresholds for severity from sentiment alone.
const (
	severeScore = -0.9 // P2 without a rule: very strongly negative
	praiseScore = 0.85 // 亮点 without a praise word: strongly positive
	maxKeywords = 10
	stt         = 12 // split a clause with no punctuation after this many words
)

var connectives = map[string]bool{"然后": true, "结果": true, "而且": true, "所以": true, "还有": true, "另外": true, "并且": true, "接着": true, "后来": true, "现在": true}

// Analyze analyzes one record. It returns a *FieldError for invalid input.
func (a *Analyzer) Analyze(r *Record) (*Analysis, error) {
	return a.analyzeOnly(r)
}

// Explanation says why a record is or is not tagged with a node: the
// node's rule evaluated part by part on the record's tokens (for a scene,
// each of its touchpoints' rules), the tokens themselves as the rules see
// them (楼道充电 is one word, 楼道/里/充电 three), and what the scene model
// decided.
type Explanation struct {
	*taxonomy.Explanation
	Tokens   []string                `json:"tokens"`
	Children []*taxonomy.Explanation `json:"children,omitempty"` // a scene's touchpoints whose rules matched
	Model    *ModelVote              `json:"model,omitempty"`
}

// ModelVote is the scene model's part in a decision.
type ModelVote struct {
	Scene       string  `json:"scene"`
	Probability float64 `json:"probability"`
	Confirm     float64 `json:"confirm"` // a rule tag of the scene is kept at this probability or above
	Suggest     float64 `json:"suggest"` // the model proposes the scene alone at this or above
	Decision    string  `json:"decision"`
}

// Explain explains the record's tagging with a node (see Explanation).
func (a *Analyzer) Explain(r *Record, nodeID string) (*Explanation, error) {
	p, err := a.parse(r)
	if err != nil {
		return nil, err
	}
	out := a.finish(p, a.tagger)
	tokens := p.tokens
	ex := &Explanation{Tokens: make([]string, len(tokens))}
	for i, t := range tokens {
		ex.Tokens[i] = t.Text
	}
	runes := []rune(out.Text)
	node, ok := a.Taxonomy().Node(nodeID)
	if !ok {
		return nil, fmt.Errorf("analyzer: no node %q", nodeID)
	}
	one, err := a.tagger.Explain(nodeID, tokens)
	switch {
	case errors.Is(err, taxonomy.ErrNoRule):
		// A scene (or a grouping node): tagged through the nodes below it.
		one = &taxonomy.Explanation{Node: nodeID}
		var walk func(n *taxonomy.Node)
		walk = func(n *taxonomy.Node) {
			for _, c := range n.Children {
				if ce, err := a.tagger.Explain(c.ID, tokens); err == nil && ce.Matched {
					fillEvidence(&ce.Steps, runes)
					ex.Children = append(ex.Children, ce)
					one.Matched = true
					one.Tagged = one.Tagged || ce.Tagged
				}
				walk(c)
			}
		}
		walk(node)
		for _, t := range out.Tags {
			one.Tagged = one.Tagged || t.Scene == nodeID && t.Source == "model"
		}
	case err != nil:
		return nil, err
	default:
		fillEvidence(&one.Steps, runes)
	}
	ex.Explanation = one
	ex.Model = a.modelVote(p, out, node)
	p.release()
	return ex, nil
}

func fillEvidence(st *taxonomy.Step, runes []rune) {
	for i := range st.Evidence {
		e := &st.Evidence[i]
		if e.Start >= 0 && e.End <= len(runes) && e.Start < e.End {
			e.Text = string(runes[e.Start:e.End])
		}
	}
	for i := range st.Parts {
		fillEvidence(&st.Parts[i], runes)
	}
}

// modelVote says what the scene model did with the node's scene.
func (a *Analyzer) modelVote(p *parsed, out *Analysis, node *taxonomy.Node) *ModelVote {
	if a.models == nil || node.Scene == "" {
		return nil
	}
	m := a.models.Scenes
	v := &ModelVote{Scene: node.Scene, Confirm: m.Thresholds[learn.ConfirmKey], Suggest: m.Thresholds[learn.SuggestKey]}
	k := m.Class(node.Scene)
	switch {
	case k < 0:
		v.Decision = "rules only: the model does not know this scene"
		return v
	case !a.models.Knows(node.ID):
		v.Decision = "rules only: the node is newer than the model"
	case len(p.tokens) < learn.MinSceneWords:
		v.Decision = fmt.Sprintf("rules only: under %d words", learn.MinSceneWords)
	}
	if f := a.features(p); f.all != nil {
		v.Probability = round3(m.Probabilities(f.all)[k])
	}
	if v.Decision != "" {
		return v
	}
	ruled, tagged := false, false
	for _, r := range out.Rejected {
		ruled = ruled || r.Scene == node.Scene
	}
	for _, t := range out.Tags {
		if t.Scene == node.Scene {
			tagged = true
			ruled = ruled || t.Source != "model"
		}
	}
	switch {
	case ruled && tagged:
		v.Decision = "kept: a rule found the scene and the model confirmed it"
	case ruled:
		v.Decision = "dropped: a rule found the scene, the model's probability is under confirm"
	case tagged:
		v.Decision = "proposed: no rule found the scene, the model's probability reached suggest"
	default:
		v.Decision = "not proposed: no rule found the scene and the model's probability is under suggest"
	}
	return v
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

// parsed is a record cut into segments, tokens and scored clauses: all of
// an analysis that does not depend on the taxonomy.
type parsed struct {
	base    Analysis // ID, Text, PII and Sentiment
	segs    []segment
	tokens  []taxonomy.Token
	infos   []wordInfo // per token
	tokSeg  []int32
	tokCl   []int32
	clauses []clause
	sum     float64
	counts  []wordCount // keywords' scratch
}

// parsedPool keeps parses' slices for the next record: analysis allocates
// per token, and these are most of it.
var parsedPool = sync.Pool{New: func() any { return new(parsed) }}

// maxPooled is the most tokens a parse may hold and still be pooled, so
// one huge record does not keep its buffers alive.
const maxPooled = 4096

// release gives p back to the pool. Nothing may use p afterwards; the
// analysis finish made from it holds none of its slices.
func (p *parsed) release() {
	if cap(p.tokens) > maxPooled {
		return
	}
	parsedPool.Put(p)
}

func (a *Analyzer) parse(r *Record) (*parsed, error) {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	p := parsedPool.Get().(*parsed)
	p.base = Analysis{ID: r.ID}
	out := &p.base
	segs := p.segs[:0]
	if len(r.Turns) > 0 {
		texts := make([]string, len(r.Turns))
		global := 0
		for i, t := range r.Turns {
			masked, c := MaskPII(t.Text)
			addCounts(&out.PII, c)
			texts[i] = masked
			sp := taxonomy.SpeakerCustomer
			if t.Speaker == "agent" {
				sp = taxonomy.SpeakerAgent
			}
			n := utf8.RuneCountInString(masked)
			segs = append(segs, segment{text: masked, turn: i, global: global, runes: n, speaker: sp})
			global += n + 1
		}
		out.Text = strings.Join(texts, "\n")
	} else {
		masked, c := MaskPII(r.Text)
		out.PII = c
		out.Text = masked
		for _, t := range SplitTurns(masked) {
			segs = append(segs, segment{text: masked[t.ByteStart:t.ByteEnd], turn: -1, base: t.Start, global: t.Start, runes: t.End - t.Start, speaker: t.Speaker})
		}
	}

	size := 0
	for _, s := range segs {
		size += len(s.text)
	}
	// Chinese text averages ~6 bytes a word token and ~25 bytes a clause:
	// sizing up front saves the slices' repeated growth.
	tokens := grow(p.tokens[:0], size/6+4)
	infos := grow(p.infos[:0], size/6+4)
	tokSeg := grow(p.tokSeg[:0], size/6+4)
	tokCl := grow(p.tokCl[:0], size/6+4)
	clauses := grow(p.clauses[:0], size/25+2)
	for si := range segs {
		s := &segs[si]
		if s.speaker == taxonomy.SpeakerAgent {
			// The analysis is the customer's: an agent's words (登记工单,
			// 物业服务中心, 周到, 谢谢) never make tags, evidence,
			// sentiment, severity or praise. They stay in the text and
			// the search index.
			continue
		}
		norm := a.norm.Normalize(s.text)
		if norm.Text == "" {
			continue
		}
		cur := clause{lo: len(tokens), speaker: s.speaker}
		closeClause := func(sentEnd bool) {
			cur.hi = len(tokens)
			cur.sentEnd = cur.sentEnd || sentEnd
			if cur.hi > cur.lo {
				clauses = append(clauses, cur)
			} else if len(clauses) > 0 && clauses[len(clauses)-1].speaker == cur.speaker {
				// punctuation after a closed clause still belongs to it
				last := &clauses[len(clauses)-1]
				last.exclaim += cur.exclaim
				last.question = last.question || cur.question
				last.sentEnd = last.sentEnd || sentEnd
			}
			cur = clause{lo: len(tokens), speaker: s.speaker}
		}
		pos, bpos := 0, 0 // rune and byte offsets in norm.Text
		prevASCII := -1   // byte offset of the previous token when it is ASCII letters or digits
		for _, w := range a.seg.Cut(norm.Text) {
			// gojieba returns substrings of its input; should it ever skip
			// text, the gap is counted so offsets stay right.
			if off := substringOffset(norm.Text, w); off > bpos {
				pos += utf8.RuneCountInString(norm.Text[bpos:off])
				bpos = off
			}
			n := utf8.RuneCountInString(w)
			start, end := pos, pos+n
			pos, bpos = end, bpos+len(w)
			if isBreak(w) {
				prevASCII = -1
				for _, r := range w {
					switch r {
					case '!':
						cur.exclaim++
					case '?':
						cur.question = true
					}
				}
				closeClause(strings.ContainsAny(w, ".。!?\n…"))
				continue
			}
			in := a.info(w)
			if in.flags&wContrast != 0 && len(tokens) > cur.lo {
				prevASCII = -1
				closeClause(false)
				cur.contrast = true
			} else if len(tokens)-cur.lo >= stt || (in.flags&wConnective != 0 && len(tokens)-cur.lo >= 4) {
				closeClause(false)
				prevASCII = -1
			} else if len(tokens) == cur.lo && in.flags&wContrast != 0 {
				cur.contrast = true
			}
			// jieba splits long digit runs (110 | 101199003071237); a
			// fragment of a number must not match a rule like =110.
			if ascii := isASCIIWord(w); ascii && prevASCII >= 0 && prevASCII+len(tokens[len(tokens)-1].Text) == bpos-len(w) {
				last := &tokens[len(tokens)-1]
				last.Text = norm.Text[prevASCII:bpos]
				last.End = s.global + norm.Orig(end-1) + 1
				infos[len(infos)-1] = a.info(last.Text)
				continue
			} else if ascii {
				prevASCII = bpos - len(w)
			} else {
				prevASCII = -1
			}
			tokens = append(tokens, taxonomy.Token{
				Text:    w,
				Start:   s.global + norm.Orig(start),
				End:     s.global + norm.Orig(end-1) + 1,
				Speaker: s.speaker,
			})
			infos = append(infos, in)
			tokSeg = append(tokSeg, int32(si))
			tokCl = append(tokCl, int32(len(clauses)))
		}
		closeClause(true)
	}

	scoreClauses(infos, clauses)
	var sum float64
	for _, c := range clauses {
		sum += c.raw
	}
	out.Sentiment = sentimentOf(sum)
	p.segs, p.tokens, p.infos, p.tokSeg, p.tokCl, p.clauses, p.sum = segs, tokens, infos, tokSeg, tokCl, clauses, sum
	return p, nil
}

// grow returns s (empty) with room for n elements.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s
}

// finish tags a parsed record with tagger and grades it.
func (a *Analyzer) finish(p *parsed, tagger *taxonomy.Tagger) *Analysis {
	out := new(Analysis)
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
			a.decideScenes(out, p, feats.all, tagger.Taxonomy())
		}
		out.Sentiment = a.modelSentiment(feats.words, lexical)
	}
	slices.SortStableFunc(out.Tags, func(a, b Tag) int { return cmp.Compare(a.Evidence[0].Start, b.Evidence[0].Start) })

	a.grade(out, lexical, extra, &ev, p, feats)
	out.Keywords, p.counts = keywords(p.tokens, p.infos, p.counts[:0])
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
	b.vocab = lex.vocab(a.stop)
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

// substringOffset is the byte offset of sub within s when sub is a substring
// of s (shares its memory), or -1.
func substringOffset(s, sub string) int {
	if len(sub) == 0 || len(s) == 0 {
		return -1
	}
	d := int(uintptr(unsafe.Pointer(unsafe.StringData(sub))) - uintptr(unsafe.Pointer(unsafe.StringData(s))))
	if d < 0 || d+len(sub) > len(s) {
		return -1
	}
	return d
}

func addCounts(dst *PIICounts, c PIICounts) {
	dst.Mobile += c.Mobile
	dst.Landline += c.Landline
	dst.IDCard += c.IDCard
	dst.BankCard += c.BankCard
	dst.Email += c.Email
}

func isASCIIWord(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return len(w) > 0
}

// isBreak reports a token of punctuation or space, which ends a clause.
// Other symbols (emoji among them) are dropped from matching as well.
func isBreak(w string) bool {
	if w != "" && w[0] >= 0xE4 && w[0] <= 0xE9 { // starts with a CJK ideograph (U+4E00–U+9FFF)
		return false
	}
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// scoreClauses fills raw scores, with contrast: the clause after 但是/不过
// outweighs the clauses before it in the same sentence.
func scoreClauses(infos []wordInfo, clauses []clause) {
	for i := range clauses {
		c := &clauses[i]
		c.raw, c.cued = clauseScore(infos[c.lo:c.hi], c.exclaim, c.question)
	}
	for i := range clauses {
		if !clauses[i].contrast {
			continue
		}
		clauses[i].raw *= contrastAfter
		for j := i - 1; j >= 0 && !clauses[j].sentEnd && clauses[j].speaker == clauses[i].speaker; j-- {
			clauses[j].raw *= contrastPrior
			if clauses[j].contrast {
				break
			}
		}
	}
}

// tagSentiment scores a tag from the customer clauses holding its evidence;
// when they carry no cue, from their sentences; failing that, the record's.
func (a *Analyzer) tagSentiment(spans []taxonomy.Span, tokCl []int32, clauses []clause, recordSum float64) Sentiment {
	var seen []int32 // clauses already counted; a tag has few
	sum, cued := 0.0, false
	for _, sp := range spans {
		c := tokCl[sp.First]
		if slices.Contains(seen, c) || int(c) >= len(clauses) || clauses[c].speaker != taxonomy.SpeakerCustomer {
			continue
		}
		seen = append(seen, c)
		sum += clauses[c].raw
		cued = cued || clauses[c].cued
	}
	if cued {
		return sentimentOf(sum)
	}
	sum = 0
	for _, c := range seen {
		lo, hi := int(c), int(c)
		for lo > 0 && !clauses[lo-1].sentEnd && clauses[lo-1].speaker == clauses[c].speaker {
			lo--
		}
		for hi < len(clauses)-1 && !clauses[hi].sentEnd && clauses[hi+1].speaker == clauses[c].speaker {
			hi++
		}
		for k := lo; k <= hi; k++ {
			sum += clauses[k].raw
			cued = cued || clauses[k].cued
		}
	}
	if cued {
		return sentimentOf(sum)
	}
	return sentimentOf(recordSum)
}

// grade sets severity, red lines and praise from the signal rules that fired
// and the record's sentiment.
// grade sets severity, red lines and praise from the signal rules' hits,
// the record's sentiment label and its lexical strength (the lexicon's
// score: how strongly it is put, which the label alone does not say).
func (a *Analyzer) grade(out *Analysis, lexical Sentiment, hits []taxonomy.Hit, ev *evidenceMaker, p *parsed, feats features) {
	out.Severity = SeverityNone
	if out.Sentiment.Label == Negative {
		out.Severity = P3
	}
	// The red-line model's probability, on texts long enough for it (-1:
	// none; rules decide).
	redP, red := -1.0, (*learn.Linear)(nil)
	if feats.all != nil && a.models.Redline != nil {
		red = a.models.Redline
		redP = red.Probabilities(feats.all)[0]
	}
	praised := false
	for _, h := range hits {
		r := a.signals[h.Rule]
		kind, sev := r.kind, r.Severity
		if len(r.Unless) > 0 && allQualified(p, h.Evidence, r.Unless) {
			kind, sev = "severe", r.Else
		}
		if kind == "redline" && red != nil && redP < red.Thresholds[learn.ConfirmKey] {
			kind, sev = "severe", P2 // the red-line model does not confirm it
		}
		sig := Signal{ID: r.ID, Name: r.Name, Kind: kind, Severity: sev, Evidence: ev.spans(h.Evidence)}
		switch kind {
		case "redline":
			out.Redline = append(out.Redline, r.ID)
			out.Severity = P1
		case "severe":
			if out.Sentiment.Label != Negative {
				continue // 第二次来 with nothing wrong is not a repeat complaint
			}
			if sev == P2 && out.Severity != P1 {
				out.Severity = P2
			}
		case "praise":
			if out.Sentiment.Label != Positive {
				continue // 谢谢 in a complaint is politeness, not praise
			}
			praised = true
		}
		out.Signals = append(out.Signals, sig)
	}
	if red != nil && redP >= red.Thresholds[learn.SuggestKey] && len(out.Redline) == 0 {
		c := round3(redP)
		sig := Signal{ID: "model-redline", Name: "红线（模型）", Kind: "redline", Severity: P1, Confidence: &c}
		for _, i := range topWords(red, 0, p.tokens, 3) {
			sig.Evidence = append(sig.Evidence, ev.spans([]taxonomy.Span{{Start: p.tokens[i].Start, End: p.tokens[i].End, First: i, Last: i}})...)
		}
		out.Redline = append(out.Redline, sig.ID)
		out.Severity = P1
		out.Signals = append(out.Signals, sig)
	}
	if lexical.Score <= severeScore && out.Severity == P3 {
		out.Severity = P2
		out.Signals = append(out.Signals, Signal{ID: "strong-negative", Name: "强烈不满", Kind: "sentiment", Severity: P2})
	}
	if !praised && out.Sentiment.Label == Positive && lexical.Score >= praiseScore {
		praised = true
		out.Signals = append(out.Signals, Signal{ID: "strong-positive", Name: "强烈满意", Kind: "sentiment"})
	}
	out.Praise = praised
}

type wordCount struct {
	w string
	n int
}

// keywords are the most frequent content words (two runes or more, not
// stopwords), most frequent first.
func keywords(tokens []taxonomy.Token, infos []wordInfo, counts []wordCount) ([]string, []wordCount) {
	// Records are short: a linear scan beats a map per record.
	index := map[string]int(nil)
	for i, t := range tokens {
		if infos[i].flags&wStop != 0 || len(t.Text) < 4 || utf8.RuneCountInString(t.Text) < 2 || isASCIIWord(t.Text) && strings.Trim(t.Text, "0123456789") == "" {
			continue
		}
		found := -1
		if index != nil {
			if i, ok := index[t.Text]; ok {
				found = i
			}
		} else {
			for i := range counts {
				if counts[i].w == t.Text {
					found = i
					break
				}
			}
		}
		if found >= 0 {
			counts[found].n++
			continue
		}
		counts = append(counts, wordCount{t.Text, 1})
		if len(counts) == 64 { // long text: switch to a map
			index = make(map[string]int, 256)
			for i, c := range counts {
				index[c.w] = i
			}
		} else if index != nil {
			index[t.Text] = len(counts) - 1
		}
	}
	slices.SortStableFunc(counts, func(a, b wordCount) int { return cmp.Compare(b.n, a.n) })
	out := make([]string, 0, min(len(counts), maxKeywords))
	for _, c := range counts[:min(len(counts), maxKeywords)] {
		out = append(out, c.w)
	}
	return out, counts
}

// evidenceMaker turns matcher spans (analyzer-global code points) into
// evidence with offsets into the original text or turn.
type evidenceMaker struct {
	segs   []segment
	tokSeg []int32
}

// MaxEvidence is the most evidence spans one tag or signal carries (the
// first ones in the text): a long record that says 漏水 a thousand times
// needs a few to show, not a thousand.
const MaxEvidence = 16

func (e *evidenceMaker) spans(spans []taxonomy.Span) []Evidence {
	spans = spans[:min(len(spans), MaxEvidence)]
	out := make([]Evidence, 0, len(spans))
	for _, sp := range spans {
		s := &e.segs[e.tokSeg[sp.First]]
		start, end := sp.Start-s.global, sp.End-s.global
		ev := Evidence{Start: s.base + start, End: s.base + end, Text: s.slice(start, end)}
		if s.turn >= 0 {
			t := s.turn
			ev.Turn = &t
		}
		out = append(out, ev)
	}
	return out
}

// slice returns code points [start, end) of the segment's text.
func (s *segment) slice(start, end int) string {
	if s.bytes == nil {
		s.bytes = make([]int32, 0, s.runes+1)
		for i := range s.text {
			s.bytes = append(s.bytes, int32(i))
		}
		s.bytes = append(s.bytes, int32(len(s.text)))
	}
	start = max(0, min(start, len(s.bytes)-1))
	end = max(start, min(end, len(s.bytes)-1))
	return s.text[s.bytes[start]:s.bytes[end]]
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

// allQualified says whether every matched span sits in a sentence that also
// holds one of the qualifying words (see SignalRule.Unless): then the
// match as a whole is qualified. One plain mention ("电梯困人了") among
// hedged ones keeps the red line.
func allQualified(p *parsed, spans []taxonomy.Span, words []string) bool {
	for _, sp := range spans {
		if !sentenceHas(p, sp.First, words) {
			return false
		}
	}
	return len(spans) > 0
}

// sentenceHas says whether the sentence of token i holds one of words.
func sentenceHas(p *parsed, i int, words []string) bool {
	if i < 0 || i >= len(p.tokCl) {
		return false
	}
	c := int(p.tokCl[i])
	if c >= len(p.clauses) {
		return false
	}
	lo, hi := c, c
	for lo > 0 && !p.clauses[lo-1].sentEnd {
		lo--
	}
	for hi < len(p.clauses)-1 && !p.clauses[hi].sentEnd {
		hi++
	}
	for k := p.clauses[lo].lo; k < p.clauses[hi].hi && k < len(p.tokens); k++ {
		t := p.tokens[k].Text
		for _, w := range words {
			if t == w || (utf8.RuneCountInString(w) > 1 && strings.Contains(t, w)) {
				return true
			}
		}
	}
	return false
}
