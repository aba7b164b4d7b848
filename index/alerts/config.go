// Package alerts raises alerts from committed records (red lines, severe
// complaints, detractors, repeat complaints, volume spikes, praise), groups
// them, routes them to the managers of the record's org levels, escalates
// what nobody acknowledges, and delivers every notification through a
// durable outbox of signed webhooks. Evaluation runs inside the record's
// own write transaction: an alert exists exactly when its record does.
package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"dongting/analyzer"
	"gopkg.in/yaml.v3"
)

// Sources an alert can come from.
var Sources = []string{"redline", "severe", "detractor", "repeat", "spike", "praise"}

// Duration reads "30m", "24h" from YAML and JSON.
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30m or 24h", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Step is one escalation: after this long unacknowledged, tell level.
type Step struct {
	After Duration `yaml:"after" json:"after"`
	Level int      `yaml:"level" json:"level"`
}

// Route says how one source's alerts are told and escalated.
type Route struct {
	Severity string `yaml:"severity" json:"severity"`
	Notify   []int  `yaml:"notify" json:"notify"`
	Escalate []Step `yaml:"escalate" json:"escalate,omitempty"`
	// Updates sends alert.updated to everyone told so far when a record
	// joins an open alert. P1 routes always do.
	Updates bool `yaml:"updates" json:"updates,omitempty"`
}

// Receiver is a manager's webhook.
type Receiver struct {
	ID      string `yaml:"id" json:"id"`
	Org     string `yaml:"org" json:"org"` // the node managed; "" is the group
	Subtree bool   `yaml:"subtree" json:"subtree,omitempty"`
	URL     string `yaml:"url" json:"url"`
	Secret  string `yaml:"secret" json:"secret,omitempty"`
}

// Config is the routing configuration (data/alerts/routing.yaml, or what
// was last PUT over the API).
type Config struct {
	Window     Duration `yaml:"window" json:"window"`
	MaxAge     Duration `yaml:"max_age" json:"max_age"`
	RepeatDays int      `yaml:"repeat_days" json:"repeat_days"`
	Spike      struct {
		BaselineDays int     `yaml:"baseline_days" json:"baseline_days"`
		MinCount     int     `yaml:"min_count" json:"min_count"`
		P            float64 `yaml:"p" json:"p"`
	} `yaml:"spike" json:"spike"`
	Sources   map[string]Route `yaml:"sources" json:"sources"`
	Receivers []Receiver       `yaml:"receivers" json:"receivers"`
}

// ParseConfig reads YAML or JSON strictly and validates it.
func ParseConfig(src []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, &analyzer.Error{Kind: analyzer.InvalidConfig, Where: "alerts", Field: "routing", Reason: err.Error()}
	}
	return &c, c.Validate()
}

// Validate checks every field a bad value of which would misroute alerts.
func (c *Config) Validate() error {
	bad := func(f, r string, a ...any) error {
		return &analyzer.Error{Kind: analyzer.InvalidConfig, Where: "alerts", Field: f, Reason: fmt.Sprintf(r, a...)}
	}
	if c.Window <= 0 {
		return bad("window", "must be positive")
	}
	if c.MaxAge <= 0 {
		return bad("max_age", "must be positive")
	}
	if c.RepeatDays < 1 || c.RepeatDays > 365 {
		return bad("repeat_days", "must be 1–365")
	}
	if c.Spike.BaselineDays < 7 || c.Spike.BaselineDays > 365 {
		return bad("spike.baseline_days", "must be 7–365")
	}
	if c.Spike.MinCount < 1 {
		return bad("spike.min_count", "must be at least 1")
	}
	if c.Spike.P <= 0 || c.Spike.P >= 1 {
		return bad("spike.p", "must be between 0 and 1")
	}
	for name, r := range c.Sources {
		f := "sources." + name
		if !slices.Contains(Sources, name) {
			return bad(f, "not one of %s", strings.Join(Sources, ", "))
		}
		if !slices.Contains([]string{"P1", "P2", "P3", "none"}, r.Severity) {
			return bad(f+".severity", "%q is not one of P1, P2, P3, none", r.Severity)
		}
		if len(r.Notify) == 0 {
			return bad(f+".notify", "needs at least one level")
		}
		for _, l := range r.Notify {
			if l < 0 || l > 8 {
				return bad(f+".notify", "level %d is not 0–8", l)
			}
		}
		var prev Duration
		for i, s := range r.Escalate {
			if s.After <= prev {
				return bad(fmt.Sprintf("%s.escalate[%d].after", f, i), "must be positive and later than the step before")
			}
			if s.Level < 0 || s.Level > 8 {
				return bad(fmt.Sprintf("%s.escalate[%d].level", f, i), "level %d is not 0–8", s.Level)
			}
			prev = s.After
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Receivers {
		f := fmt.Sprintf("receivers[%d]", i)
		if r.ID == "" || seen[r.ID] {
			return bad(f+".id", "must be present and unique")
		}
		seen[r.ID] = true
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(f+".url", "%q is not an http(s) URL", r.URL)
		}
		if len(r.Secret) < 16 {
			return bad(f+".secret", "needs at least 16 characters to sign payloads")
		}
	}
	return nil
}

// redacted is the configuration as shown over the API: secrets hidden.
func (c *Config) redacted() *Config {
	out := *c
	out.Receivers = make([]Receiver, len(c.Receivers))
	for i, r := range c.Receivers {
		r.Secret = ""
		if c.Receivers[i].Secret != "" {
			r.Secret = "********"
		}
		out.Receivers[i] = r
	}
	return &out
}

func (c *Config) receiver(id string) (Receiver, bool) {
	for _, r := range c.Receivers {
		if r.ID == id {
			return r, true
		}
	}
	return Receiver{}, false
}

// receiversFor lists who manages node ("" is the group): its own
// receivers and those of an ancestor with subtree set.
func (c *Config) receiversFor(node string) []Receiver {
	var out []Receiver
	for _, r := range c.Receivers {
		if r.Org == node || r.Subtree && (r.Org == "" || strings.HasPrefix(node, r.Org+"/")) {
			out = append(out, r)
		}
	}
	return out
}

func (c *Config) marshal() []byte {
	b, _ := json.Marshal(c)
	return b
}
