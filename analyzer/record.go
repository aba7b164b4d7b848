package analyzer

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one verbatim as it arrives (ARCHITECTURE.md, "Record fields on
// ingest"). Text or Turns carries the words.
type Record struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind,omitempty"`
	Channel    string            `json:"channel,omitempty"`
	Org        string            `json:"org,omitempty"`
	OccurredAt string            `json:"occurred_at,omitempty"`
	Customer   string            `json:"customer,omitempty"`
	Text       string            `json:"text,omitempty"`
	Turns      []RecordTurn      `json:"turns,omitempty"`
	NPS        *int              `json:"nps,omitempty"`
	CSAT       *int              `json:"csat,omitempty"`
	Stage      string            `json:"stage,omitempty"`
	Meta       map[string]string `json:"meta,omitempty"`
}

// RecordTurn is one turn of a hotline transcript.
type RecordTurn struct {
	Speaker string `json:"speaker"`
	Text    string `json:"text"`
}

// Allowed values of the enumerated record fields.
var (
	Kinds  = []string{"complaint", "hotline", "survey", "comment", "workorder"}
	Stages = []string{"销售接待期", "签约及等待期", "集中交楼期", "成熟期"}
)

// Limits of a record's fields. Each is far above what real records need and
// below what the store can key: bbolt refuses keys over 32 KB, and every org
// level, channel and kind becomes part of a rollup or index key.
const (
	MaxTextBytes     = 1 << 20 // one record's words (text plus turns)
	MaxIDBytes       = 200
	MaxOrgLevels     = 10
	MaxOrgLevelRunes = 64
	MaxChannelRunes  = 64
	MaxCustomerBytes = 256
	MaxMetaEntries   = 50
	MaxMetaKeyBytes  = 64
	MaxMetaValue     = 4096 // bytes
	MaxTurns         = 10000
)

// idMark opens and closes the scope of a namespaced id. A caller confined
// to part of the org tree (a scoped API key) has ids of its own: when the id
// it sends is already held by a record outside its scope, its record is kept
// under NamespacedID(scope, id) instead, so the caller can neither replace
// that record nor learn that it exists. Callers' own ids never begin with
// the mark (Validate refuses them unless they are namespaced ids).
const idMark = "\x1f"

// NamespacedID is the id a record sent by a caller confined to scope is kept
// under when its own id belongs to a record outside the scope.
func NamespacedID(scope, id string) string { return idMark + scope + idMark + id }

// SplitNamespacedID returns the scope and the caller's own id of a
// namespaced id; ok is false for an ordinary id.
func SplitNamespacedID(id string) (scope, own string, ok bool) {
	rest, found := strings.CutPrefix(id, idMark)
	if !found {
		return "", "", false
	}
	scope, own, ok = strings.Cut(rest, idMark)
	return scope, own, ok && scope != "" && own != ""
}

// InScope reports whether org lies in scope: the scope itself or a path
// below it. Every org lies in the empty scope.
func InScope(org, scope string) bool {
	return scope == "" || org == scope || strings.HasPrefix(org, scope+"/")
}

// OrgPrefixes lists every level of an org path: 华南区域, 华南区域/深圳,
// 华南区域/深圳/碧海花园. A filter on any of them selects the subtree.
func OrgPrefixes(org string) []string {
	parts := strings.Split(org, "/")
	out := make([]string, len(parts))
	for i := range parts {
		out[i] = strings.Join(parts[:i+1], "/")
	}
	return out
}

// The times a record may carry: the rollups count days from 2000-01-01,
// and a record cannot have happened after it arrived, give or take a
// sender's clock that runs a little fast.
var (
	EarliestTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxClockSkew = time.Hour
)

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Normalize tidies the fields people type inconsistently, in place: the org
// path's levels are trimmed (ASCII and ideographic spaces) and a full-width
// '／' separates levels like '/'; surrounding slashes go; the channel is
// trimmed.
func (r *Record) Normalize() {
	if r.Org != "" {
		org := strings.ReplaceAll(r.Org, "／", "/")
		org = strings.Trim(strings.TrimSpace(org), "/")
		parts := strings.Split(org, "/")
		for i, p := range parts {
			parts[i] = strings.TrimSpace(p)
		}
		r.Org = strings.Join(parts, "/")
	}
	r.Channel = strings.TrimSpace(r.Channel)
}

// CheckTime refuses an occurred_at later than now (plus MaxClockSkew): a
// record from the future would be counted on a day that has not come and
// sort above everything real.
func (r *Record) CheckTime(now time.Time) error {
	if r.OccurredAt == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, r.OccurredAt)
	if err != nil {
		return &Error{Kind: Invalid, Field: "occurred_at", Reason: "not an RFC 3339 time (e.g. 2026-03-01T09:30:00+08:00)"}
	}
	if t.After(now.Add(MaxClockSkew)) {
		return &Error{Kind: Invalid, Field: "occurred_at", Reason: fmt.Sprintf("%s is in the future (now is %s; %s of clock skew is allowed)", r.OccurredAt, now.Format(time.RFC3339), MaxClockSkew)}
	}
	return nil
}

// Validate checks a record before analysis. The first problem is returned.
func (r *Record) Validate() error {
	if err := validateID(r.ID); err != nil {
		return err
	}
	if r.Kind != "" && !contains(Kinds, r.Kind) {
		return &Error{Kind: Invalid, Field: "kind", Reason: fmt.Sprintf("%q is not one of %s", r.Kind, strings.Join(Kinds, ", "))}
	}
	if r.Stage != "" && !contains(Stages, r.Stage) {
		return &Error{Kind: Invalid, Field: "stage", Reason: fmt.Sprintf("%q is not one of %s", r.Stage, strings.Join(Stages, ", "))}
	}
	if r.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339, r.OccurredAt)
		if err != nil {
			return &Error{Kind: Invalid, Field: "occurred_at", Reason: "not an RFC 3339 time (e.g. 2026-03-01T09:30:00+08:00)"}
		}
		if t.Before(EarliestTime) {
			return &Error{Kind: Invalid, Field: "occurred_at", Reason: fmt.Sprintf("%s is before %s, the earliest time kept", r.OccurredAt, EarliestTime.Format("2006-01-02"))}
		}
	}
	if r.NPS != nil && (*r.NPS < 0 || *r.NPS > 10) {
		return &Error{Kind: Invalid, Field: "nps", Reason: "must be 0–10"}
	}
	if r.CSAT != nil && (*r.CSAT < 1 || *r.CSAT > 5) {
		return &Error{Kind: Invalid, Field: "csat", Reason: "must be 1–5"}
	}
	if err := validateOrg(r.Org); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(r.Channel); n > MaxChannelRunes {
		return &Error{Kind: Invalid, Field: "channel", Reason: fmt.Sprintf("%d characters, over the %d-character limit", n, MaxChannelRunes)}
	}
	if len(r.Customer) > MaxCustomerBytes {
		return &Error{Kind: Invalid, Field: "customer", Reason: fmt.Sprintf("longer than %d bytes", MaxCustomerBytes)}
	}
	if len(r.Meta) > MaxMetaEntries {
		return &Error{Kind: Invalid, Field: "meta", Reason: fmt.Sprintf("%d entries, over the %d-entry limit", len(r.Meta), MaxMetaEntries)}
	}
	for k, v := range r.Meta {
		switch {
		case k == "" || len(k) > MaxMetaKeyBytes:
			return &Error{Kind: Invalid, Field: "meta", Reason: fmt.Sprintf("key %.20q: keys are 1–%d bytes", k, MaxMetaKeyBytes)}
		case len(v) > MaxMetaValue:
			return &Error{Kind: Invalid, Field: "meta." + k, Reason: fmt.Sprintf("longer than %d bytes", MaxMetaValue)}
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return &Error{Kind: Invalid, Field: "meta." + k, Reason: "not valid UTF-8"}
		}
	}
	if len(r.Turns) > MaxTurns {
		return &Error{Kind: Invalid, Field: "turns", Reason: fmt.Sprintf("%d turns, over the %d-turn limit", len(r.Turns), MaxTurns)}
	}
	for _, f := range []struct{ name, v string }{{"id", r.ID}, {"org", r.Org}, {"channel", r.Channel}, {"customer", r.Customer}} {
		if !utf8.ValidString(f.v) {
			return &Error{Kind: Invalid, Field: f.name, Reason: "not valid UTF-8"}
		}
	}
	if r.Text != "" && len(r.Turns) > 0 {
		return &Error{Kind: Invalid, Field: "text", Reason: "give text or turns, not both"}
	}
	size := len(r.Text)
	if len(r.Turns) > 0 {
		for i, t := range r.Turns {
			if t.Speaker != "agent" && t.Speaker != "customer" {
				return &Error{Kind: Invalid, Field: fmt.Sprintf("turns[%d].speaker", i), Reason: fmt.Sprintf("%q is not agent or customer", t.Speaker)}
			}
			if !utf8.ValidString(t.Text) {
				return &Error{Kind: Invalid, Field: fmt.Sprintf("turns[%d].text", i), Reason: "not valid UTF-8"}
			}
			size += len(t.Text)
		}
		if blank(r.Turns) {
			return &Error{Kind: Invalid, Field: "turns", Reason: "every turn is empty: a record needs words"}
		}
	} else {
		if !utf8.ValidString(r.Text) {
			return &Error{Kind: Invalid, Field: "text", Reason: "not valid UTF-8"}
		}
		if strings.TrimSpace(strings.ReplaceAll(r.Text, "\x00", "")) == "" {
			return &Error{Kind: Invalid, Field: "text", Reason: "empty: a record needs text or turns"}
		}
	}
	if size > MaxTextBytes {
		return &Error{Kind: TooLarge, Field: "text", Reason: fmt.Sprintf("%d bytes of words, over the %d-byte limit", size, MaxTextBytes)}
	}
	return nil
}

func blank(turns []RecordTurn) bool {
	for _, t := range turns {
		if strings.TrimSpace(strings.ReplaceAll(t.Text, "\x00", "")) != "" {
			return false
		}
	}
	return true
}

// validateOrg checks an org path (after Normalize): at most MaxOrgLevels
// levels of at most MaxOrgLevelRunes characters, none empty.
// validateID bounds a caller's id; a namespaced id is bounded by its parts.
func validateID(id string) error {
	if !strings.HasPrefix(id, idMark) {
		if len(id) > MaxIDBytes {
			return &Error{Kind: Invalid, Field: "id", Reason: fmt.Sprintf("longer than %d bytes", MaxIDBytes)}
		}
		return nil
	}
	scope, own, ok := SplitNamespacedID(id)
	if !ok || validateOrg(scope) != nil || strings.Contains(own, idMark) {
		return &Error{Kind: Invalid, Field: "id", Reason: "begins with U+001F, which marks namespaced ids (U+001F scope U+001F id)"}
	}
	return validateID(own)
}

func validateOrg(org string) error {
	if org == "" {
		return nil
	}
	parts := strings.Split(org, "/")
	if len(parts) > MaxOrgLevels {
		return &Error{Kind: Invalid, Field: "org", Reason: fmt.Sprintf("%d levels, over the %d-level limit (want e.g. 华南区域/深圳/碧海花园)", len(parts), MaxOrgLevels)}
	}
	for i, part := range parts {
		if part == "" {
			return &Error{Kind: Invalid, Field: "org", Reason: "empty level in org path (want e.g. 华南区域/深圳/碧海花园)"}
		}
		if n := utf8.RuneCountInString(part); n > MaxOrgLevelRunes {
			return &Error{Kind: Invalid, Field: "org", Reason: fmt.Sprintf("level %d has %d characters, over the %d-character limit", i+1, n, MaxOrgLevelRunes)}
		}
	}
	return nil
}
