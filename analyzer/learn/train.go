package learn

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Example is one training text: its features and, for each class, whether
// it belongs (Targets, multi-label) or which class it is (Class, softmax).
// Weight scales its loss (a labelled message counts more than a review).
type Example struct {
	Features Features
	Targets  []bool
	Class    int
	Weight   float64
}

// TrainOptions tune the optimiser. The zero value is the shipped setting.
type TrainOptions struct {
	Epochs  int     // passes over the data (default 30)
	Rate    float64 // AdaGrad learning rate (default 0.2)
	L2      float64 // weight decay per example (default 1e-4)
	MinDF   int     // features seen in fewer examples are dropped (default 2)
	Seed    uint64  // the shuffle's seed: the same data and seed give the same model
	Balance bool    // weigh each sigmoid's positives up to the negatives' mass (at most 8×)
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Epochs == 0 {
		o.Epochs = 30
	}
	if o.Rate == 0 {
		o.Rate = 0.2
	}
	if o.L2 == 0 {
		o.L2 = 1e-4
	}
	if o.MinDF == 0 {
		o.MinDF = 2
	}
	return o
}

// Train fits a linear model to examples, deterministically.
func Train(classes []string, softmax bool, examples []Example, opt TrainOptions) *Linear {
	opt = opt.withDefaults()
	K := len(classes)
	df := map[uint32]int{}
	for _, e := range examples {
		for _, f := range e.Features {
			df[f]++
		}
	}
	var keys []uint32
	for f, n := range df {
		if n >= opt.MinDF {
			keys = append(keys, f)
		}
	}
	slices.Sort(keys)
	index := make(map[uint32]int, len(keys))
	for i, f := range keys {
		index[f] = i
	}
	rows := make([][]int, len(examples))
	for i, e := range examples {
		for _, f := range e.Features {
			if j, ok := index[f]; ok {
				rows[i] = append(rows[i], j)
			}
		}
	}
	posWeight := make([]float64, K)
	for k := range posWeight {
		posWeight[k] = 1
	}
	if opt.Balance && !softmax {
		for k := range K {
			pos, neg := 0.0, 0.0
			for _, e := range examples {
				if e.Targets[k] {
					pos += e.Weight
				} else {
					neg += e.Weight
				}
			}
			if pos > 0 {
				posWeight[k] = math.Min(8, math.Max(1, math.Sqrt(neg/pos)))
			}
		}
	}
	w := make([]float64, len(keys)*K)
	g2 := make([]float64, len(keys)*K)
	bias, gb := make([]float64, K), make([]float64, K)
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	grad := make([]float64, K)
	for range opt.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			e := examples[i]
			v := featureValue(len(e.Features))
			s := slices.Clone(bias)
			for _, j := range rows[i] {
				for k := range K {
					s[k] += w[j*K+k] * v
				}
			}
			if softmax {
				p := softmaxOf(s)
				for k := range K {
					t := 0.0
					if k == e.Class {
						t = 1
					}
					grad[k] = (p[k] - t) * e.Weight
				}
			} else {
				for k := range K {
					p := sigmoid(s[k])
					if e.Targets[k] {
						grad[k] = (p - 1) * e.Weight * posWeight[k]
					} else {
						grad[k] = p * e.Weight
					}
				}
			}
			for k := range K {
				gb[k] += grad[k] * grad[k]
				bias[k] -= opt.Rate * grad[k] / (math.Sqrt(gb[k]) + 1e-8)
			}
			for _, j := range rows[i] {
				for k := range K {
					at := j*K + k
					g := grad[k]*v + opt.L2*w[at]
					g2[at] += g * g
					w[at] -= opt.Rate * g / (math.Sqrt(g2[at]) + 1e-8)
				}
			}
		}
	}
	return quantize(classes, softmax, keys, w, bias)
}

func softmaxOf(s []float64) []float64 { return softmax(s) }

// quantize stores weights as int8 with a scale per class, dropping
// features whose weights all round to zero.
func quantize(classes []string, softmax bool, keys []uint32, w, bias []float64) *Linear {
	K := len(classes)
	m := &Linear{Classes: classes, Softmax: softmax, Bias: bias, Scale: make([]float64, K)}
	for k := range K {
		hi := 0.0
		for j := range keys {
			hi = math.Max(hi, math.Abs(w[j*K+k]))
		}
		if hi == 0 {
			hi = 1
		}
		m.Scale[k] = hi / 127
	}
	for j, f := range keys {
		row := make([]int8, K)
		zero := true
		for k := range K {
			q := math.Round(w[j*K+k] / m.Scale[k])
			row[k] = int8(max(-127, min(127, q)))
			zero = zero && row[k] == 0
		}
		if zero {
			continue
		}
		m.keys = append(m.keys, f)
		m.weights = append(m.weights, row...)
	}
	m.buildTable()
	return m
}

// Size is the number of features the model keeps.
func (m *Linear) Size() int { return len(m.keys) }
