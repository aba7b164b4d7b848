package scoring

import (
	"slices"
	"time"

	"dongting/analyzer"
	"dongting/index/rollup"
)

// CoverageQuery asks how much of the corpus the taxonomy tags.
type CoverageQuery struct {
	Filter
	Interval string // day, week, month
	GroupBy  string // "", channel, kind
}

// CoveragePoint is one period: records, records no touchpoint matched, and
// the share tagged (nil without records).
type CoveragePoint struct {
	Period   string   `json:"period"`
	Records  int64    `json:"records"`
	Untagged int64    `json:"untagged"`
	Coverage *float64 `json:"coverage"`
}

// CoverageSeries is one group's periods and their total.
type CoverageSeries struct {
	Key    string          `json:"key"`
	Points []CoveragePoint `json:"points"`
	Total  CoveragePoint   `json:"total"`
}

// Coverage is the answer.
type Coverage struct {
	Interval string           `json:"interval"`
	GroupBy  string           `json:"group_by,omitempty"`
	From     string           `json:"from"`
	To       string           `json:"to"`
	Periods  []string         `json:"periods"`
	Series   []CoverageSeries `json:"series"`
}

// Coverage computes the share of records with at least one touchpoint per
// period, overall or by channel or kind. (An untagged record has no scene,
// so coverage is not split by scene.)
func (s *Scorer) Coverage(q CoverageQuery) (*Coverage, error) {
	if q.Interval == "" {
		q.Interval = "month"
	}
	if !slices.Contains(Intervals, q.Interval) {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "interval", Reason: "is not one of day, week, month"}
	}
	if !slices.Contains([]string{"", "channel", "kind"}, q.GroupBy) {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "group_by", Reason: "is not one of channel, kind (untagged records have no scene or touchpoint)"}
	}
	if err := s.normalize(&q.Filter); err != nil {
		return nil, err
	}
	if q.Touchpoint != "" || q.Dimension != "" {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "touchpoint", Reason: "coverage is about records without touchpoints: filter by org, channel, kind and dates"}
	}
	periods := Periods(q.From, q.To, q.Interval)
	periodOf := periodCache(q.Interval, s.loc)
	from, to := q.days()
	out := &Coverage{Interval: q.Interval, GroupBy: q.GroupBy, From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly), Periods: periods}
	err := s.r.View(func(v *rollup.View) error {
		type acc struct{ all, untagged map[string]int64 }
		groups := map[string]*acc{}
		var keys []string
		add := func(node string, c rollup.Cell, n *rollup.Counts) {
			if !q.match(c) {
				return
			}
			g := "all"
			switch q.GroupBy {
			case "channel":
				g = c.Channel
			case "kind":
				g = c.Kind
			}
			a := groups[g]
			if a == nil {
				a = &acc{map[string]int64{}, map[string]int64{}}
				groups[g] = a
				keys = append(keys, g)
			}
			m := a.all
			if node == rollup.Untagged {
				m = a.untagged
			}
			m[periodOf(c.Day)] += n[rollup.CVolume]
		}
		for _, node := range []string{rollup.All, rollup.Untagged} {
			err := v.Each(q.Org, node, rollup.All, from, to, func(c rollup.Cell, n *rollup.Counts) { add(node, c, n) })
			if err != nil {
				return err
			}
		}
		slices.Sort(keys)
		for _, g := range keys {
			a := groups[g]
			se := CoverageSeries{Key: g, Total: CoveragePoint{Period: "total"}}
			for _, p := range periods {
				pt := coveragePoint(p, a.all[p], a.untagged[p])
				se.Points = append(se.Points, pt)
				se.Total.Records += pt.Records
				se.Total.Untagged += pt.Untagged
			}
			se.Total = coveragePoint("total", se.Total.Records, se.Total.Untagged)
			out.Series = append(out.Series, se)
		}
		return nil
	})
	return out, err
}

func coveragePoint(period string, records, untagged int64) CoveragePoint {
	p := CoveragePoint{Period: period, Records: records, Untagged: untagged}
	if records > 0 {
		c := round(1-float64(untagged)/float64(records), 4)
		p.Coverage = &c
	}
	return p
}
