package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"dongting/index"
)

// Bucket is one period of a histogram: [Start, End) in the service's zone.
type Bucket struct {
	Start string `json:"start"` // YYYY-MM-DD
	End   string `json:"end"`   // exclusive
	Label string `json:"label"` // 2026-03-01, 2026-W09 or 2026-03
	Count int    `json:"count"`
}

// maxBuckets bounds a histogram: beyond it, ask for a coarser interval.
const maxBuckets = 1000

// histogram is GET /api/v1/search/histogram: how many records a search
// (every search parameter applies) finds per day, ISO week or month, from
// the day facet of the index, with empty periods filled in. The span is
// from..to when given, else the first to the last day with hits.
// interval=auto takes days up to ~4 months, weeks up to ~2 years, then
// months.
func (s *Server) histogram(c echo.Context) error {
	q, err := s.query(c)
	if err != nil {
		return err
	}
	interval := c.QueryParam("interval")
	if interval == "" {
		interval = "auto"
	}
	if err := oneOf("interval", []string{interval}, []string{"auto", "day", "week", "month"}); err != nil {
		return err
	}
	q.Size, q.Cursor, q.Highlight, q.Facets = 1, "", false, []string{"day"}
	p, err := s.corpus.Search(c.Request().Context(), q)
	if err != nil {
		return queryError(err)
	}
	loc := s.corpus.Location()
	days := map[string]int{}
	var first, last time.Time
	for _, f := range p.Facets["day"] {
		d, err := time.ParseInLocation("20060102", f.Value, loc)
		if err != nil {
			continue // not a day term
		}
		days[d.Format(time.DateOnly)] += f.Count
		if first.IsZero() || d.Before(first) {
			first = d
		}
		if d.After(last) {
			last = d
		}
	}
	if !q.From.IsZero() {
		first = midnight(q.From.In(loc))
	}
	if !q.To.IsZero() {
		// to is exclusive: its day is in only if it does not start at midnight.
		last = midnight(q.To.In(loc).Add(-time.Nanosecond))
	}
	out := map[string]any{"interval": interval, "zone": loc.String(), "total": p.Total, "buckets": []Bucket{}, "took_ms": p.TookMS}
	if first.IsZero() || last.Before(first) {
		return c.JSON(http.StatusOK, out)
	}
	span := int(last.Sub(first).Hours()/24) + 1
	if interval == "auto" {
		switch {
		case span <= 120:
			interval = "day"
		case span <= 730:
			interval = "week"
		default:
			interval = "month"
		}
	}
	start := periodStart(first, interval)
	var buckets []Bucket
	for t := start; !t.After(last); t = nextPeriod(t, interval) {
		if len(buckets) == maxBuckets {
			return badParam("interval", "more than 1000 periods: use a coarser interval or a shorter from..to")
		}
		end := nextPeriod(t, interval)
		b := Bucket{Start: t.Format(time.DateOnly), End: end.Format(time.DateOnly), Label: periodLabel(t, interval)}
		for d := t; d.Before(end); d = d.AddDate(0, 0, 1) {
			b.Count += days[d.Format(time.DateOnly)]
		}
		buckets = append(buckets, b)
	}
	out["interval"], out["buckets"] = interval, buckets
	out["from"], out["to"] = buckets[0].Start, buckets[len(buckets)-1].End
	return c.JSON(http.StatusOK, out)
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// periodStart is the day, the Monday of the ISO week or the first of the
// month that holds t (midnight).
func periodStart(t time.Time, interval string) time.Time {
	t = midnight(t)
	switch interval {
	case "week":
		return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	case "month":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	}
	return t
}

func nextPeriod(t time.Time, interval string) time.Time {
	switch interval {
	case "week":
		return t.AddDate(0, 0, 7)
	case "month":
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

func periodLabel(t time.Time, interval string) string {
	switch interval {
	case "week":
		y, w := t.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	case "month":
		return t.Format("2006-01")
	}
	return t.Format(time.DateOnly)
}

// nameFacets gives the values of the taxonomy facets (scene, touchpoint,
// dimension) their names, the path from the scene down ("公共设施设备/电梯"),
// so a client shows no ids. A node since removed from the taxonomy keeps
// only its id.
func (s *Server) nameFacets(p *index.Page) {
	tax := s.an().Taxonomy()
	for _, f := range []string{"scene", "touchpoint", "dimension"} {
		for i := range p.Facets[f] {
			if n, ok := tax.Node(p.Facets[f][i].Value); ok {
				p.Facets[f][i].Name = strings.Join(n.Path, "/")
			}
		}
	}
}
