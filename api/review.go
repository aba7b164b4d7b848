package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/analyzer/learn"
	"dongting/index/review"
)

// Review and retraining: the queue of records in doubt (any reading key,
// within its scope), analysts' labels and the retraining from them (an
// unscoped admin or analyst: a label and a model change what every org's
// records get).

// reviewError maps the review's errors to statuses.
func reviewError(err error) error {
	var ie *review.InvalidError
	switch {
	case errors.As(err, &ie):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: ie.Field, Message: ie.Err.Error()}
	case errors.Is(err, review.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Field: "id", Message: "this record has no label"}
	case errors.Is(err, review.ErrNoRecord):
		return recordNotFound()
	case errors.Is(err, review.ErrBusy):
		return &Error{Status: http.StatusConflict, Code: "retrain_running", Message: "a retraining is running; try again when it is done"}
	}
	return err
}

func (s *Server) reviewQueue(c echo.Context) error {
	opt := review.QueueOptions{Allow: func(org string) bool { return allowed(c, org) }}
	var err error
	if opt.Limit, err = intParam(c, "limit", 1, review.MaxItems); err != nil {
		return err
	}
	reason, ok := review.ReasonParam(c.QueryParam("reason"))
	if !ok {
		return badParam("reason", "disagree or low_confidence (none: either)")
	}
	opt.Reason = reason
	if v := c.QueryParam("before"); v != "" {
		if opt.Before, err = strconv.ParseUint(v, 10, 64); err != nil || opt.Before == 0 {
			return badParam("before", "the next value of the previous page")
		}
	}
	q, err := s.review.Queue(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	for i := range q.Items {
		q.Items[i].ID = ownID(c, q.Items[i].ID)
	}
	return c.JSON(http.StatusOK, q)
}

func (s *Server) getLabel(c echo.Context) error {
	id, _, err := s.recordInScope(c)
	if err != nil {
		return err
	}
	l, err := s.review.Label(id)
	if err != nil {
		return reviewError(err)
	}
	l.ID = ownID(c, l.ID)
	return c.JSON(http.StatusOK, map[string]any{"label": l})
}

func (s *Server) putLabel(c echo.Context) error {
	id, _, err := s.recordInScope(c)
	if err != nil {
		return err
	}
	var body struct {
		Scenes      []string `json:"scenes"`
		Redline     bool     `json:"redline"`
		RedlineKind string   `json:"redline_kind"`
		Severity    string   `json:"severity"`
		Sentiment   string   `json:"sentiment"`
		Praise      bool     `json:"praise"`
	}
	if err := decodeSmallJSON(c, &body); err != nil {
		return err
	}
	l, err := s.review.SetLabel(id, learn.Label{Scenes: body.Scenes, Redline: body.Redline, RedlineKind: body.RedlineKind,
		Severity: body.Severity, Sentiment: body.Sentiment, Praise: body.Praise}, author(c))
	if err != nil {
		return reviewError(err)
	}
	s.audit(c, "review.label", id, fmt.Sprintf("scenes=[%s] severity=%s sentiment=%s praise=%v", strings.Join(l.Scenes, ","), l.Severity, l.Sentiment, l.Praise))
	l.ID = ownID(c, l.ID)
	return c.JSON(http.StatusOK, map[string]any{"label": l})
}

func (s *Server) retrain(c echo.Context) error {
	var body struct {
		Force bool `json:"force"`
		Retag bool `json:"retag"`
	}
	if err := decodeSmallJSON(c, &body); err != nil {
		return err
	}
	res, err := s.review.Retrain(c.Request().Context(), review.RetrainOptions{By: author(c), Force: body.Force, Retag: body.Retag})
	if err != nil {
		return reviewError(err)
	}
	target := ""
	if res.Version != nil {
		target = strconv.Itoa(res.Version.Version)
	}
	s.audit(c, "model.retrain", target, fmt.Sprintf("accepted=%v forced=%v scene_f1 %.3f→%.3f sentiment_acc %.3f→%.3f (%d dev cases)",
		res.Accepted, res.Forced, res.Before.SceneF1, res.After.SceneF1, res.Before.SentimentAcc, res.After.SentimentAcc, res.After.N))
	return c.JSON(http.StatusOK, res)
}

func (s *Server) models(c echo.Context) error {
	ms, err := s.review.Models()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ms)
}
