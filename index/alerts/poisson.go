package alerts

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// poissonTail is P(X ≥ k) for X ~ Poisson(lambda): the regularized lower
// incomplete gamma function P(k, λ). Summing the mass from exp(-λ) instead
// underflows to 0 above λ ≈ 745, and the tail then reads 1 for every k.
// gonum's implementation (Cephes) switches to an asymptotic series for
// large k and λ and bounds each of its loops.
func poissonTail(k uint64, lambda float64) float64 {
	if k == 0 {
		return 1
	}
	if !(lambda > 0) { // 0, negative or NaN: no mass above 0
		return 0
	}
	if math.IsInf(lambda, 1) {
		return 1
	}
	p := mathext.GammaIncReg(float64(k), lambda)
	if math.IsNaN(p) {
		return 0
	}
	return min(max(p, 0), 1)
}

// spikeThreshold is the smallest count n ≥ minCount (at least 1) with
// P(X ≥ n | lambda) < p: the day's count from which a spike is raised. It
// searches by doubling and then bisecting, so it costs at most ~130 tail
// evaluations for any lambda; it runs inside the write transaction.
func spikeThreshold(lambda, p float64, minCount int) uint64 {
	lo := uint64(max(minCount, 1))
	if poissonTail(lo, lambda) < p {
		return lo
	}
	// tail(lo) ≥ p. Find hi with tail(hi) < p; the tail is below any p > 0
	// a few standard deviations above lambda, and 0 once it underflows.
	hi := max(lo+1, uint64(min(lambda, 1<<52))+1)
	found := false
	for range 64 {
		if poissonTail(hi, lambda) < p {
			found = true
			break
		}
		lo = hi
		if hi > math.MaxUint64/2 {
			break
		}
		hi *= 2
	}
	if !found {
		return math.MaxUint64 // no count is unlikely enough: never a spike
	}
	// Invariant: tail(lo) ≥ p > tail(hi).
	for range 64 {
		if hi-lo <= 1 {
			break
		}
		mid := lo + (hi-lo)/2
		if poissonTail(mid, lambda) < p {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
