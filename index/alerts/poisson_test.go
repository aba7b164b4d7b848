package alerts

import (
	"math"
	"slices"
	"testing"
)

// refTail sums P(X = i) for i ≥ k directly, each term in log space (no
// cancellation against 1, no underflow of exp(-λ)): an independent
// reference for moderate λ.
func refTail(k uint64, lambda float64) float64 {
	if k == 0 {
		return 1
	}
	if lambda == 0 {
		return 0
	}
	logPMF := func(i float64) float64 {
		lg, _ := math.Lgamma(i + 1)
		return i*math.Log(lambda) - lambda - lg
	}
	// Start at the largest term at or above k and sum outwards until the
	// terms no longer count.
	start := max(float64(k), math.Floor(lambda))
	top := logPMF(start)
	sum := 0.0
	for i := start; ; i++ {
		t := math.Exp(logPMF(i) - top)
		sum += t
		if t < 1e-18*sum {
			break
		}
	}
	for i := start - 1; i >= float64(k); i-- {
		t := math.Exp(logPMF(i) - top)
		sum += t
		if t < 1e-18*sum {
			break
		}
	}
	return sum * math.Exp(top)
}

func TestPoissonTailKnownValues(t *testing.T) {
	for _, c := range []struct {
		k      uint64
		lambda float64
		want   float64
	}{
		{0, 5, 1},
		{0, 0, 1},
		{1, 0, 0},
		{1, 1, 1 - math.Exp(-1)},   // 0.6321205588285577
		{2, 1, 1 - 2*math.Exp(-1)}, // 0.2642411176571153
		{3, 2, 1 - 5*math.Exp(-2)}, // 1 − e⁻²(1 + 2 + 2)
		{1, 1e-3, -math.Expm1(-1e-3)},
	} {
		if got := poissonTail(c.k, c.lambda); math.Abs(got-c.want) > 1e-14 {
			t.Errorf("P(X ≥ %d | λ=%g) = %.17g, want %.17g", c.k, c.lambda, got, c.want)
		}
	}
	// At large λ the Poisson is close to a normal: P(X ≥ λ + 3√λ) ≈ Φ̄(3)
	// (0.00135), within the skew's 1/√λ correction.
	for _, lambda := range []float64{1e4, 1e5, 1e6} {
		k := uint64(lambda + 3*math.Sqrt(lambda))
		got := poissonTail(k, lambda)
		want := 0.5 * math.Erfc((float64(k)-0.5-lambda)/math.Sqrt(lambda)/math.Sqrt2)
		if math.Abs(got/want-1) > 10/math.Sqrt(lambda) {
			t.Errorf("P(X ≥ %d | λ=%g) = %g, normal approximation %g", k, lambda, got, want)
		}
	}
}

// TestPoissonTailProperties: over λ from 0 to 10⁶ and k around λ, the tail
// is in [0, 1], falls as k grows, rises with λ, and matches the direct sum
// where that is exact enough to compare.
func TestPoissonTailProperties(t *testing.T) {
	lambdas := []float64{0, 1e-6, 0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 199, 200, 201, 500, 744, 745, 746, 800, 1000, 2000, 5000, 1e4, 5e4, 1e5, 5e5, 1e6}
	for li, lambda := range lambdas {
		sd := math.Sqrt(lambda)
		var ks []uint64
		for z := -12.0; z <= 40; z += 0.25 {
			if k := lambda + z*max(sd, 1); k >= 0 {
				ks = append(ks, uint64(k))
			}
		}
		ks = append(ks, 0, 1, 2, 5, uint64(10*lambda)+10)
		prevK, prev := uint64(0), 1.0
		slices.Sort(ks)
		for _, k := range slices.Compact(ks) {
			p := poissonTail(k, lambda)
			if p < 0 || p > 1 || math.IsNaN(p) {
				t.Fatalf("P(X ≥ %d | λ=%g) = %g, outside [0, 1]", k, lambda, p)
			}
			if k > prevK && p > prev*(1+1e-12)+1e-300 {
				t.Errorf("not falling in k: P(X ≥ %d | λ=%g) = %g > P(X ≥ %d) = %g", k, lambda, p, prevK, prev)
			}
			prevK, prev = k, p
			if li+1 < len(lambdas) {
				if next := poissonTail(k, lambdas[li+1]); next < p*(1-1e-12) {
					t.Errorf("not rising in λ: P(X ≥ %d | λ=%g) = %g < %g at λ=%g", k, lambdas[li+1], next, p, lambda)
				}
			}
			if lambda <= 1e4 && p > 1e-250 {
				if want := refTail(k, lambda); math.Abs(p-want) > 1e-9*want+1e-15 {
					t.Errorf("P(X ≥ %d | λ=%g) = %.15g, direct sum %.15g", k, lambda, p, want)
				}
			}
		}
	}
}

// TestSpikeThreshold: the threshold is the first count whose tail is below
// p, never below min_count, and it is found for any λ up to 10⁶ (where the
// old linear search from min_count looped forever above λ ≈ 745).
func TestSpikeThreshold(t *testing.T) {
	for _, lambda := range []float64{0, 0.1, 1, 6, 28.5, 744, 746, 800, 2000, 1e4, 1e5, 1e6} {
		for _, p := range []float64{0.5, 0.05, 0.001, 1e-9, 1e-300} {
			for _, minCount := range []int{1, 5, 100} {
				n := spikeThreshold(lambda, p, minCount)
				if n < uint64(minCount) {
					t.Fatalf("λ=%g p=%g min=%d: threshold %d below min_count", lambda, p, minCount, n)
				}
				if poissonTail(n, lambda) >= p {
					t.Errorf("λ=%g p=%g min=%d: P(X ≥ %d) = %g is not below p", lambda, p, minCount, n, poissonTail(n, lambda))
				}
				if n > uint64(minCount) && poissonTail(n-1, lambda) < p {
					t.Errorf("λ=%g p=%g min=%d: %d is not the first count below p", lambda, p, minCount, n)
				}
				if lambda >= 100 && p == 0.001 && (float64(n) < lambda || float64(n) > lambda+4*math.Sqrt(lambda)+10) {
					t.Errorf("λ=%g p=%g: threshold %d is not a few standard deviations above λ", lambda, p, n)
				}
			}
		}
	}
}

func BenchmarkSpikeThreshold(b *testing.B) {
	for _, lambda := range []float64{1, 800, 1e6} {
		b.Run("", func(b *testing.B) {
			for b.Loop() {
				spikeThreshold(lambda, 0.001, 5)
			}
		})
	}
}
