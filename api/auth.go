package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"dongting/api/access"
)

// perm is what a route needs of the caller's key.
type perm int

const (
	anyKey    perm = iota // any live key (analysis, taxonomy)
	read                  // admin, analyst, viewer: search, records, trends, scores, alerts
	export                // admin, analyst: bulk export
	act                   // admin, analyst: alert lifecycle actions
	write                 // admin, ingest: store and delete records
	adminRoot             // admin over the whole group: keys, routing, backups, status
	curate                // admin or analyst over the whole group: taxonomy changes, dry runs, discovery
)

var permRoles = map[perm][]string{
	anyKey:    access.Roles,
	read:      {access.Admin, access.Analyst, access.Viewer},
	export:    {access.Admin, access.Analyst},
	act:       {access.Admin, access.Analyst},
	write:     {access.Admin, access.Ingest},
	adminRoot: {access.Admin},
	curate:    {access.Admin, access.Analyst},
}

const ctxKey = "dongting.key"

// need checks the request's API key (Authorization: Bearer … or
// X-API-Key) against what the route needs. Without a key store (an
// analysis-only server) every route is open.
func (s *Server) need(p perm) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if s.keys == nil {
				return next(c)
			}
			secret := secretOf(c)
			if secret == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="dongting"`)
				return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "an API key is required (header Authorization: Bearer KEY, or X-API-Key: KEY)"}
			}
			key, err := s.keys.Check(secret)
			if err != nil {
				return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "unknown or revoked API key"}
			}
			if !mayDo(key, p) {
				return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("this key (role %s, scope %s) may not do this", key.Role, scopeName(key))}
			}
			if err := s.limit(c, key); err != nil {
				return err
			}
			c.Set(ctxKey, key)
			return next(c)
		}
	}
}

// secretOf is the key a request sends: X-API-Key, or the credentials of
// an Authorization header of the Bearer scheme, whose name is
// case-insensitive (RFC 7235: bearer and BEARER are Bearer).
func secretOf(c echo.Context) string {
	if k := strings.TrimSpace(c.Request().Header.Get("X-API-Key")); k != "" {
		return k
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization)), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// metrics serves /metrics: the operational metrics to anyone, and with
// them the business ones (records ingested by result and severity, alerts
// raised) to an admin key over the whole group, since they are the
// group's complaint figures. Without a key store all are open.
func (s *Server) serveMetrics(c echo.Context) error {
	if s.keys == nil {
		s.metrics.AllHandler().ServeHTTP(c.Response(), c.Request())
		return nil
	}
	secret := secretOf(c)
	if secret == "" {
		s.metrics.Handler().ServeHTTP(c.Response(), c.Request())
		return nil
	}
	key, err := s.keys.Check(secret)
	if err != nil {
		return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "unknown or revoked API key"}
	}
	if err := s.limit(c, key); err != nil {
		return err
	}
	if key.Role == access.Admin && key.Scope == "" {
		s.metrics.AllHandler().ServeHTTP(c.Response(), c.Request())
	} else {
		s.metrics.Handler().ServeHTTP(c.Response(), c.Request())
	}
	return nil
}

// mayDo reports whether a key's role and scope allow what p needs: group
// administration and curation need the whole group.
func mayDo(k *access.Key, p perm) bool {
	if (p == adminRoot || p == curate) && k.Scope != "" {
		return false
	}
	return slices.Contains(permRoles[p], k.Role)
}

func scopeName(k *access.Key) string {
	if k.Scope == "" {
		return "the whole group"
	}
	return k.Scope
}

// keyOf is the request's key; nil when keys are not enforced.
func keyOf(c echo.Context) *access.Key {
	k, _ := c.Get(ctxKey).(*access.Key)
	return k
}

// allowed reports whether the caller may see an org path.
func allowed(c echo.Context, org string) bool {
	k := keyOf(c)
	return k == nil || k.Allows(org)
}

// scopeOrg confines an org filter to the caller's scope: empty becomes the
// scope, a path outside it is refused.
func scopeOrg(c echo.Context, org *string) error {
	k := keyOf(c)
	if k == nil || k.Scope == "" {
		return nil
	}
	*org = strings.Trim(*org, "/ ")
	if *org == "" {
		*org = k.Scope
		return nil
	}
	if !k.Allows(*org) {
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Field: "org", Message: "outside this key's scope " + k.Scope}
	}
	return nil
}

// keys API: admin over the whole group.

func (s *Server) createKey(c echo.Context) error {
	var body struct{ Name, Role, Scope string }
	if err := decodeSmallJSON(c, &body); err != nil {
		return err
	}
	by := ""
	if k := keyOf(c); k != nil {
		by = k.ID
	}
	key, secret, err := s.keys.Create(body.Name, body.Role, body.Scope, by)
	if err != nil {
		return err
	}
	s.audit(c, "key.create", key.ID, key.Role+" "+scopeName(key))
	return c.JSON(http.StatusCreated, map[string]any{"key": key, "secret": secret, "note": "the secret is shown only now"})
}

func (s *Server) listKeys(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"keys": s.keys.List()})
}

func (s *Server) revokeKey(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	key, err := s.keys.Revoke(id)
	if errors.Is(err, access.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Field: "id", Message: "no key with this id"}
	}
	if err != nil {
		return err
	}
	s.audit(c, "key.revoke", key.ID, "")
	return c.JSON(http.StatusOK, key)
}

// limit applies the per-key rate limit: a token bucket of KeyRate requests
// per second with KeyBurst in reserve; over it, 429 with Retry-After.
func (s *Server) limit(c echo.Context, key *access.Key) error {
	v, _ := s.limiters.LoadOrStore(key.ID, rate.NewLimiter(rate.Limit(s.limits.KeyRate), s.limits.KeyBurst))
	r := v.(*rate.Limiter).Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: fmt.Sprintf("over %g requests/s for this key; retry after %s", s.limits.KeyRate, d.Round(time.Millisecond))}
	}
	return nil
}

// charge takes n more requests from the rate limit of the request's key
// (none without keys), for a request that costs more than one; over the
// limit it is a 429 like any other. A charge over the burst takes the
// whole burst.
func (s *Server) charge(c echo.Context, n int) error {
	key := keyOf(c)
	if key == nil || n <= 0 {
		return nil
	}
	v, _ := s.limiters.LoadOrStore(key.ID, rate.NewLimiter(rate.Limit(s.limits.KeyRate), s.limits.KeyBurst))
	r := v.(*rate.Limiter).ReserveN(time.Now(), min(n, s.limits.KeyBurst))
	if d := r.Delay(); !r.OK() || d > 0 {
		r.Cancel()
		c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: fmt.Sprintf("this query costs %d requests of this key's %g/s; retry after %s", n+1, s.limits.KeyRate, d.Round(time.Millisecond))}
	}
	return nil
}

// audit records an action; a failure to record is logged, not fatal.
func (s *Server) audit(c echo.Context, action, target, detail string) {
	if s.keys == nil {
		return
	}
	e := access.Entry{Action: action, Target: target, Detail: detail}
	if k := keyOf(c); k != nil {
		e.Key = k.ID
	}
	if err := s.keys.Record(e); err != nil {
		s.log.Error("audit", "action", action, "err", err)
	}
}

func (s *Server) auditLog(c echo.Context) error {
	limit, err := intParam(c, "limit", 1, 1000)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	var before uint64
	if v := c.QueryParam("before"); v != "" {
		if before, err = strconv.ParseUint(v, 10, 64); err != nil {
			return badParam("before", "an entry's seq")
		}
	}
	entries, err := s.keys.Audit(before, c.QueryParam("action"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

// decodeSmallJSON reads a small JSON body (64 KiB) strictly: valid UTF-8,
// known fields only.
func decodeSmallJSON(c echo.Context, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10))
	if err != nil {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "body over 64 KiB"}
	}
	if !utf8.Valid(b) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body is not valid UTF-8"}
	}
	if len(b) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: err.Error()}
	}
	return nil
}
