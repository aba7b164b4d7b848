package learn

import (
	"fmt"
	"io"
	"slices"
)

// Prediction is what the analyzer said of one message, in the label's terms.
type Prediction struct {
	Scenes    []string
	Redline   bool
	Severity  string
	Sentiment string
	Praise    bool
}

// PRF is precision, recall and F1 from counts.
type PRF struct {
	TP, FP, FN int
}

// Add counts one decision: whether the label holds (gold) and whether it
// was predicted.
func (c *PRF) Add(gold, predicted bool) {
	switch {
	case gold && predicted:
		c.TP++
	case predicted:
		c.FP++
	case gold:
		c.FN++
	}
}

func (c PRF) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }
func (c PRF) Recall() float64    { return ratio(c.TP, c.TP+c.FN) }
func (c PRF) Support() int       { return c.TP + c.FN }

func (c PRF) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Report compares predictions with labels on every measure the product
// promises (README, evaluation).
type Report struct {
	N                 int
	Scenes            []string
	PerScene          map[string]PRF
	Micro             PRF
	GoldScenes        int // scenes labelled, summed over messages
	PredScenes        int
	GoldUntagged      int // messages labelled with no scene
	PredUntagged      int
	Redline           PRF
	GoldNegatives     int // messages not labelled a red line
	Severity          map[[2]string]int
	Sentiment         map[[2]string]int
	Praise            PRF
	Complaints        int // messages labelled negative
	PraisedComplaints int
}

// Evaluate compares pred[i] with gold[i].
func Evaluate(scenes []string, gold []Label, pred []Prediction) *Report {
	r := &Report{N: len(gold), Scenes: scenes, PerScene: map[string]PRF{}, Severity: map[[2]string]int{}, Sentiment: map[[2]string]int{}}
	for i, g := range gold {
		p := pred[i]
		r.GoldScenes += len(g.Scenes)
		r.PredScenes += len(p.Scenes)
		if len(g.Scenes) == 0 {
			r.GoldUntagged++
		}
		if len(p.Scenes) == 0 {
			r.PredUntagged++
		}
		for _, s := range scenes {
			c := r.PerScene[s]
			c.Add(slices.Contains(g.Scenes, s), slices.Contains(p.Scenes, s))
			r.PerScene[s] = c
		}
		r.Redline.Add(g.Redline, p.Redline)
		if !g.Redline {
			r.GoldNegatives++
		}
		r.Severity[[2]string{g.Severity, p.Severity}]++
		r.Sentiment[[2]string{g.Sentiment, p.Sentiment}]++
		r.Praise.Add(g.Praise, p.Praise)
		if g.Sentiment == "negative" {
			r.Complaints++
			if p.Praise {
				r.PraisedComplaints++
			}
		}
	}
	for _, s := range scenes {
		c := r.PerScene[s]
		r.Micro.TP, r.Micro.FP, r.Micro.FN = r.Micro.TP+c.TP, r.Micro.FP+c.FP, r.Micro.FN+c.FN
	}
	return r
}

// MacroF1 averages F1 over the scenes that occur in the labels.
func (r *Report) MacroF1() float64 {
	sum, k := 0.0, 0
	for _, s := range r.Scenes {
		if c := r.PerScene[s]; c.Support() > 0 {
			sum += c.F1()
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return sum / float64(k)
}

// MacroPR averages precision and recall over the scenes in the labels.
func (r *Report) MacroPR() (p, rec float64) {
	k := 0
	for _, s := range r.Scenes {
		if c := r.PerScene[s]; c.Support() > 0 {
			p += c.Precision()
			rec += c.Recall()
			k++
		}
	}
	if k == 0 {
		return 0, 0
	}
	return p / float64(k), rec / float64(k)
}

// ScenesPerMessage is the mean number of scenes labelled and predicted on
// the messages labelled with at least one (the measure the ±20 % target is
// about: untagged messages are counted on their own).
func (r *Report) ScenesPerMessage() (gold, pred float64) {
	n := r.N - r.GoldUntagged
	if n == 0 {
		return 0, 0
	}
	return float64(r.GoldScenes) / float64(n), float64(r.PredScenes) / float64(r.N-r.PredUntagged)
}

// FalseAlarmRate is the share of messages that are not red lines which
// were graded one (false positives over actual negatives).
func (r *Report) FalseAlarmRate() float64 { return ratio(r.Redline.FP, r.GoldNegatives) }

// SentimentAccuracy is the share of messages whose sentiment label was
// predicted; ComplaintAccuracy the same over messages labelled negative.
func (r *Report) SentimentAccuracy() float64 {
	ok := 0
	for k, v := range r.Sentiment {
		if k[0] == k[1] {
			ok += v
		}
	}
	return ratio(ok, r.N)
}

func (r *Report) ComplaintAccuracy() float64 {
	return ratio(r.Sentiment[[2]string{"negative", "negative"}], r.Complaints)
}

// SentimentMacroF1 averages F1 over the sentiment classes in the labels.
func (r *Report) SentimentMacroF1() float64 {
	sum, k := 0.0, 0
	for _, cl := range Sentiments {
		var c PRF
		for key, v := range r.Sentiment {
			switch {
			case key[0] == cl && key[1] == cl:
				c.TP += v
			case key[1] == cl:
				c.FP += v
			case key[0] == cl:
				c.FN += v
			}
		}
		if c.Support() > 0 {
			sum += c.F1()
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return sum / float64(k)
}

// Write prints the report as the README's evaluation tables show it.
func (r *Report) Write(w io.Writer, name string) {
	gold, pred := r.ScenesPerMessage()
	mp, mr := r.MacroPR()
	fmt.Fprintf(w, "%s: %d messages\n", name, r.N)
	fmt.Fprintf(w, "  scenes       micro P/R/F1 %.3f / %.3f / %.3f   macro P/R/F1 %.3f / %.3f / %.3f\n",
		r.Micro.Precision(), r.Micro.Recall(), r.Micro.F1(), mp, mr, r.MacroF1())
	fmt.Fprintf(w, "  per message  %.2f scenes predicted, %.2f labelled (on tagged messages); untagged %.1f%% predicted, %.1f%% labelled\n",
		pred, gold, 100*ratio(r.PredUntagged, r.N), 100*ratio(r.GoldUntagged, r.N))
	fmt.Fprintf(w, "  red line     recall %.3f (%d of %d)  false alarms %.1f%% of non-red-line messages (%d), precision %.3f\n",
		r.Redline.Recall(), r.Redline.TP, r.Redline.Support(), 100*r.FalseAlarmRate(), r.Redline.FP, r.Redline.Precision())
	fmt.Fprintf(w, "  sentiment    accuracy %.3f  macro-F1 %.3f  on complaints %.3f (%d)\n",
		r.SentimentAccuracy(), r.SentimentMacroF1(), r.ComplaintAccuracy(), r.Complaints)
	fmt.Fprintf(w, "  praise       precision %.3f  recall %.3f  on complaints %.1f%% (%d of %d)\n",
		r.Praise.Precision(), r.Praise.Recall(), 100*ratio(r.PraisedComplaints, r.Complaints), r.PraisedComplaints, r.Complaints)
	fmt.Fprintf(w, "  severity     (rows labelled, columns predicted)\n  %8s", "")
	for _, s := range Severities {
		fmt.Fprintf(w, " %6s", s)
	}
	fmt.Fprintln(w)
	for _, g := range Severities {
		fmt.Fprintf(w, "  %8s", g)
		for _, p := range Severities {
			fmt.Fprintf(w, " %6d", r.Severity[[2]string{g, p}])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  %-14s %9s %7s %7s %8s\n", "scene", "precision", "recall", "F1", "support")
	for _, s := range r.Scenes {
		c := r.PerScene[s]
		if c.Support() == 0 && c.FP == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-14s %9.3f %7.3f %7.3f %8d\n", s, c.Precision(), c.Recall(), c.F1(), c.Support())
	}
	fmt.Fprintln(w)
}
