// Package api is Dongting's HTTP interface: routes, error replies and the
// small built-in page. Handlers return errors; one error handler turns them
// into {"error":{"code","message","field"}} with the right status.
package api

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"dongting/analyzer"
	"dongting/api/access"
	"dongting/api/llm"
	"dongting/data"
	"dongting/index"
	"dongting/index/alerts"
	"dongting/index/review"
	"dongting/index/scoring"
	"dongting/index/tagging"
	"dongting/index/work"
	"dongting/taxonomy"
)

// MaxBody bounds a request body: one record's words plus JSON overhead.
const MaxBody = 2 * analyzer.MaxTextBytes

// Error is an API error with the code clients match on.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Config holds the server's dependencies.
type Config struct {
	Analyzer *analyzer.Analyzer
	Corpus   *index.Corpus // nil: analysis only, nothing stored
	Demo     []analyzer.Record
	Log      *slog.Logger
	Metrics  *Metrics // nil: a private registry
	Limits   Limits
	// Indicators is the experience index's hierarchy; nil: the embedded
	// data/scoring/indicators.yaml.
	Indicators []byte
	Alerts     *alerts.Engine // nil: no alert routes
	// Keys enforces API keys, roles and org scopes on every route but
	// health, metrics, the page and the API description; nil: all open
	// (an analysis-only server).
	Keys *access.Keys
	// Tagging manages the taxonomy's versions; nil: no lifecycle routes.
	Tagging *tagging.Manager
	// LLM is the optional model's assistant; nil or unconfigured: its
	// routes answer 503 llm_not_configured.
	LLM *llm.Assistant
	// Review keeps analysts' labels and retrains the models; nil: no
	// review routes.
	Review *review.Review
	// Web holds the web app's bundle under web/dist/app; nil: the one
	// embedded in the binary.
	Web fs.FS
}

// Limits bound what one request may carry.
type Limits struct {
	BatchBody    int64 // bytes of one batch upload
	BatchRecords int   // records in one batch upload
	WaitIndexed  time.Duration
	KeyRate      float64 // requests per second per API key
	KeyBurst     int
}

// DefaultLimits are used for zero fields of Config.Limits.
var DefaultLimits = Limits{BatchBody: 256 << 20, BatchRecords: 100_000, WaitIndexed: 30 * time.Second, KeyRate: 50, KeyBurst: 100}

// Server holds the handlers' dependencies.
type Server struct {
	analyzer *analyzer.Analyzer
	corpus   *index.Corpus
	demo     []analyzer.Record
	log      *slog.Logger
	metrics  *Metrics
	limits   Limits
	Now      func() time.Time

	keys     *access.Keys
	tagging  *tagging.Manager
	review   *review.Review
	llm      *llm.Assistant
	limiters sync.Map // key id → *rate.Limiter

	alerts        *alerts.Engine
	scorer        *scoring.Scorer
	indicators    *scoring.Indicators
	indicatorsErr error

	webApp *webApp
}

// New returns a server on cfg. It fails only on a bad indicator file.
func New(cfg Config) (*Server, error) {
	s := &Server{review: cfg.Review, alerts: cfg.Alerts, keys: cfg.Keys, tagging: cfg.Tagging, llm: cfg.LLM, analyzer: cfg.Analyzer, corpus: cfg.Corpus, demo: cfg.Demo, log: cfg.Log, metrics: cfg.Metrics, limits: cfg.Limits, Now: time.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Web == nil {
		cfg.Web = webDist
	}
	s.webApp = newWebApp(cfg.Web)
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.limits.BatchBody <= 0 {
		s.limits.BatchBody = DefaultLimits.BatchBody
	}
	if s.limits.BatchRecords <= 0 {
		s.limits.BatchRecords = DefaultLimits.BatchRecords
	}
	if s.limits.WaitIndexed <= 0 {
		s.limits.WaitIndexed = DefaultLimits.WaitIndexed
	}
	if s.limits.KeyRate <= 0 {
		s.limits.KeyRate = DefaultLimits.KeyRate
	}
	if s.limits.KeyBurst <= 0 {
		s.limits.KeyBurst = DefaultLimits.KeyBurst
	}
	if s.alerts != nil {
		s.metrics.watchAlerts(s.alerts)
	}
	if s.corpus != nil {
		s.metrics.watch(s.corpus)
		s.scorer = scoring.New(s.corpus.Rollups())
		s.scorer.Now = func() time.Time { return s.Now() }
		src := cfg.Indicators
		if src == nil {
			var err error
			if src, err = fs.ReadFile(data.FS(), "scoring/indicators.yaml"); err != nil {
				return nil, fmt.Errorf("api: %w", err)
			}
		}
		// Another taxonomy (mall) has other scenes: the index is then
		// unavailable, with the reason, and everything else works.
		s.indicators, s.indicatorsErr = s.scorer.ParseIndicators(src)
	}
	return s, nil
}

// routeOnEscapedPath makes the router match the path as sent, so an id
// holding a reserved character ("工单/2026/001", sent as 工单%2F2026%2F001)
// stays one segment; pathParam decodes it. Without it the router sees the
// decoded path when Go's default encoding of it equals what was sent, and
// the raw one otherwise: the same id would arrive decoded or not.
func routeOnEscapedPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		u.RawPath = u.EscapedPath()
		return next(c)
	}
}

// pathParam is the decoded value of a path parameter.
func pathParam(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		return "", &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Field: name, Message: "not a valid percent-encoded path segment"}
	}
	return v, nil
}

// Handler registers every route.
func (s *Server) Handler() http.Handler { return s.router() }

// Routes lists "METHOD /path" for every route (for the OpenAPI test).
func Routes(s *Server) []string {
	var out []string
	for _, r := range s.router().Routes() {
		if r.Method != "echo_route_any" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func (s *Server) router() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Pre(routeOnEscapedPath)
	e.Use(middleware.RequestID())
	e.Use(s.logRequests)
	e.Use(s.recoverPanics)
	e.GET("/", s.web)
	e.GET("/*", s.web) // the web app's assets and pages
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", s.serveMetrics)
	g := e.Group("/api/v1")
	g.GET("/openapi.json", s.openAPI, s.need(anyKey))
	g.POST("/analyze", s.analyze, s.need(anyKey))
	g.GET("/demo", s.demoAnalyses, s.need(anyKey))
	g.GET("/taxonomy", s.taxonomy, s.need(anyKey))
	g.GET("/me", s.me, s.need(anyKey))
	if s.corpus != nil {
		g.GET("/orgs", s.orgs, s.need(read))
		g.GET("/search/histogram", s.histogram, s.need(read))
		g.POST("/records", s.putRecord, s.need(write))
		g.POST("/records/batch", s.putBatch, s.need(write))
		g.GET("/records/:id", s.getRecord, s.need(read))
		g.GET("/records/:id/explain", s.explainRecord, s.need(read))
		g.DELETE("/records/:id", s.deleteRecord, s.need(write))
		g.GET("/search", s.search, s.need(read))
		g.GET("/export", s.export, s.need(export))
		g.GET("/status", s.status, s.need(adminRoot))
		g.GET("/backup", s.backup, s.need(adminRoot))
		g.GET("/trends", s.trends, s.need(read))
		g.GET("/movers", s.movers, s.need(read))
		g.GET("/scores/nps", s.nps, s.need(read))
		g.GET("/scores/experience", s.experience, s.need(read))
		g.GET("/scores/drivers", s.drivers, s.need(read))
		g.GET("/coverage", s.coverage, s.need(read))
		g.GET("/dictionary", s.getDictionary, s.need(read))
		g.POST("/dictionary", s.changeDictionary, s.need(adminRoot))
	}
	if s.tagging != nil {
		g.PUT("/taxonomy", s.replaceTaxonomy, s.need(curate))
		g.GET("/taxonomy/versions", s.versions, s.need(read))
		g.GET("/taxonomy/versions/:n", s.version, s.need(read))
		g.POST("/taxonomy/rollback", s.rollbackTaxonomy, s.need(curate))
		g.POST("/taxonomy/dryrun", s.dryRun, s.need(curate))
		g.POST("/taxonomy/dryrun/rule", s.dryRunRule, s.need(curate))
		g.GET("/taxonomy/job", s.retagJob, s.need(read))
		g.GET("/taxonomy/golden", s.getGolden, s.need(read))
		g.PUT("/taxonomy/golden", s.putGolden, s.need(curate))
		g.GET("/discovery/terms", s.discover, s.need(curate))
	}
	if s.review != nil && s.corpus != nil {
		g.GET("/review", s.reviewQueue, s.need(read))
		g.GET("/records/:id/labels", s.getLabel, s.need(read))
		g.PUT("/records/:id/labels", s.putLabel, s.need(curate))
		g.GET("/model", s.models, s.need(read))
		g.POST("/model/retrain", s.retrain, s.need(curate))
	}
	if s.corpus != nil {
		g.GET("/llm", s.llmStatus, s.need(read))
		g.GET("/llm/summary", s.llmSummary, s.need(read))
		g.POST("/llm/suggest-node", s.llmSuggestNode, s.need(curate))
		g.POST("/llm/suggest-tags", s.llmSuggestTags, s.need(curate))
	}
	if s.alerts != nil {
		g.GET("/alerts", s.listAlerts, s.need(read))
		g.GET("/alerts/routing", s.getRouting, s.need(adminRoot))
		g.PUT("/alerts/routing", s.putRouting, s.need(adminRoot))
		g.GET("/alerts/outbox", s.outbox, s.need(adminRoot))
		g.GET("/alerts/summary", s.alertSummary, s.need(read))
		g.GET("/alerts/:id", s.getAlert, s.need(read))
		g.POST("/alerts/:id/:action", s.actAlert, s.need(act))
	}
	if s.keys != nil {
		g.GET("/keys", s.listKeys, s.need(adminRoot))
		g.POST("/keys", s.createKey, s.need(adminRoot))
		g.DELETE("/keys/:id", s.revokeKey, s.need(adminRoot))
		g.GET("/audit", s.auditLog, s.need(adminRoot))
	}
	// The web app's GET route matches every path, so echo answers another
	// method on an unknown API path with 405: it is a 404, as before.
	var api []string
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, "/api/") {
			api = append(api, r.Path)
		}
	}
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed && strings.HasPrefix(c.Request().URL.Path, "/api/") &&
			!slices.ContainsFunc(api, func(p string) bool { return routeMatches(p, c.Request().URL.Path) }) {
			err = echo.ErrNotFound
		}
		s.handleError(err, c)
	}
	return e
}

// routeMatches reports whether an echo route path (":name" a segment, "*"
// the rest) matches a request path.
func routeMatches(route, path string) bool {
	rs, ps := strings.Split(strings.Trim(route, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	for i, r := range rs {
		if r == "*" {
			return true
		}
		if i >= len(ps) || ps[i] == "" || !strings.HasPrefix(r, ":") && r != ps[i] {
			return false
		}
	}
	return len(rs) == len(ps)
}

func (s *Server) ready(c echo.Context) error {
	if s.corpus == nil {
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
	st, err := s.corpus.Status()
	if err != nil {
		return err
	}
	if rb := st.Rebuild; rb != nil {
		// Searches answer, but from part of the records: not ready.
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "rebuilding", "reason": rb.Reason,
			"indexed": rb.Indexed, "records": rb.Records, "progress": rb.Done, "index_lag": st.Lag})
	}
	if st.Error != "" {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "indexer failing", "index_lag": st.Lag})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "index_lag": st.Lag})
}

// backup streams a consistent snapshot of the store (a bbolt file) while
// the server keeps serving; Content-Length lets a client detect a cut.
func (s *Server) backup(c echo.Context) error {
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "application/octet-stream")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="dongting-backup.db"`)
	n, err := s.corpus.Backup(res, func(size int64) {
		res.Header().Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
		res.WriteHeader(http.StatusOK)
	})
	if err != nil {
		if !res.Committed {
			return err
		}
		s.log.Error("backup stopped", "bytes", n, "err", err) // the status is sent: the client sees a short body
		return nil
	}
	s.log.Info("backup", "bytes", n, "request_id", res.Header().Get(echo.HeaderXRequestID))
	s.audit(c, "backup", "", strconv.FormatInt(n, 10)+" bytes")
	return nil
}

func (s *Server) status(c echo.Context) error {
	st, err := s.corpus.Status()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// logRequests logs method, route, status, duration and the request id:
// never bodies or query strings, which hold customers' words.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		d := s.Now().Sub(start)
		status := c.Response().Status
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observe(c.Request().Method, route, status, d)
		s.log.Info("request", "method", c.Request().Method, "path", route, "status", status,
			"ms", d.Milliseconds(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 with an ERROR log
// line (where, the runtime error, the stack; never the panic's value,
// which may quote a record). Goroutines a handler starts recover on their
// own (work.Safely) and return the panic as an error.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // net/http's way to abort a response: not a fault
				}
				err = work.Recovered("the handler of "+c.Path(), v)
			}
		}()
		return next(c)
	}
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *Error
	var de *analyzer.Error
	var he *echo.HTTPError
	var rf *refusal
	var pe *work.PanicError
	switch {
	case errors.As(err, &pe):
		s.log.Error("panic recovered", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"where", pe.Where, "panic", pe.Reason, "stack", string(pe.Stack))
		ae = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	case errors.As(err, &rf):
		_ = c.JSON(http.StatusConflict, map[string]any{
			"error":  &Error{Status: http.StatusConflict, Code: "golden_regression", Field: "force", Message: rf.Error()},
			"golden": rf.Golden,
		})
		return
	case errors.As(err, &ae):
	case errors.As(err, &de):
		ae = refused(de)
	case errors.As(err, &he):
		ae = &Error{Status: he.Code, Code: http.StatusText(he.Code), Message: http.StatusText(he.Code)}
		if he.Code == http.StatusNotFound {
			ae.Code, ae.Message = "not_found", "no such route"
		} else if he.Code == http.StatusMethodNotAllowed {
			ae.Code, ae.Message = "method_not_allowed", "method not allowed on this route"
		}
	case isErrno(err, syscall.ENOSPC, syscall.EFBIG, syscall.EDQUOT):
		s.log.Error("storage full", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		ae = &Error{Status: http.StatusInsufficientStorage, Code: "storage_full", Message: "the data directory's disk is full: nothing of this request was stored; what was acknowledged before is safe"}
	case isErrno(err, syscall.EROFS):
		s.log.Error("storage read-only", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		ae = &Error{Status: http.StatusInsufficientStorage, Code: "storage_read_only", Message: "the data directory is read-only: nothing of this request was stored; reads still work"}
	default:
		s.log.Error("internal error", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		ae = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	_ = c.JSON(ae.Status, map[string]*Error{"error": ae})
}

// isErrno reports whether err is one of the system errors, wrapped or
// (as bbolt reports a failed file resize) only named in the message.
func isErrno(err error, errs ...syscall.Errno) bool {
	for _, e := range errs {
		if errors.Is(err, e) || strings.Contains(err.Error(), e.Error()) {
			return true
		}
	}
	return false
}

// decodeRecord reads one JSON record with a size limit and strict fields.
func decodeRecord(c echo.Context) (*analyzer.Record, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body over the size limit"}
	} else if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "could not read the body"}
	}
	r, err := analyzer.DecodeRecord(body)
	var je *analyzer.JSONError
	if errors.As(err, &je) {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: je.Reason, Field: je.Field}
	}
	return r, err
}

func (s *Server) analyze(c echo.Context) error {
	r, err := decodeRecord(c)
	if err != nil {
		return err
	}
	res, err := s.an().Analyze(r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// refusals is where the layers' one error type (analyzer.Error) becomes
// HTTP: each kind of refusal's status and error code.
var refusals = map[analyzer.Kind]struct {
	status int
	code   string
}{
	analyzer.Invalid:       {http.StatusUnprocessableEntity, "invalid_field"},
	analyzer.TooLarge:      {http.StatusRequestEntityTooLarge, "invalid_field"},
	analyzer.BadParameter:  {http.StatusBadRequest, "bad_parameter"},
	analyzer.TooComplex:    {http.StatusUnprocessableEntity, "query_too_complex"},
	analyzer.InvalidConfig: {http.StatusUnprocessableEntity, "invalid_routing"},
}

// refused is the answer to input a layer refused.
func refused(e *analyzer.Error) *Error {
	r, ok := refusals[e.Kind]
	if !ok {
		r.status, r.code = http.StatusUnprocessableEntity, "invalid_field"
	}
	msg := e.Reason
	if e.Kind == analyzer.TooComplex {
		msg = fmt.Sprintf("over the %s limit: %s", e.Limit, e.Reason)
	}
	return &Error{Status: r.status, Code: r.code, Field: e.Field, Message: msg}
}

func (s *Server) demoAnalyses(c echo.Context) error {
	out := make([]*analyzer.Analysis, 0, len(s.demo))
	for i := range s.demo {
		res, err := s.an().Analyze(&s.demo[i])
		if err != nil {
			return err
		}
		out = append(out, res)
	}
	return c.JSON(http.StatusOK, map[string]any{"records": s.demo, "analyses": out})
}

type nodeJSON struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Rule     string      `json:"rule,omitempty"`
	Children []*nodeJSON `json:"children,omitempty"`
}

func toJSON(n *taxonomy.Node) *nodeJSON {
	j := &nodeJSON{ID: n.ID, Name: n.Name, Rule: n.Rule}
	for _, c := range n.Children {
		j.Children = append(j.Children, toJSON(c))
	}
	return j
}

func (s *Server) taxonomy(c echo.Context) error {
	t := s.an().Taxonomy()
	out := map[string]any{"id": t.ID, "name": t.Name}
	var scenes, dims []*nodeJSON
	for _, n := range t.Scenes {
		scenes = append(scenes, toJSON(n))
	}
	for _, n := range t.Dimensions {
		dims = append(dims, toJSON(n))
	}
	out["scenes"], out["dimensions"] = scenes, dims
	return c.JSON(http.StatusOK, out)
}

// an is the analyzer in use now: the corpus's (its taxonomy can be
// replaced while serving), or the configured one for a server without a
// corpus.
func (s *Server) an() *analyzer.Analyzer {
	if s.corpus != nil {
		return s.corpus.Analyzer()
	}
	return s.analyzer
}
