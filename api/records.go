package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/analyzer"
	"dongting/index"
	"dongting/index/store"
	"dongting/taxonomy"
)

// chunk is how many records of a batch upload are analyzed and committed
// together: large enough to amortize the bbolt commit, small enough that an
// upload is never held whole.
const chunk = 500

// maxReportedErrors bounds the per-line errors one batch answer lists.
const maxReportedErrors = 1000

func (s *Server) waitIndexed(c echo.Context, seq uint64) (bool, error) {
	switch c.QueryParam("wait") {
	case "":
		return false, nil
	case "indexed":
	default:
		return false, &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Field: "wait", Message: "the only value is indexed"}
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.limits.WaitIndexed)
	defer cancel()
	if err := s.corpus.WaitIndexed(ctx, seq); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return false, nil // stored; searchable soon
		}
		return false, err
	}
	return true, nil
}

// putRecord stores one record: 201 when new, 200 when it replaced one with
// the same id.
func (s *Server) putRecord(c echo.Context) error {
	r, err := decodeRecord(c)
	if err != nil {
		return err
	}
	if e := s.outOfScope(c, r); e != nil {
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Field: e.Field, Message: e.Message}
	}
	res, err := s.ingest(c, []*analyzer.Record{r})
	if err != nil {
		return err
	}
	s.metrics.countIngest(res, 0)
	if res[0].Err != nil {
		return res[0].Err
	}
	indexed, err := s.waitIndexed(c, res[0].Seq)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res[0].Replaced {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"id": res[0].ID, "seq": res[0].Seq, "replaced": res[0].Replaced, "indexed": indexed, "analysis": res[0].Analysis})
}

// lineError is one rejected line of a batch.
type lineError struct {
	Line    int    `json:"line"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func toLineError(line int, id string, err error) lineError {
	var fe *analyzer.Error
	var je *analyzer.JSONError
	switch {
	case errors.As(err, &fe):
		e := refused(fe)
		return lineError{line, id, e.Code, e.Field, e.Message}
	case errors.As(err, &je):
		return lineError{line, id, "invalid_json", je.Field, je.Reason}
	}
	return lineError{line, id, "invalid", "", err.Error()}
}

// batchReport is the answer to a batch upload: every line not listed in
// errors was stored.
type batchReport struct {
	Format          string      `json:"format"`
	Received        int         `json:"received"`
	Accepted        int         `json:"accepted"`
	Replaced        int         `json:"replaced"`
	Failed          int         `json:"failed"`
	LastSeq         uint64      `json:"last_seq,omitempty"`
	Indexed         bool        `json:"indexed"`
	Errors          []lineError `json:"errors"`
	ErrorsTruncated bool        `json:"errors_truncated,omitempty"`
	Error           *Error      `json:"error,omitempty"` // set when the upload stopped early
}

func (b *batchReport) fail(e lineError) {
	b.Failed++
	if len(b.Errors) < maxReportedErrors {
		b.Errors = append(b.Errors, e)
	} else {
		b.ErrorsTruncated = true
	}
}

// batchFormat is the upload's format: ?format= names it, or else its
// Content-Type says it (see analyzer.Formats).
func batchFormat(c echo.Context) (*analyzer.Format, error) {
	if name := c.QueryParam("format"); name != "" {
		f, err := analyzer.FormatNamed(name)
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Field: "format", Message: "one of " + analyzer.FormatNames()}
		}
		return f, nil
	}
	f, err := analyzer.FormatForContentType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "Content-Type",
			Message: "send " + analyzer.FormatContentTypes() + ", or say ?format="}
	}
	return f, nil
}

// putBatch streams an upload: records are read, analyzed and committed in
// chunks, so a bad line is reported and the good ones are kept, and an
// upload that breaks off (or outgrows a limit) keeps what came before.
func (s *Server) putBatch(c echo.Context) error {
	format, err := batchFormat(c)
	if err != nil {
		return err
	}
	body := http.MaxBytesReader(c.Response(), c.Request().Body, s.limits.BatchBody)
	rr, err := format.NewReader(body, analyzer.ReadOptions{Columns: csvMapping(c.QueryParam("columns")), Location: s.corpus.Location()})
	if err != nil {
		return batchOpenError(err)
	}
	rep := &batchReport{Format: format.Name, Errors: []lineError{}}
	var recs []*analyzer.Record
	var lines []int
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		res, err := s.ingest(c, recs)
		if err != nil {
			return err
		}
		s.metrics.countIngest(res, 0)
		for i, r := range res {
			if r.Err != nil {
				rep.fail(toLineError(lines[i], recs[i].ID, r.Err))
				continue
			}
			rep.Accepted++
			if r.Replaced {
				rep.Replaced++
			}
			rep.LastSeq = max(rep.LastSeq, r.Seq)
		}
		recs, lines = recs[:0], lines[:0]
		return nil
	}
	var stop *Error
	for {
		rec, line, err := rr.Next()
		if err == io.EOF {
			break
		}
		var le *analyzer.LineError
		if errors.As(err, &le) {
			rep.Received++
			s.metrics.countIngest(nil, 1)
			rep.fail(toLineError(le.Line, le.ID, le.Err))
			continue
		}
		if err != nil {
			stop = streamError(err, line)
			break
		}
		if rep.Received >= s.limits.BatchRecords {
			stop = &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_many_records", Field: "body",
				Message: fmt.Sprintf("more than %d records in one upload; the first %d were processed, send the rest separately", s.limits.BatchRecords, s.limits.BatchRecords)}
			break
		}
		rep.Received++
		if e := s.outOfScope(c, rec); e != nil {
			s.metrics.countIngest(nil, 1)
			rep.fail(lineError{Line: line, ID: rec.ID, Code: "forbidden", Field: e.Field, Message: e.Message})
			continue
		}
		recs, lines = append(recs, rec), append(lines, line)
		if len(recs) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if rep.LastSeq > 0 {
		if rep.Indexed, err = s.waitIndexed(c, rep.LastSeq); err != nil {
			return err
		}
	}
	status := http.StatusOK
	switch {
	case stop != nil:
		stop.Message += fmt.Sprintf(" (%d records before it were stored)", rep.Accepted)
		rep.Error, status = stop, stop.Status
	case rep.Accepted == 0 && rep.Failed > 0:
		status = http.StatusUnprocessableEntity
		rep.Error = &Error{Status: status, Code: "no_valid_records", Message: "no record in the upload was valid; see errors"}
	case rep.Received == 0:
		status = http.StatusBadRequest
		rep.Error = &Error{Status: status, Code: "empty", Field: "body", Message: "the upload holds no records"}
	}
	return c.JSON(status, rep)
}

// csvMapping parses ?columns=工单内容:text,单号:id (extra header mappings).
func csvMapping(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if from, to, ok := strings.Cut(pair, ":"); ok {
			m[strings.ToLower(strings.TrimSpace(from))] = strings.TrimSpace(to)
		}
	}
	return m
}

func batchOpenError(err error) error {
	var le *analyzer.LineError
	var je *analyzer.JSONError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "body", Message: "upload over the size limit"}
	case errors.As(err, &le):
		e := toLineError(le.Line, "", le.Err)
		return &Error{Status: http.StatusBadRequest, Code: e.Code, Field: e.Field, Message: fmt.Sprintf("line %d: %s", le.Line, e.Message)}
	case errors.As(err, &je):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Field: "body", Message: je.Reason}
	}
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Field: "body", Message: "could not read the upload"}
}

// streamError explains why an upload stopped at line.
func streamError(err error, line int) *Error {
	var je *analyzer.JSONError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "body", Message: fmt.Sprintf("upload over the %d-byte limit after line %d", mbe.Limit, line)}
	case errors.As(err, &je):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Field: "body", Message: je.Reason}
	}
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Field: "body", Message: fmt.Sprintf("reading the upload failed after line %d", line)}
}

// outOfScope refuses a record a scoped key may not write: one whose org is
// outside the scope, or one that would replace a record outside it.
func (s *Server) outOfScope(c echo.Context, r *analyzer.Record) *Error {
	k := keyOf(c)
	if k == nil || k.Scope == "" {
		return nil
	}
	if !k.Allows(r.Org) {
		return &Error{Field: "org", Message: fmt.Sprintf("%q is outside this key's scope %s", r.Org, k.Scope)}
	}
	if _, _, ok := analyzer.SplitNamespacedID(r.ID); ok {
		return &Error{Field: "id", Message: "a namespaced id (U+001F scope U+001F id): send the record's own id"}
	}
	return nil
}

// ingest stores records sent under the caller's key. A scoped key has ids of
// its own (Corpus.IngestAs): whether an id is used outside its scope changes
// nothing in the answer.
func (s *Server) ingest(c echo.Context, recs []*analyzer.Record) ([]index.Result, error) {
	scope := ""
	if k := keyOf(c); k != nil {
		scope = k.Scope
	}
	res, err := s.corpus.IngestAs(c.Request().Context(), scope, recs)
	for i := range res {
		res[i].ID = ownID(c, res[i].ID)
	}
	return res, err
}

// recordInScope fetches the record named by the path's id as the key may
// see it: a scoped key's own namespaced record first, then the record with
// the id if it lies in the scope; one outside the scope is not found, like
// one that does not exist. The id returned is the stored one.
func (s *Server) recordInScope(c echo.Context) (string, *store.Stored, error) {
	id, err := pathParam(c, "id")
	if err != nil {
		return "", nil, err
	}
	return s.lookup(c, id)
}

// lookup is recordInScope for an id the caller names.
func (s *Server) lookup(c echo.Context, id string) (string, *store.Stored, error) {
	ids := []string{id}
	if k := keyOf(c); k != nil && k.Scope != "" {
		ids = []string{analyzer.NamespacedID(k.Scope, id), id} // the key's own first, in one read
	}
	got, err := s.corpus.Store().GetMany(ids)
	if err != nil {
		return id, nil, err
	}
	for i, st := range got {
		if st != nil && allowed(c, st.Record.Org) {
			return ids[i], st, nil
		}
	}
	return id, nil, recordNotFound()
}

// ownIDs rewrites stored ids as the caller names them (ownID).
func ownIDs(c echo.Context, ids []string) {
	for i, id := range ids {
		ids[i] = ownID(c, id)
	}
}

// ownID is a stored id as the caller names it: a scoped key's namespaced
// ids without their namespace (the key never sees that its id was taken).
func ownID(c echo.Context, id string) string {
	k := keyOf(c)
	if k == nil || k.Scope == "" {
		return id
	}
	if scope, own, ok := analyzer.SplitNamespacedID(id); ok && scope == k.Scope {
		return own
	}
	return id
}

func recordNotFound() error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Field: "id", Message: "no record with this id"}
}

func (s *Server) getRecord(c echo.Context) error {
	_, st, err := s.recordInScope(c)
	if err != nil {
		return err
	}
	st.Record.ID = ownID(c, st.Record.ID)
	return c.JSON(http.StatusOK, st)
}

// explainRecord answers GET /api/v1/records/{id}/explain?node=…: why the
// stored record is (or is not) tagged with the node.
func (s *Server) explainRecord(c echo.Context) error {
	_, st, err := s.recordInScope(c)
	if err != nil {
		return err
	}
	node := c.QueryParam("node")
	if _, ok := s.an().Taxonomy().Node(node); !ok {
		return badParam("node", fmt.Sprintf("no taxonomy node %q (see /api/v1/taxonomy)", node))
	}
	ex, err := s.an().Explain(&st.Record, node)
	if errors.Is(err, taxonomy.ErrNoRule) {
		return badParam("node", err.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ex)
}

func (s *Server) deleteRecord(c echo.Context) error {
	id, _, err := s.recordInScope(c)
	if err != nil {
		return err
	}
	seq, err := s.corpus.Delete(id)
	if errors.Is(err, store.ErrNotFound) {
		return recordNotFound()
	}
	if err != nil {
		return err
	}
	indexed, err := s.waitIndexed(c, seq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": ownID(c, id), "deleted": true, "seq": seq, "indexed": indexed})
}
