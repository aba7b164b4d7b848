// Package scoring answers dashboards from the rollups: trends per period
// and group, NPS with confidence intervals, top movers, key drivers and the
// touchpoint experience index. It never reads records: every answer is a
// sum over rollup cells, so it costs the same at 1M records as at 1k.
package scoring

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"dongting/analyzer"
	"dongting/index/rollup"
	"dongting/taxonomy"
)

// Metrics a trend can show.
var Metrics = []string{"volume", "negative_rate", "sentiment", "nps", "csat", "share"}

// Intervals a trend can be bucketed by.
var Intervals = []string{"day", "week", "month"}

// GroupBys a trend can be split by.
var GroupBys = []string{"", "scene", "touchpoint", "dimension", "channel", "kind", "org"}

// Filter selects the records an answer is about.
type Filter struct {
	Org        string   // subtree; "" is everything
	Channels   []string // any of
	Kinds      []string // any of
	Touchpoint string   // a node id: records tagged with it or below it
	Dimension  string
	From, To   time.Time // days, inclusive, in the rollup time zone
}

// TrendQuery asks for one metric per period and group.
type TrendQuery struct {
	Filter
	Metric   string
	Interval string
	GroupBy  string
	OrgLevel int // for GroupBy "org": depth of the org nodes (1 = top); 0 = one below Filter.Org
	MinN     int // points with fewer answers are marked insufficient
}

// Point is one period of a series. Value is nil when there is nothing to
// compute it from (no records, or no survey answers for NPS/CSAT).
type Point struct {
	Period       string   `json:"period"`
	Value        *float64 `json:"value"`
	N            int64    `json:"n"`
	Low          *float64 `json:"low,omitempty"` // 95 % confidence interval (NPS)
	High         *float64 `json:"high,omitempty"`
	Insufficient bool     `json:"insufficient,omitempty"` // N below the minimum
}

// Series is one group's points.
type Series struct {
	Key    string  `json:"key"`
	Name   string  `json:"name"`
	Points []Point `json:"points"`
	Total  Point   `json:"total"` // the whole range as one period
}

// Trend is a trend answer.
type Trend struct {
	Metric   string   `json:"metric"`
	Interval string   `json:"interval"`
	GroupBy  string   `json:"group_by,omitempty"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	Zone     string   `json:"zone"`
	Periods  []string `json:"periods"`
	Series   []Series `json:"series"`
}

// group is what one series sums: cells of (org, node, dim), optionally
// restricted to one channel or kind.
type group struct {
	key, name      string
	org, node, dim string
	split          string // "channel" or "kind": one series per value, summed in one pass
}

// Cells is what scoring needs of the aggregates: consistent views of the
// cells (each cell, each day, the orgs), the zone their days are in and the
// taxonomy their nodes come from. *rollup.Rollups is the one there is.
type Cells interface {
	View(fn func(v *rollup.View) error) error
	Location() *time.Location
	Taxonomy() *taxonomy.Taxonomy
}

// Scorer answers from a corpus's rollups.
type Scorer struct {
	r   Cells
	loc *time.Location
	Now func() time.Time
}

// New returns a scorer on r.
func New(r Cells) *Scorer {
	return &Scorer{r: r, loc: r.Location(), Now: time.Now}
}

// taxonomy is the corpus's taxonomy now (it can be replaced while serving).
func (s *Scorer) taxonomy() *taxonomy.Taxonomy { return s.r.Taxonomy() }

// Location is the time zone periods are cut in.
func (s *Scorer) Location() *time.Location { return s.loc }

// normalize checks a filter and fills its defaults: the last 12 months.
func (s *Scorer) normalize(f *Filter) error {
	if f.To.IsZero() {
		f.To = s.Now().In(s.loc)
	}
	if f.From.IsZero() {
		f.From = f.To.AddDate(-1, 0, 1)
	}
	f.From, f.To = f.From.In(s.loc), f.To.In(s.loc)
	if f.From.After(f.To) {
		return &analyzer.Error{Kind: analyzer.BadParameter, Field: "from", Reason: "is after to"}
	}
	if f.To.Sub(f.From) > 10*366*24*time.Hour {
		return &analyzer.Error{Kind: analyzer.BadParameter, Field: "from", Reason: "the range is longer than 10 years"}
	}
	if f.Touchpoint != "" {
		n, ok := s.taxonomy().Node(f.Touchpoint)
		if !ok || n.Dimension {
			return &analyzer.Error{Kind: analyzer.BadParameter, Field: "touchpoint", Reason: fmt.Sprintf("%q is not a scene or touchpoint of taxonomy %s", f.Touchpoint, s.taxonomy().ID)}
		}
	}
	if f.Dimension != "" {
		n, ok := s.taxonomy().Node(f.Dimension)
		if !ok || !n.Dimension {
			return &analyzer.Error{Kind: analyzer.BadParameter, Field: "dimension", Reason: fmt.Sprintf("%q is not a dimension of taxonomy %s", f.Dimension, s.taxonomy().ID)}
		}
	}
	f.Org = strings.Trim(f.Org, "/")
	return nil
}

func (f *Filter) node() string { return orAll(f.Touchpoint) }
func (f *Filter) dim() string  { return orAll(f.Dimension) }

func orAll(s string) string {
	if s == "" {
		return rollup.All
	}
	return s
}

func (f *Filter) days() (string, string) {
	return f.From.Format(rollup.DayLayout), f.To.Format(rollup.DayLayout)
}

func (f *Filter) match(c rollup.Cell) bool { return f.keep(c.Channel, c.Kind) }

func (f *Filter) keep(channel, kind string) bool {
	return (len(f.Channels) == 0 || slices.Contains(f.Channels, channel)) &&
		(len(f.Kinds) == 0 || slices.Contains(f.Kinds, kind))
}

// keeper is keep, or nil when nothing is filtered (the fastest path).
func (f *Filter) keeper() func(string, string) bool {
	if len(f.Channels) == 0 && len(f.Kinds) == 0 {
		return nil
	}
	return f.keep
}

// sumDays adds a series' counts in [f.From, f.To] into one total.
func sumDays(v *rollup.View, f *Filter, org, node, dim string) (rollup.Counts, error) {
	from, to := f.days()
	var c rollup.Counts
	err := v.EachDay(org, node, dim, from, to, f.keeper(), func(_ string, n *rollup.Counts) { c.Add(n) })
	return c, err
}

// Trend computes a trend.
func (s *Scorer) Trend(q TrendQuery) (*Trend, error) {
	if q.Metric == "" {
		q.Metric = "volume"
	}
	if q.Interval == "" {
		q.Interval = "week"
	}
	if !slices.Contains(Metrics, q.Metric) {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "metric", Reason: fmt.Sprintf("%q is not one of %s", q.Metric, strings.Join(Metrics, ", "))}
	}
	if !slices.Contains(Intervals, q.Interval) {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "interval", Reason: fmt.Sprintf("%q is not one of %s", q.Interval, strings.Join(Intervals, ", "))}
	}
	if !slices.Contains(GroupBys, q.GroupBy) {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "group_by", Reason: fmt.Sprintf("%q is not one of %s", q.GroupBy, strings.Join(GroupBys[1:], ", "))}
	}
	if err := s.normalize(&q.Filter); err != nil {
		return nil, err
	}
	if q.Interval == "day" && q.To.Sub(q.From) > 3*366*24*time.Hour {
		return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "interval", Reason: "daily series are limited to 3 years; use week or month"}
	}
	periods := Periods(q.From, q.To, q.Interval)
	from, to := q.Filter.days()
	t := &Trend{Metric: q.Metric, Interval: q.Interval, GroupBy: q.GroupBy, From: q.From.Format(time.DateOnly),
		To: q.To.Format(time.DateOnly), Zone: s.loc.String(), Periods: periods}
	periodOf := periodCache(q.Interval, s.loc)
	err := s.r.View(func(v *rollup.View) error {
		groups, err := s.groups(v, &q)
		if err != nil {
			return err
		}
		// share needs the period totals of the whole filter.
		var totals map[string]*rollup.Counts
		if q.Metric == "share" {
			totals = map[string]*rollup.Counts{}
			if err := s.sum(v, &q.Filter, group{org: q.Org, node: q.node(), dim: q.dim()}, from, to, periodOf, totals); err != nil {
				return err
			}
		}
		type part struct {
			key, name string
			sums      map[string]*rollup.Counts
		}
		var parts []part
		for _, g := range groups {
			if g.split != "" {
				bySplit, err := s.sumSplit(v, &q.Filter, g, from, to, periodOf)
				if err != nil {
					return err
				}
				for _, k := range sortedKeys(bySplit) {
					parts = append(parts, part{k, k, bySplit[k]})
				}
				continue
			}
			sums := map[string]*rollup.Counts{}
			if err := s.sum(v, &q.Filter, g, from, to, periodOf, sums); err != nil {
				return err
			}
			parts = append(parts, part{g.key, g.name, sums})
		}
		for _, g := range parts {
			sums := g.sums
			se := Series{Key: g.key, Name: g.name, Points: make([]Point, len(periods))}
			var all, allTotal rollup.Counts
			for i, p := range periods {
				c, tot := sums[p], totals[p]
				if c == nil {
					c = new(rollup.Counts)
				}
				if tot != nil {
					allTotal.Add(tot)
				}
				all.Add(c)
				se.Points[i] = point(p, q.Metric, c, tot, q.MinN)
			}
			se.Total = point("total", q.Metric, &all, &allTotal, q.MinN)
			t.Series = append(t.Series, se)
		}
		return nil
	})
	return t, err
}

// addTo adds n to out[p].
func addTo(out map[string]*rollup.Counts, p string, n *rollup.Counts) {
	acc := out[p]
	if acc == nil {
		acc = new(rollup.Counts)
		out[p] = acc
	}
	acc.Add(n)
}

// sum adds group g's cells in [from, to] into out by period.
func (s *Scorer) sum(v *rollup.View, f *Filter, g group, from, to string, periodOf func(string) string, out map[string]*rollup.Counts) error {
	return v.EachDay(g.org, g.node, g.dim, from, to, f.keeper(), func(day string, n *rollup.Counts) { addTo(out, periodOf(day), n) })
}

// sumSplit sums g's cells by channel or kind, then by period, in one pass.
func (s *Scorer) sumSplit(v *rollup.View, f *Filter, g group, from, to string, periodOf func(string) string) (map[string]map[string]*rollup.Counts, error) {
	out := map[string]map[string]*rollup.Counts{}
	err := v.Each(g.org, g.node, g.dim, from, to, func(c rollup.Cell, n *rollup.Counts) {
		if !f.match(c) {
			return
		}
		k := c.Channel
		if g.split == "kind" {
			k = c.Kind
		}
		if out[k] == nil {
			out[k] = map[string]*rollup.Counts{}
		}
		addTo(out[k], periodOf(c.Day), n)
	})
	return out, err
}

// groups lists the series of a query.
func (s *Scorer) groups(v *rollup.View, q *TrendQuery) ([]group, error) {
	base := group{key: "all", name: "全部", org: q.Org, node: q.node(), dim: q.dim()}
	switch q.GroupBy {
	case "":
		return []group{base}, nil
	case "scene":
		if q.Touchpoint != "" {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "group_by", Reason: "scene cannot be combined with a touchpoint filter; group by touchpoint to split a node into its children"}
		}
		var out []group
		for _, n := range s.taxonomy().Scenes {
			g := base
			g.key, g.name, g.node = n.ID, n.Name, n.ID
			out = append(out, g)
		}
		return out, nil
	case "touchpoint":
		nodes := s.touchpoints(q.Touchpoint)
		if len(nodes) == 0 {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "group_by", Reason: fmt.Sprintf("touchpoint %q has no children to group by", q.Touchpoint)}
		}
		var out []group
		for _, n := range nodes {
			g := base
			g.key, g.name, g.node = n.ID, strings.Join(n.Path, "/"), n.ID
			out = append(out, g)
		}
		return out, nil
	case "dimension":
		if q.Dimension != "" {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "group_by", Reason: "dimension cannot be combined with a dimension filter"}
		}
		var out []group
		for _, n := range s.taxonomy().Dimensions {
			g := base
			g.key, g.name, g.dim = n.ID, n.Name, n.ID
			out = append(out, g)
		}
		return out, nil
	case "channel", "kind":
		base.split = q.GroupBy
		return []group{base}, nil
	case "org":
		level := q.OrgLevel
		if level == 0 {
			level = depth(q.Org) + 1
		}
		if level <= depth(q.Org) {
			return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "level", Reason: fmt.Sprintf("must be below the org filter's level %d", depth(q.Org))}
		}
		var out []group
		for _, o := range sortedKeys(v.Orgs()) {
			if depth(o) != level || (q.Org != "" && !strings.HasPrefix(o, q.Org+"/")) {
				continue
			}
			g := base
			g.key, g.name, g.org = o, o, o
			out = append(out, g)
		}
		return out, nil
	}
	return nil, &analyzer.Error{Kind: analyzer.BadParameter, Field: "group_by", Reason: "unknown"}
}

// touchpoints are the children of node, or with no node every touchpoint
// right below the scenes.
func (s *Scorer) touchpoints(node string) []*taxonomy.Node {
	if node != "" {
		n, _ := s.taxonomy().Node(node)
		return n.Children
	}
	var out []*taxonomy.Node
	for _, sc := range s.taxonomy().Scenes {
		out = append(out, sc.Children...)
	}
	return out
}

func depth(org string) int {
	if org == "" {
		return 0
	}
	return strings.Count(org, "/") + 1
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// point computes a metric from counts; total is the period's total under
// the filter (share of voice only).
func point(period, metric string, c, total *rollup.Counts, minN int) Point {
	p := Point{Period: period}
	val := func(v float64) { p.Value = &v }
	vol := c[rollup.CVolume]
	switch metric {
	case "volume":
		p.N = vol
		val(float64(vol))
	case "negative_rate":
		p.N = vol
		if vol > 0 {
			val(float64(c[rollup.CNegative]) / float64(vol))
		}
	case "sentiment":
		p.N = vol
		if vol > 0 {
			val(float64(c[rollup.CSentiment]) / rollup.SentimentScale / float64(vol))
		}
	case "nps":
		n := NPSOf(c[rollup.CPromoters], c[rollup.CPassives], c[rollup.CDetractors])
		p.N = n.N
		if n.N > 0 {
			p.Value, p.Low, p.High = &n.NPS, &n.Low, &n.High
		}
	case "csat":
		p.N = c[rollup.CCSATN]
		if p.N > 0 {
			val(float64(c[rollup.CCSATSum]) / float64(p.N))
		}
	case "share":
		p.N = vol
		if total != nil && total[rollup.CVolume] > 0 {
			val(float64(vol) / float64(total[rollup.CVolume]))
		}
	}
	if p.Value != nil {
		r := round(*p.Value, 4)
		p.Value = &r
	}
	p.Insufficient = minN > 0 && p.N < int64(minN)
	return p
}

func round(v float64, places int) float64 {
	f := math.Pow(10, float64(places))
	return math.Round(v*f) / f
}

// Periods lists the period labels from..to: 2026-01-15 (day), 2026-W03
// (ISO week), 2026-01 (month).
func Periods(from, to time.Time, interval string) []string {
	var out []string
	last := ""
	stop := time.Date(to.Year(), to.Month(), to.Day(), 12, 0, 0, 0, to.Location())
	for d := time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, from.Location()); !d.After(stop); d = d.AddDate(0, 0, 1) {
		p := PeriodOf(d, interval)
		if p != last {
			out = append(out, p)
			last = p
		}
	}
	return out
}

// PeriodOf labels the period that holds t.
func PeriodOf(t time.Time, interval string) string {
	switch interval {
	case "day":
		return t.Format(time.DateOnly)
	case "week":
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	default:
		return t.Format("2006-01")
	}
}

// periodCache maps a cell's day to its period, parsing each day once.
func periodCache(interval string, loc *time.Location) func(day string) string {
	cache := map[string]string{}
	return func(day string) string {
		if p, ok := cache[day]; ok {
			return p
		}
		t, err := time.ParseInLocation(rollup.DayLayout, day, loc)
		p := day
		if err == nil {
			p = PeriodOf(t.Add(12*time.Hour), interval)
		}
		cache[day] = p
		return p
	}
}

// NPS is a net promoter score with its 95 % confidence interval.
type NPS struct {
	NPS        float64 `json:"nps"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	N          int64   `json:"n"`
	Promoters  int64   `json:"promoters"`
	Passives   int64   `json:"passives"`
	Detractors int64   `json:"detractors"`
}

// NPSOf computes NPS = %promoters − %detractors with a normal-approximation
// 95 % interval: var = ((p+d) − (p−d)²)/n on proportions p and d.
func NPSOf(prom, pass, detr int64) NPS {
	n := prom + pass + detr
	out := NPS{N: n, Promoters: prom, Passives: pass, Detractors: detr}
	if n == 0 {
		return out
	}
	p, d := float64(prom)/float64(n), float64(detr)/float64(n)
	nps := p - d
	se := math.Sqrt(math.Max(0, (p+d)-nps*nps) / float64(n))
	out.NPS = round(100*nps, 2)
	out.Low = round(math.Max(-100, 100*(nps-1.96*se)), 2)
	out.High = round(math.Min(100, 100*(nps+1.96*se)), 2)
	return out
}
