// Package learn holds what Dongting learns from labelled text: the label
// schema people annotate with (LABELS.md), the measures that compare an
// analysis with those labels, and the linear models trained from them. It
// does no I/O beyond the readers and writers it is given.
package learn

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"
)

// Label is what an annotator decided for one message (see the README's
// evaluation section for the rules).
type Label struct {
	ID          string   `json:"id"`
	Split       string   `json:"split,omitempty"` // train or dev
	Scenes      []string `json:"scenes"`          // 0–3 scene ids, main first
	Touchpoints []string `json:"touchpoints,omitempty"`
	Redline     bool     `json:"redline"`
	RedlineKind string   `json:"redline_kind,omitempty"` // incident, escalation, collective
	Severity    string   `json:"severity"`               // P1, P2, P3, none
	Sentiment   string   `json:"sentiment"`              // negative, neutral, positive
	Praise      bool     `json:"praise"`
}

// Values the label fields take.
var (
	Severities   = []string{"P1", "P2", "P3", "none"}
	Sentiments   = []string{"negative", "neutral", "positive"}
	RedlineKinds = []string{"", "incident", "escalation", "collective"}
)

// Split is the fixed split of a message id: about a third of ids (by
// FNV-1a hash) are the dev split, on which nothing is tuned or trained;
// the rest are train.
func Split(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	if h.Sum32()%3 == 0 {
		return "dev"
	}
	return "train"
}

// Check validates a label against the scene ids of the taxonomy.
func (l *Label) Check(scenes []string) error {
	switch {
	case l.ID == "":
		return fmt.Errorf("id: required")
	case len(l.Scenes) > 3:
		return fmt.Errorf("scenes: at most 3, got %d", len(l.Scenes))
	case !slices.Contains(Severities, l.Severity):
		return fmt.Errorf("severity: %q is not one of %s", l.Severity, strings.Join(Severities, ", "))
	case !slices.Contains(Sentiments, l.Sentiment):
		return fmt.Errorf("sentiment: %q is not one of %s", l.Sentiment, strings.Join(Sentiments, ", "))
	case !slices.Contains(RedlineKinds, l.RedlineKind):
		return fmt.Errorf("redline_kind: %q is not one of incident, escalation, collective", l.RedlineKind)
	case l.Redline != (l.Severity == "P1"):
		return fmt.Errorf("redline: true exactly when severity is P1")
	case l.Split != "" && l.Split != Split(l.ID):
		return fmt.Errorf("split: %q, but id %s hashes to %s", l.Split, l.ID, Split(l.ID))
	}
	for _, s := range l.Scenes {
		if !slices.Contains(scenes, s) {
			return fmt.Errorf("scenes: %q is not a scene of the taxonomy", s)
		}
	}
	return nil
}

// ReadLabels reads JSON Lines of labels, checking each against scenes.
// Errors name the line.
func ReadLabels(r io.Reader, scenes []string) ([]Label, error) {
	var out []Label
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	seen := map[string]int{}
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var l Label
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if err := l.Check(scenes); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if prev, ok := seen[l.ID]; ok {
			return nil, fmt.Errorf("line %d: id %s already labelled on line %d", line, l.ID, prev)
		}
		seen[l.ID] = line
		if l.Split == "" {
			l.Split = Split(l.ID)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// Message is one text of the resident-message data set.
type Message struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Body is the text analysed for a message: its subject line, then its words.
func (m Message) Body() string {
	if m.Title == "" {
		return m.Text
	}
	return m.Title + "\n" + m.Text
}

// ReadMessages reads the JSON Lines of a message data set, keeping those
// whose id want holds (all when want is nil).
func ReadMessages(r io.Reader, want map[string]bool) (map[string]Message, error) {
	out := map[string]Message{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for line := 1; sc.Scan(); line++ {
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if want == nil || want[m.ID] {
			out[m.ID] = m
		}
	}
	return out, sc.Err()
}
