package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/index/alerts"
)

// alertSummary is GET /api/v1/alerts/summary: how many alerts there are
// by status, and of the unresolved ones (open or acknowledged) by
// severity and source, and how many open ones have been escalated (nobody
// acknowledged them in time), in the caller's scope (org narrows it), for an inbox's tabs
// and an overview's open-P1 card. Counts are of alerts, each of which may
// group many records (their sum is in records).
func (s *Server) alertSummary(c echo.Context) error {
	q := alerts.ListQuery{Org: strings.Trim(c.QueryParam("org"), "/ "), Source: list(c, "source"), Severity: list(c, "severity"), Limit: 500}
	if err := scopeOrg(c, &q.Org); err != nil {
		return err
	}
	if err := oneOf("source", q.Source, alerts.Sources); err != nil {
		return err
	}
	if err := oneOf("severity", q.Severity, []string{"P1", "P2", "P3", "none"}); err != nil {
		return err
	}
	byStatus := map[string]int{alerts.StatusOpen: 0, alerts.StatusAcknowledged: 0, alerts.StatusResolved: 0, alerts.StatusClosed: 0}
	severity, source := map[string]int{}, map[string]int{}
	escalated, records := 0, 0
	for {
		page, err := s.alerts.List(q)
		if err != nil {
			return queryError(err)
		}
		for _, al := range page {
			byStatus[al.Status]++
			if al.Status != alerts.StatusOpen && al.Status != alerts.StatusAcknowledged {
				continue
			}
			severity[al.Severity]++
			source[al.Source]++
			records += al.Count
			if al.Status == alerts.StatusOpen && al.Step > 0 {
				escalated++
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.Before = page[len(page)-1].ID
	}
	return c.JSON(http.StatusOK, map[string]any{"status": byStatus, "unresolved": map[string]any{
		"severity": severity, "source": source, "records": records, "escalated": escalated}})
}
