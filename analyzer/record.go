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

// MaxTextBytes bounds one record's words (text plus turns).
const MaxTextBytes = 1 << 20

// FieldError is a validation failure of one field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Validate checks a record before analysis. The first problem is returned.
func (r *Record) Validate() error {
	if len(r.ID) > 200 {
		return &FieldError{"id", "longer than 200 bytes"}
	}
	if r.Kind != "" && !contains(Kinds, r.Kind) {
		return &FieldError{"kind", fmt.Sprintf("%q is not one of %s", r.Kind, strings.Join(Kinds, ", "))}
	}
	if r.Stage != "" && !contains(Stages, r.Stage) {
		return &FieldError{"stage", fmt.Sprintf("%q is not one of %s", r.Stage, strings.Join(Stages, ", "))}
	}
	if r.OccurredAt != "" {
		if _, err := time.Parse(time.RFC3339, r.OccurredAt); err != nil {
			return &FieldError{"occurred_at", "not an RFC 3339 time (e.g. 2026-03-01T09:30:00+08:00)"}
		}
	}
	if r.NPS != nil && (*r.NPS < 0 || *r.NPS > 10) {
		return &FieldError{"nps", "must be 0–10"}
	}
	if r.CSAT != nil && (*r.CSAT < 1 || *r.CSAT > 5) {
		return &FieldError{"csat", "must be 1–5"}
	}
	if r.Org != "" {
		for _, part := range strings.Split(r.Org, "/") {
			if strings.TrimSpace(part) == "" {
				return &FieldError{"org", "empty level in org path (want e.g. 华南区域/深圳/碧海花园)"}
			}
		}
	}
	for _, f := range []struct{ name, v string }{{"id", r.ID}, {"org", r.Org}, {"channel", r.Channel}, {"customer", r.Customer}} {
		if !utf8.ValidString(f.v) {
			return &FieldError{f.name, "not valid UTF-8"}
		}
	}
	if r.Text != "" && len(r.Turns) > 0 {
		return &FieldError{"text", "give text or turns, not both"}
	}
	size := len(r.Text)
	if len(r.Turns) > 0 {
		for i, t := range r.Turns {
			field := fmt.Sprintf("turns[%d]", i)
			if t.Speaker != "agent" && t.Speaker != "customer" {
				return &FieldError{field + ".speaker", fmt.Sprintf("%q is not agent or customer", t.Speaker)}
			}
			if !utf8.ValidString(t.Text) {
				return &FieldError{field + ".text", "not valid UTF-8"}
			}
			size += len(t.Text)
		}
	} else {
		if !utf8.ValidString(r.Text) {
			return &FieldError{"text", "not valid UTF-8"}
		}
		if strings.TrimSpace(strings.ReplaceAll(r.Text, "\x00", "")) == "" {
			return &FieldError{"text", "empty: a record needs text or turns"}
		}
	}
	if size > MaxTextBytes {
		return &FieldError{"text", fmt.Sprintf("%d bytes of words, over the %d-byte limit", size, MaxTextBytes)}
	}
	return nil
}
