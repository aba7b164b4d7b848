package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/api/llm"
	"dongting/index/store"
)

// LLM help: optional, off unless the server was started with an
// endpoint. Every answer is a suggestion; nothing here changes a record.

// llmError maps the assistant's errors to statuses.
func llmError(err error) error {
	var be *llm.BudgetError
	var ue *llm.UpstreamError
	switch {
	case errors.Is(err, llm.ErrNotConfigured):
		return &Error{Status: http.StatusServiceUnavailable, Code: "llm_not_configured", Message: err.Error()}
	case errors.As(err, &be):
		return &Error{Status: http.StatusTooManyRequests, Code: "llm_budget", Message: be.Error()}
	case errors.As(err, &ue) && ue.Timeout:
		return &Error{Status: http.StatusGatewayTimeout, Code: "llm_timeout", Message: "the model did not answer in time"}
	case errors.As(err, &ue):
		return &Error{Status: http.StatusBadGateway, Code: "llm_upstream", Message: "the model's endpoint failed: " + ue.Error()}
	}
	return err
}

func (s *Server) llmStatus(c echo.Context) error {
	if !s.llm.Enabled() {
		return c.JSON(http.StatusOK, map[string]any{"enabled": false, "message": llm.ErrNotConfigured.Error()})
	}
	u, err := s.llm.Usage()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"enabled": true, "model": s.llm.Model(), "usage": u})
}

// maxLLMRecords bounds the records one prompt quotes.
const maxLLMRecords = 50

// llmSummary summarizes the records a search finds (the search's
// parameters; max records, newest or most relevant first as sorted).
func (s *Server) llmSummary(c echo.Context) error {
	if !s.llm.Enabled() {
		return llmError(llm.ErrNotConfigured)
	}
	q, err := s.query(c)
	if err != nil {
		return err
	}
	if q.Size, err = intParam(c, "max", 1, maxLLMRecords); err != nil {
		return err
	}
	if q.Size == 0 {
		q.Size = 30
	}
	q.Facets, q.Highlight = nil, false
	p, err := s.corpus.Search(c.Request().Context(), q)
	if err != nil {
		return queryError(err)
	}
	if len(p.Hits) == 0 {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "no_records", Message: "the search finds no records to summarize"}
	}
	ids := make([]string, len(p.Hits))
	for i, h := range p.Hits {
		ids[i] = h.ID
	}
	recs, err := s.found(ids)
	if err != nil {
		return err
	}
	for _, st := range recs {
		st.Record.ID = ownID(c, st.Record.ID) // the ids it cites are the caller's
	}
	var focus []string
	for _, k := range []string{"q", "touchpoint", "scene", "sentiment", "severity", "channel", "org", "from", "to"} {
		if v := c.QueryParam(k); v != "" {
			focus = append(focus, k+"="+v)
		}
	}
	sum, err := s.llm.Summarize(c.Request().Context(), recs, strings.Join(focus, "; "))
	if err != nil {
		return llmError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"summary": sum, "matched": p.Total})
}

// found fetches stored records by id, skipping any deleted meanwhile.
func (s *Server) found(ids []string) ([]*store.Stored, error) {
	got, err := s.corpus.Store().GetMany(ids)
	if err != nil {
		return nil, err
	}
	var out []*store.Stored
	for _, st := range got {
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// llmBody asks about stored records (and, for a node, a cluster's terms).
type llmBody struct {
	Terms     []string `json:"terms"`
	RecordIDs []string `json:"record_ids"`
}

// maxAskedRecords bounds the records a suggestion request names.
const maxAskedRecords = 20

// llmRecords is the start of every LLM request about stored records: LLM
// help must be on; the body is read and its 1 to maxAskedRecords records
// fetched.
func (s *Server) llmRecords(c echo.Context, body *llmBody) ([]*store.Stored, error) {
	if !s.llm.Enabled() {
		return nil, llmError(llm.ErrNotConfigured)
	}
	if err := decodeSmallJSON(c, body); err != nil {
		return nil, err
	}
	if len(body.RecordIDs) == 0 || len(body.RecordIDs) > maxAskedRecords {
		return nil, &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "record_ids", Message: "give 1 to " + strconv.Itoa(maxAskedRecords) + " record ids"}
	}
	recs := make([]*store.Stored, len(body.RecordIDs))
	for i, id := range body.RecordIDs {
		_, st, err := s.lookup(c, id)
		if e := (*Error)(nil); errors.As(err, &e) && e.Status == http.StatusNotFound {
			return nil, &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "record_ids", Message: fmt.Sprintf("%.40q is not a stored record", id)}
		}
		if err != nil {
			return nil, err
		}
		recs[i] = st
	}
	return recs, nil
}

func (s *Server) llmSuggestNode(c echo.Context) error {
	var body llmBody
	recs, err := s.llmRecords(c, &body)
	if err != nil {
		return err
	}
	if len(body.Terms) == 0 || len(body.Terms) > 20 {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "terms", Message: "give 1 to 20 terms (a discovery cluster's)"}
	}
	out, err := s.llm.SuggestNode(c.Request().Context(), s.an().Taxonomy(), body.Terms, recs)
	if err != nil {
		return llmError(err)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) llmSuggestTags(c echo.Context) error {
	var body llmBody
	recs, err := s.llmRecords(c, &body)
	if err != nil {
		return err
	}
	out, ans, err := s.llm.SuggestTags(c.Request().Context(), s.an().Taxonomy(), recs)
	if err != nil {
		return llmError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"suggestions": out, "applied": false, "model": ans.Model, "cached": ans.Cached, "tokens": ans.Tokens})
}
