package scoring

import (
	"math"
	"slices"
	"strings"
	"time"

	"dongting/analyzer"
	"dongting/index/rollup"
)

// MoversQuery compares each touchpoint's share of the records (or of the
// negative mentions) in a period with the period of the same length just
// before it.
type MoversQuery struct {
	Filter
	Measure   string  // "volume" (mentions) or "negative" (negative mentions)
	MinVolume int64   // a touchpoint needs this many in one of the periods
	Q         float64 // false discovery rate for the Benjamini–Hochberg cut (0.05)
	Limit     int
}

// Mover is one touchpoint that moved significantly.
type Mover struct {
	Touchpoint string  `json:"touchpoint"`
	Name       string  `json:"name"`
	Scene      string  `json:"scene"`
	Current    int64   `json:"current"`
	Previous   int64   `json:"previous"`
	ShareNow   float64 `json:"share_current"`
	SharePrev  float64 `json:"share_previous"`
	Change     float64 `json:"change"` // relative change of the share; +1 = doubled
	Z          float64 `json:"z"`
	P          float64 `json:"p"`
	Direction  string  `json:"direction"` // rising, falling
}

// Movers is the answer: the significant movers each way, strongest first,
// and how many touchpoints were tested.
type Movers struct {
	Measure   string    `json:"measure"`
	Current   [2]string `json:"current"`
	Previous  [2]string `json:"previous"`
	TotalNow  int64     `json:"total_current"`
	TotalPrev int64     `json:"total_previous"`
	Tested    int       `json:"tested"`
	Rising    []Mover   `json:"rising"`
	Falling   []Mover   `json:"falling"`
}

// Movers finds touchpoints whose share moved between the periods beyond
// noise: a two-proportion z-test per touchpoint with at least MinVolume
// mentions, then a Benjamini–Hochberg cut over all those tested, so that
// with 150 touchpoints a handful of p < 0.05 flukes are not reported.
func (s *Scorer) Movers(q MoversQuery) (*Movers, error) {
	if q.Measure == "" {
		q.Measure = "volume"
	}
	if q.Measure != "volume" && q.Measure != "negative" {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "measure", Reason: `is not one of volume, negative`}
	}
	if q.MinVolume <= 0 {
		q.MinVolume = 10
	}
	if q.Q <= 0 || q.Q >= 1 {
		q.Q = 0.05
	}
	if q.Limit <= 0 {
		q.Limit = 20
	}
	if q.To.IsZero() {
		q.To = s.Now().In(s.loc)
	}
	if q.From.IsZero() {
		q.From = q.To.AddDate(0, 0, -27) // four weeks
	}
	if err := s.normalize(&q.Filter); err != nil {
		return nil, err
	}
	if q.Dimension != "" {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "dimension", Reason: "movers compare touchpoints; a dimension filter is not supported"}
	}
	days := int(math.Round(q.To.Sub(q.From).Hours()/24)) + 1
	prev := q.Filter
	prev.To = q.From.AddDate(0, 0, -1)
	prev.From = prev.To.AddDate(0, 0, -(days - 1))
	out := &Movers{Measure: q.Measure, Rising: []Mover{}, Falling: []Mover{},
		Current:  [2]string{q.From.Format(time.DateOnly), q.To.Format(time.DateOnly)},
		Previous: [2]string{prev.From.Format(time.DateOnly), prev.To.Format(time.DateOnly)}}
	nodes := s.touchpoints(q.Touchpoint)
	count := func(v *rollup.View, f *Filter, node string) (int64, error) {
		c, err := sumDays(v, f, f.Org, node, rollup.All)
		if q.Measure == "negative" && node != q.node() {
			return c[rollup.CNegative], err
		}
		return c[rollup.CVolume], err
	}
	var tested []Mover
	err := s.r.View(func(v *rollup.View) error {
		var err error
		// The denominator is every record under the filter, so a
		// touchpoint's share is comparable between the periods.
		if out.TotalNow, err = count(v, &q.Filter, q.node()); err != nil {
			return err
		}
		if out.TotalPrev, err = count(v, &prev, q.node()); err != nil {
			return err
		}
		if out.TotalNow == 0 || out.TotalPrev == 0 {
			return nil
		}
		for _, n := range nodes {
			c1, err := count(v, &q.Filter, n.ID)
			if err != nil {
				return err
			}
			c0, err := count(v, &prev, n.ID)
			if err != nil {
				return err
			}
			if max(c1, c0) < q.MinVolume {
				continue
			}
			p1, p0 := float64(c1)/float64(out.TotalNow), float64(c0)/float64(out.TotalPrev)
			pool := float64(c1+c0) / float64(out.TotalNow+out.TotalPrev)
			se := math.Sqrt(pool * (1 - pool) * (1/float64(out.TotalNow) + 1/float64(out.TotalPrev)))
			m := Mover{Touchpoint: n.ID, Name: strings.Join(n.Path, "/"), Scene: n.Scene, Current: c1, Previous: c0,
				ShareNow: round(p1, 4), SharePrev: round(p0, 4)}
			if se > 0 {
				m.Z = (p1 - p0) / se
			}
			m.P = math.Erfc(math.Abs(m.Z) / math.Sqrt2)
			if p0 > 0 {
				m.Change = round(p1/p0-1, 4)
			} else {
				m.Change = math.Inf(1)
			}
			tested = append(tested, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Tested = len(tested)
	// Benjamini–Hochberg: keep the k smallest p-values where p(k) ≤ k/m·q.
	slices.SortFunc(tested, func(a, b Mover) int { return cmpFloat(a.P, b.P) })
	keep := 0
	for i, m := range tested {
		if m.P <= float64(i+1)/float64(len(tested))*q.Q {
			keep = i + 1
		}
	}
	for _, m := range tested[:keep] {
		m.Z = round(m.Z, 3)
		if math.IsInf(m.Change, 1) {
			m.Change = 0 // JSON has no infinity; previous 0 shows it is new
		}
		if m.Z > 0 {
			m.Direction = "rising"
			out.Rising = append(out.Rising, m)
		} else {
			m.Direction = "falling"
			out.Falling = append(out.Falling, m)
		}
	}
	byZ := func(a, b Mover) int { return cmpFloat(math.Abs(b.Z), math.Abs(a.Z)) }
	slices.SortFunc(out.Rising, byZ)
	slices.SortFunc(out.Falling, byZ)
	out.Rising = out.Rising[:min(len(out.Rising), q.Limit)]
	out.Falling = out.Falling[:min(len(out.Falling), q.Limit)]
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
