package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"dongting/index"
	"dongting/index/fulltext"
)

// maxQueryLen bounds the query string (runes): rules longer than this are
// not searches.
const maxQueryLen = 500

func badParam(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Field: field, Message: msg}
}

// list reads a parameter given repeatedly or comma-separated.
func list(c echo.Context, name string) []string {
	var out []string
	for _, v := range c.QueryParams()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func oneOf(field string, values, allowed []string) error {
	for _, v := range values {
		ok := false
		for _, a := range allowed {
			ok = ok || v == a
		}
		if !ok {
			return badParam(field, fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", ")))
		}
	}
	return nil
}

// parseTime takes RFC 3339 or a date (midnight in the service's zone).
func parseTime(field, v string, loc *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		return t, nil
	}
	return time.Time{}, badParam(field, "not a date (2026-03-01) or RFC 3339 time")
}

func optInt(field, v string, lo, hi int) (*int, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return nil, badParam(field, fmt.Sprintf("a whole number %d–%d", lo, hi))
	}
	return &n, nil
}

// query reads the search parameters shared by search and export.
func (s *Server) query(c echo.Context) (*fulltext.Query, error) {
	q := &fulltext.Query{
		Q:          strings.TrimSpace(c.QueryParam("q")),
		Touchpoint: list(c, "touchpoint"),
		Scene:      list(c, "scene"),
		Dimension:  list(c, "dimension"),
		Sentiment:  list(c, "sentiment"),
		Severity:   list(c, "severity"),
		Channel:    list(c, "channel"),
		Kind:       list(c, "kind"),
		Org:        strings.Trim(c.QueryParam("org"), "/ "),
		Sort:       c.QueryParam("sort"),
		Cursor:     c.QueryParam("cursor"),
		Facets:     list(c, "facets"),
		Highlight:  c.QueryParam("highlight") != "false",
	}
	if err := scopeOrg(c, &q.Org); err != nil {
		return nil, err
	}
	if err := s.excludes(c, q); err != nil {
		return nil, err
	}
	if !utf8.ValidString(q.Q) {
		return nil, badParam("q", "not valid UTF-8")
	}
	if utf8.RuneCountInString(q.Q) > maxQueryLen {
		return nil, badParam("q", fmt.Sprintf("longer than %d characters", maxQueryLen))
	}
	tax := s.an().Taxonomy()
	for _, f := range []struct {
		name string
		ids  []string
	}{{"touchpoint", q.Touchpoint}, {"scene", q.Scene}, {"dimension", q.Dimension}} {
		for _, id := range f.ids {
			if _, ok := tax.Node(id); !ok {
				return nil, badParam(f.name, fmt.Sprintf("no taxonomy node %q (see /api/v1/taxonomy)", id))
			}
		}
	}
	if err := oneOf("sentiment", q.Sentiment, []string{"negative", "neutral", "positive"}); err != nil {
		return nil, err
	}
	if err := oneOf("severity", q.Severity, []string{"P1", "P2", "P3", "none"}); err != nil {
		return nil, err
	}
	// A date is midnight in the service's zone, as for trends: the index's
	// day terms are that zone's, so a date range reads whole days.
	var err error
	loc := s.corpus.Location()
	if q.From, err = parseTime("from", c.QueryParam("from"), loc); err != nil {
		return nil, err
	}
	if q.To, err = parseTime("to", c.QueryParam("to"), loc); err != nil {
		return nil, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return nil, badParam("to", "must be after from")
	}
	if q.NPSMin, err = optInt("nps_min", c.QueryParam("nps_min"), 0, 10); err != nil {
		return nil, err
	}
	if q.NPSMax, err = optInt("nps_max", c.QueryParam("nps_max"), 0, 10); err != nil {
		return nil, err
	}
	if v := c.QueryParam("size"); v != "" {
		n, err := optInt("size", v, 1, fulltext.MaxPageSize)
		if err != nil {
			return nil, err
		}
		q.Size = *n
	}
	return q, nil
}

// queryError answers a search stopped at its deadline with a 503; a query
// the layers refused is their analyzer.Error (see refused).
func queryError(err error) error {
	switch {
	case errors.Is(err, index.ErrSearchTimeout):
		return &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Field: "q",
			Message: "the search ran past its deadline and was stopped: narrow it (fewer words, a filter, a shorter time range)"}
	}
	return err
}

// chargeQuery takes what a query costs beyond its request from the key's
// rate limit (index.Corpus.Weight): a query that searches much costs
// several requests.
func (s *Server) chargeQuery(c echo.Context, q *fulltext.Query) error {
	w, err := s.corpus.Weight(q)
	if err != nil {
		return queryError(err)
	}
	return s.charge(c, w-1)
}

func (s *Server) search(c echo.Context) error {
	q, err := s.query(c)
	if err != nil {
		return err
	}
	if err := s.chargeQuery(c, q); err != nil {
		return err
	}
	p, err := s.corpus.Search(c.Request().Context(), q)
	if err != nil {
		return queryError(err)
	}
	s.nameFacets(p)
	for i := range p.Hits {
		p.Hits[i].ID = ownID(c, p.Hits[i].ID)
	}
	return c.JSON(http.StatusOK, p)
}

// exportColumns are the CSV export's columns.
var exportColumns = []string{"id", "occurred_at", "kind", "channel", "org", "sentiment", "score", "severity", "tags", "nps", "csat", "text"}

// export streams every matching record as CSV or NDJSON, page by page, so
// the result set is never held whole.
func (s *Server) export(c echo.Context) error {
	q, err := s.query(c)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "ndjson" {
		return badParam("format", "csv or ndjson")
	}
	if err := s.chargeQuery(c, q); err != nil {
		return err
	}
	// Check the query before the status line is sent.
	probe := *q
	probe.Size, probe.Facets, probe.Highlight = 1, nil, false
	if _, err := s.corpus.Search(c.Request().Context(), &probe); err != nil {
		return queryError(err)
	}
	s.audit(c, "export", format, "org="+q.Org)
	res := c.Response()
	if format == "csv" {
		res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	}
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="dongting-export.%s"`, format))
	res.WriteHeader(http.StatusOK)
	w := bufio.NewWriterSize(res, 64*1024)
	var cw *csvWriter
	if format == "csv" {
		w.WriteString("\ufeff") // so spreadsheet programs read UTF-8
		cw = newCSVWriter(w)
		cw.Write(exportColumns)
	}
	enc := json.NewEncoder(w)
	n := 0
	err = s.corpus.Each(c.Request().Context(), *q, func(h *index.Hit) error {
		n++
		h.ID = ownID(c, h.ID)
		h.Record.ID = h.ID
		if cw == nil {
			if err := enc.Encode(map[string]any{"record": h.Record, "analysis": h.Analysis}); err != nil {
				return err
			}
		} else {
			var label, score string
			if a := h.Analysis; a != nil {
				label, score = a.Sentiment.Label, strconv.FormatFloat(a.Sentiment.Score, 'f', 3, 64)
			}
			cw.Write([]string{h.ID, h.OccurredAt, h.Kind, h.Channel, h.Org, label, score, h.Severity,
				strings.Join(h.Tags, ";"), intString(h.NPS), intString(h.CSAT), h.Text})
		}
		if n%1000 == 0 {
			if cw != nil {
				cw.Flush()
			}
			if err := w.Flush(); err != nil {
				return err
			}
			res.Flush()
		}
		return nil
	})
	if cw != nil {
		cw.Flush()
	}
	w.Flush()
	if err != nil {
		// The status is sent: all we can do is stop and say so in the log.
		s.log.Error("export stopped", "rows", n, "err", err)
	}
	return nil
}

func intString(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}
