package tagging

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/index/store"
)

type doc struct {
	st    *store.Stored
	terms []string
}

// Discovery options.
type DiscoverOptions struct {
	// Target is the records to explain: "untagged" (no touchpoint) or
	// "negative" (negative sentiment); the rest are the background.
	Target   string
	From, To time.Time // on occurred_at; zero: unbounded
	Limit    int       // newest records read (as DryRun)
	MinDocs  int       // a term must be in this many target records
	Clusters int       // at most this many clusters
	Samples  int       // sample records per cluster
}

// Term is a word over-represented in the target records.
type Term struct {
	Term       string  `json:"term"`
	Target     int     `json:"target"`     // target records holding it
	Background int     `json:"background"` // other records holding it
	G2         float64 `json:"g2"`         // Dunning's log-likelihood ratio
	Lift       float64 `json:"lift"`       // its rate in the target over its rate in the rest
	Phrase     bool    `json:"phrase,omitempty"`
}

// Cluster is a group of terms that occur together in target records: a
// candidate touchpoint.
type Cluster struct {
	Terms   []Term   `json:"terms"`
	Records int      `json:"records"` // target records holding the lead term
	Samples []Sample `json:"samples"`
	// Suggested is a starting point for a node: a name, the scene the lead
	// term's tagged records mostly have, and a rule over the terms.
	Suggested struct {
		Name  string `json:"name"`
		Scene string `json:"scene,omitempty"`
		Rule  string `json:"rule"`
		// SceneSupport is how many tagged records with the lead term have
		// the suggested scene (a scene is suggested only from
		// minSceneSupport such records, and at least half of them).
		SceneSupport int `json:"scene_support"`
		// AlreadyTagged is how many records the taxonomy already tags hold
		// the lead term: the rule would also match those.
		AlreadyTagged int `json:"already_tagged"`
	} `json:"suggested"`
}

// Discovery is the answer.
type Discovery struct {
	Target     string    `json:"target"`
	Scanned    int       `json:"scanned"`
	Targets    int       `json:"target_records"`
	Background int       `json:"background_records"`
	Clusters   []Cluster `json:"clusters"`
}

// critical is G² at p = 0.001 with one degree of freedom.
const critical = 10.83

// Discover finds terms significantly more frequent in the target records
// than in the rest (Dunning's log-likelihood on document frequencies of the
// records' keywords, a term the taxonomy already uses left out), groups
// terms that co-occur in the same target records, and suggests a rule for
// each group.
func (m *Manager) Discover(ctx context.Context, opt DiscoverOptions) (*Discovery, error) {
	if opt.Target == "" {
		opt.Target = "untagged"
	}
	if opt.Target != "untagged" && opt.Target != "negative" {
		return nil, &InvalidError{"target", errors.New("target: untagged or negative")}
	}
	if opt.MinDocs <= 0 {
		opt.MinDocs = 5
	}
	if opt.Clusters <= 0 {
		opt.Clusters = 10
	}
	opt.Samples = min(max(opt.Samples, 0), maxSamples)
	if opt.Samples == 0 {
		opt.Samples = 3
	}
	an := m.c.Analyzer()
	tax := an.Taxonomy()
	known := map[string]bool{}
	for _, t := range tax.Terms() {
		known[t] = true
	}
	var (
		mu        sync.Mutex
		targets   []doc
		inTarget  = map[string][]int{} // term → target docs
		inBack    = map[string]int{}
		scenes    = map[string]map[string]int{} // term → scene of background records → count
		backTexts []string                      // for counting phrases in the background
		out       = &Discovery{Target: opt.Target, Clusters: []Cluster{}}
	)
	err := m.each(ctx, opt.Limit, func(st *store.Stored) error {
		a := st.Analysis
		if a == nil {
			return nil
		}
		if !opt.From.IsZero() || !opt.To.IsZero() {
			at, err := time.Parse(time.RFC3339, st.Record.OccurredAt)
			if err != nil || (!opt.From.IsZero() && at.Before(opt.From)) || (!opt.To.IsZero() && !at.Before(opt.To)) {
				return nil
			}
		}
		isTarget := len(a.Tags) == 0
		if opt.Target == "negative" {
			isTarget = a.Sentiment.Label == analyzer.Negative
		}
		mu.Lock()
		defer mu.Unlock()
		out.Scanned++
		if isTarget {
			i := len(targets)
			targets = append(targets, doc{st, a.Keywords})
			for _, k := range a.Keywords {
				inTarget[k] = append(inTarget[k], i)
			}
			return nil
		}
		out.Background++
		if len(backTexts) < maxPhraseBackground {
			backTexts = append(backTexts, st.Text())
		}
		for _, k := range a.Keywords {
			inBack[k]++
			if known[k] || len(a.Tags) == 0 {
				continue
			}
			sc := scenes[k]
			if sc == nil {
				sc = map[string]int{}
				scenes[k] = sc
			}
			sc[a.Tags[0].Scene]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Targets = len(targets)
	if out.Targets == 0 || out.Background == 0 {
		return out, nil
	}
	// Phrases: two adjacent words of a target record, counted like the
	// keywords (the background's by substring, on up to
	// maxPhraseBackground records, scaled when there are more).
	isPhrase := map[string]bool{}
	for phrase, docs := range phrases(an, targets, opt.MinDocs) {
		isPhrase[phrase] = true
		inTarget[phrase] = docs
		n := 0
		for _, t := range backTexts {
			if strings.Contains(t, phrase) {
				n++
			}
		}
		if len(backTexts) < out.Background {
			n = int(float64(n) * float64(out.Background) / float64(len(backTexts)))
		}
		inBack[phrase] = n
	}
	var cands []Term
	for term, docs := range inTarget {
		a := len(docs)
		if a < opt.MinDocs || known[term] || !topical(an, term) {
			continue
		}
		b := inBack[term]
		g2 := logLikelihood(a, out.Targets, b, out.Background)
		rateT, rateB := float64(a)/float64(out.Targets), (float64(b)+0.5)/float64(out.Background)
		if rateT <= rateB || g2 < critical {
			continue
		}
		cands = append(cands, Term{Term: term, Target: a, Background: b, G2: round(g2, 1), Lift: round(rateT/rateB, 2), Phrase: isPhrase[term]})
	}
	slices.SortFunc(cands, func(x, y Term) int {
		if x.G2 != y.G2 {
			if x.G2 > y.G2 {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Term, y.Term)
	})
	used := map[string]bool{}
	for i, lead := range cands {
		if len(out.Clusters) == opt.Clusters {
			break
		}
		if used[lead.Term] {
			continue
		}
		used[lead.Term] = true
		c := Cluster{Terms: []Term{lead}, Records: lead.Target}
		leadDocs := inTarget[lead.Term]
		for _, other := range cands[i+1:] {
			if used[other.Term] || len(c.Terms) == 5 {
				continue
			}
			both := overlap(leadDocs, inTarget[other.Term])
			// Terms that mostly appear together describe one thing.
			if both >= 3 && float64(both) >= 0.5*float64(min(len(leadDocs), len(inTarget[other.Term]))) {
				used[other.Term] = true
				c.Terms = append(c.Terms, other)
			}
		}
		// The rule names what the records are about: opinion words
		// (还行, 有点, 很满意) say how, and would match everywhere.
		var topic []Term
		for _, t := range c.Terms {
			if !an.Opinion(t.Term) {
				topic = append(topic, t)
			}
		}
		if len(topic) == 0 {
			topic = c.Terms[:1]
		}
		c.Suggested.Name = topic[0].Term
		best, all := 0, 0
		for sc, n := range scenes[topic[0].Term] {
			all += n
			if n > best || n == best && sc < c.Suggested.Scene {
				c.Suggested.Scene, best = sc, n
			}
		}
		if best < minSceneSupport || 2*best < all {
			c.Suggested.Scene = "" // too little to go on: the analyst chooses
		}
		c.Suggested.SceneSupport = best
		c.Suggested.AlreadyTagged = inBack[topic[0].Term]
		c.Suggested.Rule = suggestRule(topic)
		c.Samples = []Sample{}
		for _, d := range leadDocs {
			if len(c.Samples) == opt.Samples {
				break
			}
			c.Samples = append(c.Samples, sample(targets[d].st, evidenceOf(targets[d].st, lead.Term), targets[d].st.Analysis))
		}
		out.Clusters = append(out.Clusters, c)
	}
	return out, nil
}

// minSceneSupport is how many tagged records a lead term needs in one scene
// before discovery suggests that scene.
const minSceneSupport = 3

// notTopics are words that say nothing about what a record is about: the
// parties and the process (业主, 物业, 反映, 投诉), fillers (特别, 问题,
// 情况), and the politeness of letters and hotline scripts (麻烦尽快处理,
// 为您服务). Discovery never leads with them; opinion words are left out
// through the lexicon.
var notTopics = map[string]bool{
	"特别": true, "服务": true, "业主": true, "反映": true, "物业": true, "小区": true, "问题": true, "情况": true,
	"希望": true, "我们": true, "你们": true, "他们": true, "这个": true, "那个": true, "现在": true, "已经": true,
	"一直": true, "还是": true, "没有": true, "不是": true, "就是": true, "可以": true, "处理": true, "解决": true,
	"投诉": true, "回复": true, "通知": true, "热线": true, "电话": true, "工作人员": true, "相关": true, "部门": true,
	"尽快": true, "麻烦": true, "麻烦尽快处理": true, "尽快处理": true, "为您服务": true, "很高兴为您服务": true,
	"请问": true, "您好": true, "谢谢": true, "感谢": true, "客服": true, "师傅": true, "时候": true, "时间": true,
	"天天": true, "每天": true, "经常": true, "总是": true, "影响": true, "严重": true, "非常": true, "一下": true,
}

// topical says whether a term may lead a discovered cluster.
func topical(an *analyzer.Analyzer, term string) bool {
	if notTopics[term] || learn.Polite[term] || an.Opinion(term) {
		return false
	}
	for w := range notTopics { // a phrase made only of such words
		if strings.HasPrefix(term, w) && (notTopics[term[len(w):]] || an.Opinion(term[len(w):])) {
			return false
		}
	}
	return true
}

// maxPhraseBackground bounds the background texts kept to count phrases
// in; maxPhraseTargets the target records cut into words for phrases.
const (
	maxPhraseBackground = 200_000
	maxPhraseTargets    = 5_000
)

// phrases finds pairs of adjacent words (two runes or more each, not both
// opinion words) in at least minDocs target records, with those records.
func phrases(an *analyzer.Analyzer, targets []doc, minDocs int) map[string][]int {
	docs := map[string][]int{}
	for i, d := range targets[:min(len(targets), maxPhraseTargets)] {
		tokens, _, err := an.Tokens(&d.st.Record)
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for j := 1; j < len(tokens); j++ {
			a, b := tokens[j-1], tokens[j]
			if a.End != b.Start || utf8.RuneCountInString(a.Text) < 2 || utf8.RuneCountInString(b.Text) < 2 ||
				isASCII(a.Text) || isASCII(b.Text) || an.Opinion(a.Text) && an.Opinion(b.Text) ||
				notTopics[a.Text] || notTopics[b.Text] {
				continue
			}
			p := a.Text + b.Text
			if !seen[p] {
				seen[p] = true
				docs[p] = append(docs[p], i)
			}
		}
	}
	for p, ds := range docs {
		if len(ds) < minDocs {
			delete(docs, p)
		}
	}
	return docs
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// suggestRule ORs the terms: a starting point the analyst narrows (with
// NEAR, NOT) after a dry run.
func suggestRule(terms []Term) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = t.Term
		if t.Phrase || strings.ContainsAny(t.Term, " ()|&!\",（）｜，") {
			parts[i] = `"` + strings.ReplaceAll(t.Term, `"`, "") + `"`
		}
	}
	return strings.Join(parts, " | ")
}

// evidenceOf finds the first occurrence of term in a record's text.
func evidenceOf(st *store.Stored, term string) []analyzer.Evidence {
	text := st.Text()
	i := strings.Index(text, term)
	if i < 0 {
		return nil
	}
	start := len([]rune(text[:i]))
	return []analyzer.Evidence{{Start: start, End: start + len([]rune(term)), Text: term}}
}

// overlap counts the common elements of two ascending lists.
func overlap(a, b []int) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			n++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return n
}

// logLikelihood is Dunning's G² for a term in a of n target documents and
// b of m background documents.
func logLikelihood(a, n, b, m int) float64 {
	k := [4]float64{float64(a), float64(n - a), float64(b), float64(m - b)}
	rows := [2]float64{k[0] + k[1], k[2] + k[3]}
	cols := [2]float64{k[0] + k[2], k[1] + k[3]}
	total := rows[0] + rows[1]
	g := 0.0
	for i := range 2 {
		for j := range 2 {
			o := k[i*2+j]
			if o == 0 {
				continue
			}
			e := rows[i] * cols[j] / total
			g += o * math.Log(o/e)
		}
	}
	return 2 * g
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
