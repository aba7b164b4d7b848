package analyzer

import (
	"sync"

	"dongting/analyzer/learn"
)

// maxReviewNeutral is the share of reviews (all of them labelled positive
// or negative) the neutral threshold may call neutral, out of fold.
const maxReviewNeutral = 0.01

// maxAccuracyGiven is how much of the labelled messages' out-of-fold
// accuracy the neutral threshold may give up for a better macro-F1.
const maxAccuracyGiven = 0.005

// neutralThreshold chooses the sentiment model's neutral threshold
// (learn.NeutralKey) out of fold: fold j's texts are scored by a softmax
// trained on the others, and the threshold is the one that decides the
// labelled messages best (macro-F1 among the thresholds within
// maxAccuracyGiven of the best accuracy) while calling at most
// maxReviewNeutral of the reviews neutral. The labelled messages are few
// against the reviews, so the softmax's neutral probability is small even
// where a person would say neutral; a threshold below one half corrects
// for that, and only the training texts choose it. message says which
// examples are labelled messages (the rest are reviews).
func neutralThreshold(ex []learn.Example, message []bool, opt learn.TrainOptions) NeutralChoice {
	oof := make([][]float64, len(ex))
	var wg sync.WaitGroup
	for j := range TrainFolds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tr []learn.Example
			for i, e := range ex {
				if i%TrainFolds != j {
					tr = append(tr, e)
				}
			}
			m := learn.Train(learn.Sentiments, true, tr, opt)
			for i, e := range ex {
				if i%TrainFolds == j {
					oof[i] = m.Probabilities(e.Features)
				}
			}
		}()
	}
	wg.Wait()
	reviews := 0
	for _, ok := range message {
		if !ok {
			reviews++
		}
	}
	messages := len(ex) - reviews
	// At a threshold: the labelled messages decided right, their macro-F1
	// over the classes they hold, and the reviews called neutral.
	count := func(th float64) (right int, macro float64, neutral int) {
		k := len(learn.Sentiments)
		tp, fp, fn := make([]int, k), make([]int, k), make([]int, k)
		for i, e := range ex {
			c := learn.NeutralClass(learn.Sentiments, oof[i], th)
			if !message[i] {
				if learn.Sentiments[c] == Neutral {
					neutral++
				}
				continue
			}
			if c == e.Class {
				right++
				tp[c]++
			} else {
				fp[c]++
				fn[e.Class]++
			}
		}
		held := 0
		for c := range k {
			if tp[c]+fn[c] == 0 {
				continue // a class no message has
			}
			held++
			macro += 2 * float64(tp[c]) / float64(2*tp[c]+fp[c]+fn[c])
		}
		return right, macro / float64(max(held, 1)), neutral
	}
	// The most accurate threshold first; then, among those within
	// maxAccuracyGiven of it, the one with the best macro-F1: the
	// messages are mostly complaints, and accuracy alone would buy a
	// complaint or two with every neutral question it calls negative.
	var ths []float64
	topRight := -1
	for t := 5; t <= 100; t++ {
		th := float64(t) / 100
		right, _, neutral := count(th)
		if float64(neutral) > maxReviewNeutral*float64(reviews) {
			continue
		}
		ths = append(ths, th)
		topRight = max(topRight, right)
	}
	best, bestMacro := 1.0, -1.0
	for _, th := range ths {
		right, macro, _ := count(th)
		if float64(topRight-right) > maxAccuracyGiven*float64(messages) {
			continue
		}
		if macro > bestMacro+1e-9 {
			best, bestMacro = th, macro
		}
	}
	right, macro, neutral := count(best)
	baseRight := 0
	for i, e := range ex {
		if message[i] && argmax(oof[i]) == e.Class {
			baseRight++
		}
	}
	return NeutralChoice{Threshold: best, Accuracy: ratioOf(right, messages), MacroF1: macro, ArgmaxAccuracy: ratioOf(baseRight, messages), ReviewNeutral: ratioOf(neutral, reviews)}
}

// NeutralChoice is the chosen neutral threshold and its out-of-fold
// measures: the labelled messages' accuracy and macro-F1 at it, their
// accuracy with the most probable class, and the share of reviews it calls
// neutral.
type NeutralChoice struct {
	Threshold, Accuracy, MacroF1, ArgmaxAccuracy, ReviewNeutral float64
}

func argmax(p []float64) int {
	best := 0
	for k := range p {
		if p[k] > p[best] {
			best = k
		}
	}
	return best
}

func ratioOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
