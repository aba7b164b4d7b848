package scoring

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"dongting/analyzer"
	"dongting/index/rollup"
	"dongting/taxonomy"
)

// Indicators is the experience index's hierarchy (data/scoring/indicators.yaml).
type Indicators struct {
	MinN   int `yaml:"min_n"`
	Level1 []struct {
		ID     string  `yaml:"id"`
		Name   string  `yaml:"name"`
		Weight float64 `yaml:"weight"`
	} `yaml:"level1"`
	Level2 []struct {
		ID     string             `yaml:"id"`
		Name   string             `yaml:"name"`
		Weight float64            `yaml:"weight"`
		Scenes map[string]float64 `yaml:"scenes"`
	} `yaml:"level2"`
}

// ParseIndicators reads and checks the hierarchy against the scorer's
// taxonomy: level 1 is experience and nps, every scene exists, weights are
// positive.
func (s *Scorer) ParseIndicators(src []byte) (*Indicators, error) {
	var ind Indicators
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&ind); err != nil {
		return nil, fmt.Errorf("scoring: indicators: %w", err)
	}
	ids := []string{}
	for _, l := range ind.Level1 {
		if l.Weight <= 0 {
			return nil, fmt.Errorf("scoring: indicators: level1 %s: weight must be positive", l.ID)
		}
		ids = append(ids, l.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"experience", "nps"}) {
		return nil, fmt.Errorf("scoring: indicators: level1 must be experience and nps, got %v", ids)
	}
	for _, g := range ind.Level2 {
		if g.Weight <= 0 {
			return nil, fmt.Errorf("scoring: indicators: level2 %s: weight must be positive", g.ID)
		}
		for sc, w := range g.Scenes {
			if w <= 0 {
				return nil, fmt.Errorf("scoring: indicators: level2 %s: scene %s: weight must be positive", g.ID, sc)
			}
		}
	}
	if err := ind.Check(s.taxonomy()); err != nil {
		return nil, err
	}
	return &ind, nil
}

// Check says whether every scene the indicators weigh is a scene of tax
// (a replacement taxonomy must keep them).
func (ind *Indicators) Check(tax *taxonomy.Taxonomy) error {
	for _, g := range ind.Level2 {
		for _, sc := range slices.Sorted(maps.Keys(g.Scenes)) {
			if n, ok := tax.Node(sc); !ok || n.Parent != nil || n.Dimension {
				return fmt.Errorf("scoring: indicators: level2 %s: %q is not a scene of taxonomy %s", g.ID, sc, tax.ID)
			}
		}
	}
	return nil
}

// Indicator is one node of the index as computed.
type Indicator struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Weight       float64     `json:"weight"`
	Score        *float64    `json:"score"` // 0–100
	N            int64       `json:"n"`
	Insufficient bool        `json:"insufficient,omitempty"`
	Children     []Indicator `json:"children,omitempty"`
}

// ExperienceIndex is the index for one org node and period, with NPS and
// satisfaction (CSAT mapped to 0–100) alongside.
type ExperienceIndex struct {
	Org          string    `json:"org"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	MinN         int       `json:"min_n"`
	Index        Indicator `json:"index"`
	NPS          NPS       `json:"nps"`
	Satisfaction *float64  `json:"satisfaction"` // 0–100 from CSAT 1–5
	CSAT         *float64  `json:"csat"`
	CSATN        int64     `json:"csat_n"`
}

// Experience computes the experience index.
func (s *Scorer) Experience(ind *Indicators, f Filter, minN int) (*ExperienceIndex, error) {
	if err := s.normalize(&f); err != nil {
		return nil, err
	}
	if f.Touchpoint != "" || f.Dimension != "" {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "touchpoint", Reason: "the experience index covers every scene; filter by org, channel, kind and dates"}
	}
	if minN <= 0 {
		minN = ind.MinN
	}
	out := &ExperienceIndex{Org: f.Org, From: f.From.Format(time.DateOnly), To: f.To.Format(time.DateOnly), MinN: minN}
	sumNode := func(v *rollup.View, node string) (rollup.Counts, error) {
		return sumDays(v, &f, f.Org, node, rollup.All)
	}
	err := s.r.View(func(v *rollup.View) error {
		all, err := sumNode(v, rollup.All)
		if err != nil {
			return err
		}
		out.NPS = NPSOf(all[rollup.CPromoters], all[rollup.CPassives], all[rollup.CDetractors])
		if all[rollup.CCSATN] > 0 {
			c := round(float64(all[rollup.CCSATSum])/float64(all[rollup.CCSATN]), 3)
			sat := round((c-1)/4*100, 2)
			out.CSAT, out.Satisfaction, out.CSATN = &c, &sat, all[rollup.CCSATN]
		}
		exp := Indicator{ID: "experience"}
		for _, g := range ind.Level2 {
			gi := Indicator{ID: g.ID, Name: g.Name, Weight: g.Weight}
			for _, sc := range sortedKeys(g.Scenes) {
				c, err := sumNode(v, sc)
				if err != nil {
					return err
				}
				node, _ := s.taxonomy().Node(sc)
				si := Indicator{ID: sc, Name: node.Name, Weight: g.Scenes[sc], N: c[rollup.CVolume]}
				if si.N > 0 {
					score := round(50*(1+float64(c[rollup.CSentiment])/rollup.SentimentScale/float64(si.N)), 2)
					si.Score = &score
				}
				si.Insufficient = si.N < int64(minN)
				gi.N += si.N
				gi.Children = append(gi.Children, si)
			}
			gi.Score = weighted(gi.Children)
			gi.Insufficient = gi.Score == nil
			exp.Children = append(exp.Children, gi)
			exp.N += gi.N
		}
		exp.Score = weighted(exp.Children)
		exp.Insufficient = exp.Score == nil
		npsInd := Indicator{ID: "nps", N: out.NPS.N, Insufficient: out.NPS.N < int64(minN)}
		if out.NPS.N > 0 {
			sc := round((out.NPS.NPS+100)/2, 2)
			npsInd.Score = &sc
		}
		for _, l := range ind.Level1 {
			switch l.ID {
			case "experience":
				exp.Name, exp.Weight = l.Name, l.Weight
			case "nps":
				npsInd.Name, npsInd.Weight = l.Name, l.Weight
			}
		}
		top := Indicator{ID: "index", Name: "触点体验指数", Children: []Indicator{exp, npsInd}, N: all[rollup.CVolume]}
		top.Score = weighted(top.Children)
		top.Insufficient = top.Score == nil
		out.Index = top
		return nil
	})
	return out, err
}

// weighted is the weight-normalised mean of the children with enough data.
func weighted(children []Indicator) *float64 {
	var sum, w float64
	for _, c := range children {
		if c.Score == nil || c.Insufficient {
			continue
		}
		sum += *c.Score * c.Weight
		w += c.Weight
	}
	if w == 0 {
		return nil
	}
	v := round(sum/w, 2)
	return &v
}

// Driver is one touchpoint's pull on NPS and CSAT.
type Driver struct {
	Touchpoint string `json:"touchpoint"`
	Name       string `json:"name"`
	Scene      string `json:"scene"`
	// Survey answers of records that mention the touchpoint negatively,
	// and their share of all survey answers.
	N     int64   `json:"n"`
	Share float64 `json:"share"`
	// NPS among them and among everyone else, and the gap (rest − them).
	NPSNegative  *float64 `json:"nps_negative"`
	NPSRest      *float64 `json:"nps_rest"`
	NPSGap       *float64 `json:"nps_gap"`
	CSATNegative *float64 `json:"csat_negative"`
	CSATRest     *float64 `json:"csat_rest"`
	// Impact is gap × share: the NPS points the whole population would gain
	// if these answers scored like the rest.
	Impact       float64 `json:"impact"`
	Rank         int     `json:"rank"`
	Insufficient bool    `json:"insufficient,omitempty"`
}

// Drivers is the key-driver answer.
type Drivers struct {
	Org     string   `json:"org"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	MinN    int      `json:"min_n"`
	NPS     NPS      `json:"nps"`
	Drivers []Driver `json:"drivers"`
}

// Drivers ranks touchpoints by how much their negative mentions pull NPS
// down. Touchpoints under minN answers are listed after the ranked ones,
// marked insufficient and unranked.
func (s *Scorer) Drivers(f Filter, minN int) (*Drivers, error) {
	if err := s.normalize(&f); err != nil {
		return nil, err
	}
	if minN <= 0 {
		minN = 30
	}
	out := &Drivers{Drivers: []Driver{}, Org: f.Org, From: f.From.Format(time.DateOnly), To: f.To.Format(time.DateOnly), MinN: minN}
	err := s.r.View(func(v *rollup.View) error {
		sum := func(node string) (rollup.Counts, error) { return sumDays(v, &f, f.Org, node, rollup.All) }
		all, err := sum(rollup.All)
		if err != nil {
			return err
		}
		out.NPS = NPSOf(all[rollup.CPromoters], all[rollup.CPassives], all[rollup.CDetractors])
		for _, sc := range s.taxonomy().Scenes {
			for _, tp := range sc.Children {
				c, err := sum(tp.ID)
				if err != nil {
					return err
				}
				neg := NPSOf(c[rollup.CNegPromoters], c[rollup.CNegPassives], c[rollup.CNegDetractors])
				if neg.N == 0 {
					continue
				}
				rest := NPSOf(all[rollup.CPromoters]-c[rollup.CNegPromoters], all[rollup.CPassives]-c[rollup.CNegPassives],
					all[rollup.CDetractors]-c[rollup.CNegDetractors])
				d := Driver{Touchpoint: tp.ID, Name: strings.Join(tp.Path, "/"), Scene: sc.ID, N: neg.N,
					Share: round(float64(neg.N)/float64(out.NPS.N), 4), NPSNegative: ptr(neg.NPS)}
				if rest.N > 0 {
					d.NPSRest = ptr(rest.NPS)
					d.NPSGap = ptr(round(rest.NPS-neg.NPS, 2))
					d.Impact = round(*d.NPSGap*float64(neg.N)/float64(out.NPS.N), 3)
				}
				if c[rollup.CNegCSATN] > 0 {
					d.CSATNegative = ptr(round(float64(c[rollup.CNegCSATSum])/float64(c[rollup.CNegCSATN]), 3))
				}
				if rn := all[rollup.CCSATN] - c[rollup.CNegCSATN]; rn > 0 {
					d.CSATRest = ptr(round(float64(all[rollup.CCSATSum]-c[rollup.CNegCSATSum])/float64(rn), 3))
				}
				d.Insufficient = neg.N < int64(minN)
				out.Drivers = append(out.Drivers, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out.Drivers, func(a, b Driver) int {
		if a.Insufficient != b.Insufficient {
			if a.Insufficient {
				return 1
			}
			return -1
		}
		if c := cmpFloat(b.Impact, a.Impact); c != 0 {
			return c
		}
		return strings.Compare(a.Touchpoint, b.Touchpoint)
	})
	for i := range out.Drivers {
		if !out.Drivers[i].Insufficient {
			out.Drivers[i].Rank = i + 1
		}
	}
	return out, nil
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}
