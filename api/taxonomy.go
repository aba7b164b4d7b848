package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"dongting/index/tagging"
)

// Taxonomy lifecycle: versions, changes checked on the golden set, dry
// runs, the background re-tagging, discovery. Changes and dry runs read
// every org's records, so they need an unscoped admin or analyst key.

// readBody reads a raw body of at most limit bytes that must be UTF-8.
func readBody(c echo.Context, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("%s over %d KiB", what, limit>>10)}
	}
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "could not read the body"}
	}
	if !utf8.Valid(b) {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_body", Message: what + " is not valid UTF-8"}
	}
	return b, nil
}

// author names who makes a change: the key's name (and id).
func author(c echo.Context) string {
	if k := keyOf(c); k != nil {
		if k.Name != "" {
			return k.Name + " (" + k.ID + ")"
		}
		return k.ID
	}
	return "api"
}

// taggingError maps the lifecycle's errors to statuses.
func taggingError(err error) error {
	var ie *tagging.InvalidError
	var re *tagging.RefusedError
	switch {
	case errors.As(err, &ie):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_" + ie.Field, Field: ie.Field, Message: ie.Err.Error()}
	case errors.As(err, &re):
		return &refusal{re}
	case errors.Is(err, tagging.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Field: "version", Message: "no such taxonomy version"}
	}
	return err
}

// refusal is a 409 that carries the golden report beside the error.
type refusal struct{ *tagging.RefusedError }

func (s *Server) versions(c echo.Context) error {
	vs, err := s.tagging.Versions()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"versions": vs, "job": s.tagging.Job()})
}

func (s *Server) version(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n <= 0 {
		return badParam("n", "a version number (1, 2, …)")
	}
	v, err := s.tagging.Version(n)
	if err != nil {
		return taggingError(err)
	}
	switch c.QueryParam("format") {
	case "", "json":
		return c.JSON(http.StatusOK, v)
	case "yaml":
		return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", []byte(v.Source))
	}
	return badParam("format", "json or yaml")
}

func (s *Server) replaceTaxonomy(c echo.Context) error {
	force, err := boolParam(c, "force")
	if err != nil {
		return err
	}
	note := c.QueryParam("note")
	if utf8.RuneCountInString(note) > 500 {
		return badParam("note", "at most 500 characters")
	}
	src, err := readBody(c, tagging.MaxSource, "the taxonomy")
	if err != nil {
		return err
	}
	res, err := s.tagging.Replace(c.Request().Context(), src, author(c), note, force)
	if err != nil {
		return taggingError(err)
	}
	s.audit(c, "taxonomy.replace", strconv.Itoa(res.Version.Version), fmt.Sprintf("%d nodes changed, forced=%v", len(res.Version.Diff), res.Version.Forced))
	return c.JSON(http.StatusOK, res)
}

func (s *Server) rollbackTaxonomy(c echo.Context) error {
	var body struct {
		Version int    `json:"version"`
		Note    string `json:"note"`
		Force   bool   `json:"force"`
	}
	if err := decodeSmallJSON(c, &body); err != nil {
		return err
	}
	if body.Version <= 0 {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "version", Message: "the version to roll back to (1, 2, …)"}
	}
	res, err := s.tagging.Rollback(c.Request().Context(), body.Version, author(c), body.Note, body.Force)
	if err != nil {
		return taggingError(err)
	}
	s.audit(c, "taxonomy.rollback", strconv.Itoa(res.Version.Version), fmt.Sprintf("to version %d, forced=%v", body.Version, res.Version.Forced))
	return c.JSON(http.StatusOK, res)
}

// scanParams reads limit (records read: 0 the default, -1 all) and samples.
func scanParams(c echo.Context) (limit, samples int, err error) {
	if v := c.QueryParam("limit"); v == "all" {
		limit = -1
	} else if limit, err = intParam(c, "limit", 1, 10_000_000); err != nil {
		return 0, 0, badParam("limit", "records to read, newest first: 1 to 10000000, or all")
	}
	if samples, err = intParam(c, "samples", 0, 20); err != nil {
		return 0, 0, err
	}
	if c.QueryParam("samples") == "" {
		samples = 3
	}
	return limit, samples, nil
}

func (s *Server) dryRun(c echo.Context) error {
	limit, samples, err := scanParams(c)
	if err != nil {
		return err
	}
	src, err := readBody(c, tagging.MaxSource, "the taxonomy")
	if err != nil {
		return err
	}
	out, err := s.tagging.DryRun(c.Request().Context(), src, limit, samples)
	if err != nil {
		return taggingError(err)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) dryRunRule(c echo.Context) error {
	limit, samples, err := scanParams(c)
	if err != nil {
		return err
	}
	var body struct {
		Rule string `json:"rule"`
	}
	if err := decodeSmallJSON(c, &body); err != nil {
		return err
	}
	out, err := s.tagging.DryRunRule(c.Request().Context(), body.Rule, limit, samples)
	if err != nil {
		return taggingError(err)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) retagJob(c echo.Context) error {
	return c.JSON(http.StatusOK, s.tagging.Job())
}

func (s *Server) getGolden(c echo.Context) error {
	src, err := s.tagging.GoldenSource()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/x-ndjson; charset=utf-8", src)
}

func (s *Server) putGolden(c echo.Context) error {
	src, err := readBody(c, 4<<20, "the golden set")
	if err != nil {
		return err
	}
	n, err := s.tagging.SetGolden(src)
	if err != nil {
		return taggingError(err)
	}
	s.audit(c, "golden.replace", "", fmt.Sprintf("%d cases", n))
	return c.JSON(http.StatusOK, map[string]any{"cases": n, "built_in": n == 0})
}

func (s *Server) discover(c echo.Context) error {
	opt := tagging.DiscoverOptions{Target: c.QueryParam("target")}
	var err error
	if opt.Limit, opt.Samples, err = scanParams(c); err != nil {
		return err
	}
	if opt.MinDocs, err = intParam(c, "min_docs", 2, 1_000_000); err != nil {
		return err
	}
	if opt.Clusters, err = intParam(c, "clusters", 1, 100); err != nil {
		return err
	}
	loc := s.corpus.Location()
	if opt.From, err = parseTime("from", c.QueryParam("from"), loc); err != nil {
		return err
	}
	if opt.To, err = parseTime("to", c.QueryParam("to"), loc); err != nil {
		return err
	}
	out, err := s.tagging.Discover(c.Request().Context(), opt)
	if err != nil {
		return taggingError(err)
	}
	return c.JSON(http.StatusOK, out)
}

func boolParam(c echo.Context, name string) (bool, error) {
	switch c.QueryParam(name) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, badParam(name, "true or false")
}
