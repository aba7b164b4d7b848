package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/index/alerts"
	"dongting/index/store"
)

func (s *Server) listAlerts(c echo.Context) error {
	q := alerts.ListQuery{Status: list(c, "status"), Source: list(c, "source"), Severity: list(c, "severity"),
		Org: strings.Trim(c.QueryParam("org"), "/ "), Scene: c.QueryParam("scene"), Before: c.QueryParam("before")}
	if err := scopeOrg(c, &q.Org); err != nil {
		return err
	}
	if err := oneOf("status", q.Status, []string{alerts.StatusOpen, alerts.StatusAcknowledged, alerts.StatusResolved, alerts.StatusClosed}); err != nil {
		return err
	}
	if err := oneOf("source", q.Source, alerts.Sources); err != nil {
		return err
	}
	if err := oneOf("severity", q.Severity, []string{"P1", "P2", "P3", "none"}); err != nil {
		return err
	}
	var err error
	if q.Limit, err = intParam(c, "limit", 1, 500); err != nil {
		return err
	}
	out, err := s.alerts.List(q)
	if err != nil {
		return queryError(err)
	}
	if out == nil {
		out = []*alerts.Alert{}
	}
	for _, al := range out {
		ownIDs(c, al.RecordIDs)
	}
	resp := map[string]any{"alerts": out}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if len(out) == q.Limit {
		resp["next"] = out[len(out)-1].ID // pass as before= for the next page
	}
	return c.JSON(http.StatusOK, resp)
}

func alertNotFound(id string) error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no alert " + strconv.Quote(id), Field: "id"}
}

func (s *Server) getAlert(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	al, err := s.alerts.Get(id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !allowed(c, al.Org) {
		return alertNotFound(id)
	}
	if err != nil {
		return err
	}
	ownIDs(c, al.RecordIDs)
	return c.JSON(http.StatusOK, al)
}

// actAlert is POST /alerts/{id}/{action} with {"by": "…", "note": "…"}.
func (s *Server) actAlert(c echo.Context) error {
	action := c.Param("action")
	if !slices.Contains(alerts.Actions, action) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Field: "action", Message: "action is one of " + strings.Join(alerts.Actions, ", ")}
	}
	var body struct {
		By   string `json:"by"`
		Note string `json:"note"`
	}
	if err := decodeSmallJSON(c, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.By) == "" {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "by", Message: "required: who takes the action"}
	}
	if len(body.By) > 200 || len(body.Note) > 4000 {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "note", Message: "by is at most 200 bytes, note at most 4000"}
	}
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	if cur, err := s.alerts.Get(id); err == nil && !allowed(c, cur.Org) {
		return alertNotFound(id)
	}
	al, err := s.alerts.Act(id, action, body.By, body.Note)
	if err == nil {
		s.audit(c, "alert."+action, al.ID, "by "+body.By)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return alertNotFound(id)
	case errors.Is(err, alerts.ErrTransition):
		return &Error{Status: http.StatusConflict, Code: "conflict", Field: "action", Message: strings.TrimPrefix(err.Error(), "alerts: ")}
	case err != nil:
		return err
	}
	ownIDs(c, al.RecordIDs)
	return c.JSON(http.StatusOK, al)
}

func (s *Server) getRouting(c echo.Context) error { return c.JSON(http.StatusOK, s.alerts.Config()) }

// putRouting replaces the alert routing (JSON or YAML). Secrets shown as
// ******** by GET are kept when sent back unchanged.
func (s *Server) putRouting(c echo.Context) error {
	b, err := readBody(c, 1<<20, "the routing")
	if err != nil {
		return err
	}
	cfg, err := alerts.ParseConfig(b)
	if err != nil {
		return err
	}
	if err := s.alerts.SetConfig(cfg, "api"); err == nil {
		s.audit(c, "routing.replace", "", fmt.Sprintf("%d receivers", len(cfg.Receivers)))
	} else {
		return err
	}
	return c.JSON(http.StatusOK, s.alerts.Config())
}

func (s *Server) outbox(c echo.Context) error {
	ob, err := s.alerts.Outbox()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ob)
}
