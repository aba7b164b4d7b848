package learn

// NeutralKey is the sentiment model's neutral threshold in its
// Thresholds: a text is neutral when the model gives neutral at least this
// probability, else the likelier of the other classes. A model without it
// decides by the most probable class.
const NeutralKey = "neutral"

// NeutralClass is the index in classes of the label that probs decide at
// neutral threshold th.
func NeutralClass(classes []string, probs []float64, th float64) int {
	best := -1
	for k, c := range classes {
		if c == "neutral" {
			if probs[k] >= th {
				return k
			}
			continue
		}
		if best < 0 || probs[k] > probs[best] {
			best = k
		}
	}
	return best
}
