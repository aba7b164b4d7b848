// Package demo generates realistic, fictitious property-management records
// from the templates in data/demo/templates.yaml: complaints, hotline
// transcripts with agent and owner turns, work orders, praise and surveys
// with NPS/CSAT, across regions, cities and projects over twelve months.
package demo

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"dongting/analyzer"
)

// Templates is data/demo/templates.yaml.
type Templates struct {
	Orgs []struct {
		Region string `yaml:"region"`
		Weight int    `yaml:"weight"`
		Cities []struct {
			City     string   `yaml:"city"`
			Projects []string `yaml:"projects"`
		} `yaml:"cities"`
	} `yaml:"orgs"`
	Slots       map[string][]string `yaml:"slots"`
	Openers     []string            `yaml:"openers"`
	Closers     []string            `yaml:"closers"`
	Escalations []string            `yaml:"escalations"`
	Complaints  map[string]struct {
		Weight int      `yaml:"weight"`
		Months []int    `yaml:"months"`
		Texts  []string `yaml:"texts"`
	} `yaml:"complaints"`
	Praise []struct {
		Scene string `yaml:"scene"`
		Text  string `yaml:"text"`
	} `yaml:"praise"`
	Surveys []struct {
		NPS  [2]int `yaml:"nps"`
		CSAT [2]int `yaml:"csat"`
		Text string `yaml:"text"`
	} `yaml:"surveys"`
	AgentOpen  []string `yaml:"agent_open"`
	AgentClose []string `yaml:"agent_close"`
	OwnerClose []string `yaml:"owner_close"`
}

// Load reads the templates from the data files.
func Load(fsys fs.FS) (*Templates, error) {
	b, err := fs.ReadFile(fsys, "demo/templates.yaml")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	t := new(Templates)
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(t); err != nil {
		return nil, fmt.Errorf("demo: templates.yaml: %w", err)
	}
	if len(t.Orgs) == 0 || len(t.Complaints) == 0 || len(t.Surveys) == 0 || len(t.AgentOpen) == 0 {
		return nil, fmt.Errorf("demo: templates.yaml lacks orgs, complaints, surveys or agent lines")
	}
	return t, nil
}

// Generator produces records deterministically from a seed.
type Generator struct {
	t      *Templates
	rng    *rand.Rand
	end    time.Time
	orgs   []string
	orgW   []int
	scenes []string
	n      int
}

// NewGenerator returns a generator of records dated in the twelve months
// before end.
func NewGenerator(t *Templates, seed uint64, end time.Time) *Generator {
	g := &Generator{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), end: end}
	for _, r := range t.Orgs {
		for _, c := range r.Cities {
			for _, p := range c.Projects {
				g.orgs = append(g.orgs, r.Region+"/"+c.City+"/"+p)
				g.orgW = append(g.orgW, max(r.Weight, 1))
			}
		}
	}
	for s := range t.Complaints {
		g.scenes = append(g.scenes, s)
	}
	sort.Strings(g.scenes)
	return g
}

func (g *Generator) pick(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[g.rng.IntN(len(list))]
}

func (g *Generator) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := g.rng.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// fill replaces {slot} markers.
func (g *Generator) fill(s string) string {
	for strings.Contains(s, "{") {
		i := strings.Index(s, "{")
		j := strings.Index(s[i:], "}")
		if j < 0 {
			break
		}
		s = s[:i] + g.pick(g.t.Slots[s[i+1:i+j]]) + s[i+j+1:]
	}
	return s
}

// when picks a time in the last year, favouring a scene's season.
func (g *Generator) when(months []int) time.Time {
	for {
		t := g.end.Add(-time.Duration(g.rng.Int64N(int64(365 * 24 * time.Hour))))
		t = time.Date(t.Year(), t.Month(), t.Day(), 7+g.rng.IntN(16), g.rng.IntN(60), 0, 0, t.Location())
		if t.After(g.end) { // later today than now: the same hour yesterday
			t = t.AddDate(0, 0, -1)
		}
		if len(months) == 0 || g.rng.IntN(3) == 0 {
			return t
		}
		for _, m := range months {
			if int(t.Month()) == m {
				return t
			}
		}
	}
}

func (g *Generator) complaint() (scene, text string, months []int) {
	w := make([]int, len(g.scenes))
	for i, s := range g.scenes {
		w[i] = g.t.Complaints[s].Weight
	}
	scene = g.scenes[g.weighted(w)]
	c := g.t.Complaints[scene]
	text = g.fill(g.pick(g.t.Openers) + g.pick(c.Texts) + g.pick(g.t.Closers))
	if g.rng.IntN(25) == 0 {
		text += g.pick(g.t.Escalations)
	}
	if g.rng.IntN(50) == 0 {
		text += fmt.Sprintf("我的电话是1%d%08d。", 35+g.rng.IntN(5), g.rng.IntN(1e8)) // masked on ingest
	}
	return scene, text, c.Months
}

// Next returns the next record.
func (g *Generator) Next() analyzer.Record {
	g.n++
	r := analyzer.Record{ID: fmt.Sprintf("demo-%07d", g.n), Org: g.orgs[g.weighted(g.orgW)], Stage: "成熟期"}
	r.Customer = fmt.Sprintf("owner-%s-%d", r.Org, g.rng.IntN(300))
	var months []int
	scene := ""
	switch x := g.rng.IntN(100); {
	case x < 38: // complaint
		r.Kind, r.Channel = "complaint", g.pick([]string{"app", "公众号", "管家微信", "投诉邮箱"})
		scene, r.Text, months = g.complaint()
	case x < 60: // hotline transcript
		r.Kind, r.Channel = "hotline", "400"
		var text string
		scene, text, months = g.complaint()
		r.Turns = []analyzer.RecordTurn{{Speaker: "agent", Text: g.pick(g.t.AgentOpen)}, {Speaker: "customer", Text: text}, {Speaker: "agent", Text: g.pick(g.t.AgentClose)}}
		if g.rng.IntN(2) == 0 {
			r.Turns = append(r.Turns, analyzer.RecordTurn{Speaker: "customer", Text: g.pick(g.t.OwnerClose)})
		}
	case x < 70: // work order
		r.Kind, r.Channel = "workorder", "工单系统"
		scene, r.Text, months = g.complaint()
	case x < 77: // praise
		p := g.t.Praise[g.rng.IntN(len(g.t.Praise))]
		r.Kind, r.Channel, r.Text, scene = "comment", g.pick([]string{"app", "公众号", "管家微信"}), p.Text, p.Scene
	default: // survey
		s := g.t.Surveys[g.rng.IntN(len(g.t.Surveys))]
		nps := s.NPS[0] + g.rng.IntN(s.NPS[1]-s.NPS[0]+1)
		csat := s.CSAT[0] + g.rng.IntN(s.CSAT[1]-s.CSAT[0]+1)
		r.Kind, r.Channel, r.NPS, r.CSAT = "survey", g.pick([]string{"用后即评", "满意度调研"}), &nps, &csat
		r.Text = s.Text
	}
	switch scene {
	case "delivery":
		r.Stage = "集中交楼期"
	case "sales":
		r.Stage = "签约及等待期"
	}
	r.OccurredAt = g.when(months).Format(time.RFC3339)
	return r
}
