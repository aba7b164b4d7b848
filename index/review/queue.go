package review

import (
	"cmp"
	"context"
	"math"
	"slices"

	"dongting/analyzer"
	"dongting/index/store"
)

// Why a record is listed for review.
const (
	// ModelDisagrees: the model dropped a scene a rule found (the analysis
	// has Rejected scenes), or proposed one no rule found (a tag whose
	// source is "model").
	ModelDisagrees = "model_disagrees"
	// LowConfidence: a tag's model confidence is within [LowMin, LowMax],
	// or the sentiment is negative or positive with a score within
	// ±SentimentMargin of 0.
	LowConfidence = "low_confidence"
)

// ReasonParam is the reason a client names disagree or low_confidence
// ("" for either).
func ReasonParam(v string) (string, bool) {
	switch v {
	case "":
		return "", true
	case "disagree":
		return ModelDisagrees, true
	case "low_confidence":
		return LowConfidence, true
	}
	return "", false
}

// Bounds of the low-confidence reason.
const (
	LowMin          = 0.35
	LowMax          = 0.65
	SentimentMargin = 0.2
)

// MaxExamined bounds the stored records one call of Queue reads, so that a
// call costs the same on any corpus: on 1M records the queue is the doubt
// among the newest 5,000, and Next pages further back.
const MaxExamined = 5000

// MaxItems bounds the records one call lists.
const MaxItems = 200

// scanPage is how many records one read transaction of the scan holds.
const scanPage = 500

// QueueOptions select what Queue lists.
type QueueOptions struct {
	Limit   int    // records to list (0: 20; at most MaxItems)
	Reason  string // ModelDisagrees, LowConfidence, or "" for either
	Before  uint64 // list records stored before this sequence number (0: from the newest)
	Examine int    // records to read at most (0 or over MaxExamined: MaxExamined)
	// Allow, if set, says which orgs the caller may see; the others are
	// read (and counted as examined) but not listed.
	Allow func(org string) bool
}

// Item is one record for review.
type Item struct {
	ID        string             `json:"id"`
	Seq       uint64             `json:"seq"`
	Kind      string             `json:"kind"`
	Org       string             `json:"org,omitempty"`
	Text      string             `json:"text"`
	Analysis  *analyzer.Analysis `json:"analysis"`
	Reasons   []string           `json:"reasons"`
	Suggested Suggestion         `json:"suggested"`
}

// Suggestion is the analysis in the label's terms, to start a label from.
type Suggestion struct {
	// Scenes are the scenes the analysis decided (Kept), most confident
	// first, then the scenes a rule found that the model dropped.
	Scenes    []SceneSuggestion `json:"scenes"`
	Redline   bool              `json:"redline"`
	Severity  string            `json:"severity"`
	Sentiment string            `json:"sentiment"`
	Praise    bool              `json:"praise"`
}

// SceneSuggestion is one candidate scene.
type SceneSuggestion struct {
	Scene      string   `json:"scene"`
	Confidence *float64 `json:"confidence"` // the model's probability; null when the model does not know the scene
	Source     string   `json:"source"`     // rule (a rule found it) or model (only the model did)
	Kept       bool     `json:"kept"`       // false: a rule found it and the model dropped it
}

// Queue is one page of the review queue.
type Queue struct {
	Items    []Item `json:"items"`
	Examined int    `json:"examined"`
	// Next, when not 0, is the Before of the next page: the scan stopped
	// there (limit or bound reached) and older records remain.
	Next uint64 `json:"next,omitempty"`
}

// Queue lists stored records whose analysis is in doubt and that nobody
// has labelled, newest first, reading at most opt.Examine records.
func (r *Review) Queue(ctx context.Context, opt QueueOptions) (*Queue, error) {
	if opt.Limit <= 0 {
		opt.Limit = 20
	}
	opt.Limit = min(opt.Limit, MaxItems)
	if opt.Examine <= 0 || opt.Examine > MaxExamined {
		opt.Examine = MaxExamined
	}
	out := &Queue{Items: []Item{}}
	before := opt.Before
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var page []*store.Stored
		low, err := r.c.Newest(before, min(scanPage, opt.Examine-out.Examined), func(st *store.Stored) error {
			page = append(page, st)
			return nil
		})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(page))
		for i, st := range page {
			ids[i] = st.Record.ID
		}
		done, err := r.labelled(ids)
		if err != nil {
			return nil, err
		}
		cut := false // the page was left before its end
		for i, st := range page {
			out.Examined++
			before = st.Seq
			if done[st.Record.ID] || st.Analysis == nil || opt.Allow != nil && !opt.Allow(st.Record.Org) {
				continue
			}
			reasons := Reasons(st.Analysis)
			if len(reasons) == 0 || opt.Reason != "" && !slices.Contains(reasons, opt.Reason) {
				continue
			}
			out.Items = append(out.Items, Item{ID: st.Record.ID, Seq: st.Seq, Kind: st.Record.Kind, Org: st.Record.Org, Text: st.Text(),
				Analysis: st.Analysis, Reasons: reasons, Suggested: Suggest(st.Analysis)})
			if len(out.Items) == opt.Limit {
				cut = i < len(page)-1
				break
			}
		}
		if low == 0 && !cut {
			return out, nil // the oldest record was read
		}
		if len(out.Items) == opt.Limit || out.Examined >= opt.Examine {
			out.Next = before
			return out, nil
		}
	}
}

// Reasons are why an analysis is in doubt (none: it is not).
func Reasons(a *analyzer.Analysis) []string {
	var out []string
	disagree := len(a.Rejected) > 0
	low := a.Sentiment.Label != analyzer.Neutral && math.Abs(a.Sentiment.Score) < SentimentMargin
	for _, t := range a.Tags {
		disagree = disagree || t.Source == "model"
		low = low || t.Confidence != nil && *t.Confidence >= LowMin && *t.Confidence <= LowMax
	}
	if disagree {
		out = append(out, ModelDisagrees)
	}
	if low {
		out = append(out, LowConfidence)
	}
	return out
}

// Suggest is an analysis in the label's terms.
func Suggest(a *analyzer.Analysis) Suggestion {
	p := a.Prediction()
	s := Suggestion{Scenes: []SceneSuggestion{}, Redline: p.Redline, Severity: p.Severity, Sentiment: p.Sentiment, Praise: p.Praise}
	for _, t := range a.Tags {
		if slices.ContainsFunc(s.Scenes, func(x SceneSuggestion) bool { return x.Scene == t.Scene }) {
			continue
		}
		src := "rule"
		if t.Source == "model" {
			src = "model"
		}
		s.Scenes = append(s.Scenes, SceneSuggestion{Scene: t.Scene, Confidence: t.Confidence, Source: src, Kept: true})
	}
	slices.SortStableFunc(s.Scenes, func(a, b SceneSuggestion) int { return cmp.Compare(conf(b), conf(a)) })
	for _, rj := range a.Rejected {
		c := rj.Confidence
		s.Scenes = append(s.Scenes, SceneSuggestion{Scene: rj.Scene, Confidence: &c, Source: "rule"})
	}
	return s
}

// conf orders suggestions: a scene the model does not know (rules alone
// decide it) after the ones it backs.
func conf(s SceneSuggestion) float64 {
	if s.Confidence == nil {
		return -1
	}
	return *s.Confidence
}
