package analyzer

import (
	"sync"

	"dongting/analyzer/learn"
)

// maxReviewNeutral is the share of reviews (all of them labelled positive
// or negative) the neutral threshold may call neutral, out of fold.
const maxReviewNeutral = 0.01

// neutralThreshold chooses the sentiment model's neutral threshold
// (learn.NeutralKey) out of fold: fold j's texts are scored by a softmax
// trained on the others, and the threshold is the one that decides the
// labelled messages best (accuracy) while calling at most
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
	count := func(th float64) (right, neutral int) {
		for i, e := range ex {
			k := learn.NeutralClass(learn.Sentiments, oof[i], th)
			if !message[i] {
				if learn.Sentiments[k] == Neutral {
					neutral++
				}
				continue
			}
			if k == e.Class {
				right++
			}
		}
		return right, neutral
	}
	best, bestRight := 1.0, -1
	for t := 5; t <= 100; t++ {
		th := float64(t) / 100
		right, neutral := count(th)
		if float64(neutral) > maxReviewNeutral*float64(reviews) {
			continue
		}
		if right > bestRight {
			best, bestRight = th, right
		}
	}
	right, neutral := count(best)
	baseRight := 0
	for i, e := range ex {
		if message[i] && argmax(oof[i]) == e.Class {
			baseRight++
		}
	}
	return NeutralChoice{Threshold: best, Accuracy: ratioOf(right, messages), ArgmaxAccuracy: ratioOf(baseRight, messages), ReviewNeutral: ratioOf(neutral, reviews)}
}

// NeutralChoice is the chosen neutral threshold and its out-of-fold
// measures: the labelled messages' accuracy at it and with the most
// probable class, and the share of reviews it calls neutral.
type NeutralChoice struct {
	Threshold, Accuracy, ArgmaxAccuracy, ReviewNeutral float64
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
