package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"dongting/analyzer"
	"dongting/index/scoring"
)

// filter reads the parameters every dashboard answer shares: org subtree,
// channel, kind, touchpoint, dimension and a date range (inclusive days in
// the rollup time zone).
func (s *Server) filter(c echo.Context) (scoring.Filter, error) {
	f := scoring.Filter{
		Org:        c.QueryParam("org"),
		Channels:   list(c, "channel"),
		Kinds:      list(c, "kind"),
		Touchpoint: c.QueryParam("touchpoint"),
		Dimension:  c.QueryParam("dimension"),
	}
	if err := oneOf("kind", f.Kinds, analyzer.Kinds); err != nil {
		return f, err
	}
	if err := scopeOrg(c, &f.Org); err != nil {
		return f, err
	}
	loc := s.scorer.Location()
	if tz := c.QueryParam("tz"); tz != "" && tz != loc.String() {
		return f, badParam("tz", fmt.Sprintf("rollups are kept in %s; start the server with -tz %s to cut periods there", loc, tz))
	}
	var err error
	if f.From, err = parseTime("from", c.QueryParam("from"), loc); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to", c.QueryParam("to"), loc); err != nil {
		return f, err
	}
	return f, nil
}

func intParam(c echo.Context, name string, lo, hi int) (int, error) {
	p, err := optInt(name, c.QueryParam(name), lo, hi)
	if err != nil || p == nil {
		return 0, err
	}
	return *p, nil
}

// trends answers GET /api/v1/trends: one metric per period and group, as
// JSON or as a CSV table (period, group, value, n) for BI tools.
func (s *Server) trends(c echo.Context) error {
	f, err := s.filter(c)
	if err != nil {
		return err
	}
	q := scoring.TrendQuery{Filter: f, Metric: c.QueryParam("metric"), Interval: c.QueryParam("interval"), GroupBy: c.QueryParam("group_by")}
	if q.OrgLevel, err = intParam(c, "level", 1, 10); err != nil {
		return err
	}
	if q.MinN, err = intParam(c, "min_n", 0, 1_000_000); err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "csv" {
		return badParam("format", "json or csv")
	}
	t, err := s.scorer.Trend(q)
	if err != nil {
		return queryError(err)
	}
	if format != "csv" {
		return c.JSON(http.StatusOK, t)
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="dongting-trend.csv"`)
	res.WriteHeader(http.StatusOK)
	res.Write([]byte("\ufeff"))
	w := newCSVWriter(res)
	w.Write([]string{"period", "group", "name", "metric", "value", "n", "low", "high", "insufficient"})
	for _, se := range t.Series {
		for _, p := range se.Points {
			w.Write([]string{p.Period, se.Key, se.Name, t.Metric, num(p.Value), strconv.FormatInt(p.N, 10), num(p.Low), num(p.High), strconv.FormatBool(p.Insufficient)})
		}
	}
	w.Flush()
	return w.Error()
}

func num(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

// nps answers GET /api/v1/scores/nps: NPS with n and its 95 % interval per
// period and group (org level or scene), points under min_n marked.
func (s *Server) nps(c echo.Context) error {
	f, err := s.filter(c)
	if err != nil {
		return err
	}
	q := scoring.TrendQuery{Filter: f, Metric: "nps", Interval: c.QueryParam("interval"), GroupBy: c.QueryParam("group_by"), MinN: 30}
	if q.Interval == "" {
		q.Interval = "month"
	}
	if err := oneOf("group_by", []string{q.GroupBy}, []string{"", "org", "scene", "channel", "kind"}); err != nil {
		return err
	}
	if q.OrgLevel, err = intParam(c, "level", 1, 10); err != nil {
		return err
	}
	if v := c.QueryParam("min_n"); v != "" {
		if q.MinN, err = intParam(c, "min_n", 0, 1_000_000); err != nil {
			return err
		}
	}
	t, err := s.scorer.Trend(q)
	if err != nil {
		return queryError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"min_n": q.MinN, "nps": t})
}

// filterMinN reads the filter and min_n.
func (s *Server) filterMinN(c echo.Context) (scoring.Filter, int, error) {
	f, err := s.filter(c)
	if err != nil {
		return f, 0, err
	}
	minN, err := intParam(c, "min_n", 0, 1_000_000)
	return f, minN, err
}

func (s *Server) experience(c echo.Context) error {
	f, minN, err := s.filterMinN(c)
	if err != nil {
		return err
	}
	if s.indicators == nil {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "no_indicators", Message: s.indicatorsErr.Error()}
	}
	ex, err := s.scorer.Experience(s.indicators, f, minN)
	if err != nil {
		return queryError(err)
	}
	return c.JSON(http.StatusOK, ex)
}

func (s *Server) drivers(c echo.Context) error {
	f, minN, err := s.filterMinN(c)
	if err != nil {
		return err
	}
	d, err := s.scorer.Drivers(f, minN)
	if err != nil {
		return queryError(err)
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) movers(c echo.Context) error {
	f, err := s.filter(c)
	if err != nil {
		return err
	}
	q := scoring.MoversQuery{Filter: f, Measure: c.QueryParam("measure")}
	minV, err := intParam(c, "min_volume", 1, 1_000_000)
	if err != nil {
		return err
	}
	q.MinVolume = int64(minV)
	if q.Limit, err = intParam(c, "limit", 1, 200); err != nil {
		return err
	}
	if v := c.QueryParam("q"); v != "" {
		if q.Q, err = strconv.ParseFloat(v, 64); err != nil || q.Q <= 0 || q.Q >= 1 {
			return badParam("q", "a false discovery rate between 0 and 1, e.g. 0.05")
		}
	}
	m, err := s.scorer.Movers(q)
	if err != nil {
		return queryError(err)
	}
	return c.JSON(http.StatusOK, m)
}

// coverage answers GET /api/v1/coverage: the share of records any
// touchpoint matched, per period, overall or by channel or kind.
func (s *Server) coverage(c echo.Context) error {
	f, err := s.filter(c)
	if err != nil {
		return err
	}
	cov, err := s.scorer.Coverage(scoring.CoverageQuery{Filter: f, Interval: c.QueryParam("interval"), GroupBy: c.QueryParam("group_by")})
	if err != nil {
		return queryError(err)
	}
	return c.JSON(http.StatusOK, cov)
}
