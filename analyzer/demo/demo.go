// Package demo generates realistic, fictitious property-management records
// from the templates in data/demo/templates.yaml: complaints, hotline
// transcripts with agent and owner turns, work orders, praise, suggestions
// and surveys with NPS/CSAT, across regions, cities and projects over
// twelve months. Texts are composed from parts (thousands of distinct
// ones); the year has a season, a week and scenes with seasons of their
// own; one project is clearly worse than the rest and one incident (a
// building's elevators failing for a week) is planted near the end.
package demo

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"dongting/analyzer"
)

// Complaints are one scene's words: the core issues, details that may
// follow them, and the same matters phrased as work-order requests.
type Complaints struct {
	Weight   int      `yaml:"weight"`
	Season   []int    `yaml:"season"` // months (1–12) the scene is talked about more
	Issues   []string `yaml:"issues"`
	Details  []string `yaml:"details"`
	Requests []string `yaml:"requests"`
}

// Survey is one band of survey answers.
type Survey struct {
	NPS   [2]int   `yaml:"nps"`
	CSAT  [2]int   `yaml:"csat"`
	Texts []string `yaml:"texts"`
}

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
	Months   []int `yaml:"months"`   // relative volume, January first
	Weekdays []int `yaml:"weekdays"` // relative volume, Monday first
	Worse    struct {
		Org       string  `yaml:"org"`
		Weight    float64 `yaml:"weight"`
		Complaint float64 `yaml:"complaint"`
		Praise    float64 `yaml:"praise"`
		Detractor float64 `yaml:"detractor"`
	} `yaml:"worse"`
	Incident struct {
		Org      string   `yaml:"org"`
		FromDays int      `yaml:"from_days"`
		ToDays   int      `yaml:"to_days"`
		Share    float64  `yaml:"share"`
		Texts    []string `yaml:"texts"`
	} `yaml:"incident"`
	Slots       map[string][]string   `yaml:"slots"`
	Openers     []string              `yaml:"openers"`
	Feelings    []string              `yaml:"feelings"`
	Demands     []string              `yaml:"demands"`
	Escalations []string              `yaml:"escalations"`
	Complaints  map[string]Complaints `yaml:"complaints"`
	Praise      struct {
		Thanks []string            `yaml:"thanks"`
		Deeds  map[string][]string `yaml:"deeds"`
	} `yaml:"praise"`
	Suggestions []string          `yaml:"suggestions"`
	Surveys     map[string]Survey `yaml:"surveys"`
	Hotline     struct {
		AgentOpen   []string `yaml:"agent_open"`
		AgentAsk    []string `yaml:"agent_ask"`
		OwnerAnswer []string `yaml:"owner_answer"`
		AgentClose  []string `yaml:"agent_close"`
		OwnerClose  []string `yaml:"owner_close"`
	} `yaml:"hotline"`
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
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("demo: templates.yaml: %w", err)
	}
	return t, nil
}

func (t *Templates) check() error {
	switch {
	case len(t.Orgs) == 0 || len(t.Complaints) == 0 || len(t.Hotline.AgentOpen) == 0 || len(t.Hotline.AgentClose) == 0:
		return fmt.Errorf("lacks orgs, complaints or hotline lines")
	case len(t.Months) != 12 || len(t.Weekdays) != 7:
		return fmt.Errorf("months needs 12 weights and weekdays 7")
	case len(t.Praise.Deeds) == 0 || len(t.Suggestions) == 0:
		return fmt.Errorf("lacks praise or suggestions")
	case t.Incident.Share < 0 || t.Incident.Share >= 0.5 || t.Incident.FromDays <= t.Incident.ToDays || t.Incident.ToDays < 0:
		return fmt.Errorf("incident needs 0 ≤ share < 0.5 and from_days > to_days ≥ 0")
	}
	for _, band := range []string{"promoter", "passive", "detractor"} {
		if s, ok := t.Surveys[band]; !ok || len(s.Texts) == 0 || s.NPS[0] > s.NPS[1] || s.CSAT[0] > s.CSAT[1] {
			return fmt.Errorf("surveys.%s needs texts and nps and csat ranges", band)
		}
	}
	for scene, c := range t.Complaints {
		if len(c.Issues) == 0 || c.Weight <= 0 {
			return fmt.Errorf("complaints.%s needs a weight and issues", scene)
		}
	}
	orgs := t.orgPaths()
	for _, o := range []string{t.Worse.Org, t.Incident.Org} {
		if o != "" && !slices.Contains(orgs, o) {
			return fmt.Errorf("%s is not one of the orgs", o)
		}
	}
	return nil
}

func (t *Templates) orgPaths() []string {
	var out []string
	for _, r := range t.Orgs {
		for _, c := range r.Cities {
			for _, p := range c.Projects {
				out = append(out, r.Region+"/"+c.City+"/"+p)
			}
		}
	}
	return out
}

// Generator produces records deterministically from a seed.
type Generator struct {
	t      *Templates
	rng    *rand.Rand
	end    time.Time
	orgs   []string
	orgW   []int
	scenes []string
	deeds  []string // scenes with praise
	n      int
}

// hourWeights are the relative volume of each hour from 07:00 to 23:00:
// mornings and evenings, when owners are at home.
var hourWeights = []int{4, 7, 9, 9, 8, 6, 6, 7, 7, 7, 7, 8, 10, 11, 10, 7, 4}

// NewGenerator returns a generator of records dated in the twelve months
// before end.
func NewGenerator(t *Templates, seed uint64, end time.Time) *Generator {
	g := &Generator{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), end: end}
	for _, r := range t.Orgs {
		for _, c := range r.Cities {
			for _, p := range c.Projects {
				org := r.Region + "/" + c.City + "/" + p
				w := max(r.Weight, 1) * 10
				if org == t.Worse.Org && t.Worse.Weight > 0 {
					w = int(float64(w) * t.Worse.Weight)
				}
				g.orgs, g.orgW = append(g.orgs, org), append(g.orgW, w)
			}
		}
	}
	for s := range t.Complaints {
		g.scenes = append(g.scenes, s)
	}
	sort.Strings(g.scenes)
	for s := range t.Praise.Deeds {
		g.deeds = append(g.deeds, s)
	}
	sort.Strings(g.deeds)
	return g
}

func (g *Generator) pick(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[g.rng.IntN(len(list))]
}

func (g *Generator) chance(p float64) bool { return g.rng.Float64() < p }

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

// fill replaces {slot} markers, also those a slot's value brings.
func (g *Generator) fill(s string) string {
	for range 20 {
		i := strings.Index(s, "{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			break
		}
		s = s[:i] + g.pick(g.t.Slots[s[i+1:i+j]]) + s[i+j+1:]
	}
	return s
}

// day picks a time in the last year along the year's and the week's
// season, at an hour owners write at.
func (g *Generator) day() time.Time {
	maxM, maxW := slices.Max(g.t.Months), slices.Max(g.t.Weekdays)
	for {
		t := g.end.Add(-time.Duration(g.rng.Int64N(int64(365 * 24 * time.Hour))))
		wd := (int(t.Weekday()) + 6) % 7
		if g.rng.IntN(maxM*maxW) < g.t.Months[t.Month()-1]*g.t.Weekdays[wd] {
			return g.at(t)
		}
	}
}

func (g *Generator) at(t time.Time) time.Time {
	at := time.Date(t.Year(), t.Month(), t.Day(), 7+g.weighted(hourWeights), g.rng.IntN(60), 0, 0, t.Location())
	if at.After(g.end) { // the last day's later hours have not come yet
		at = at.AddDate(0, 0, -1)
	}
	return at
}

// scene picks a complaint's scene; a scene in its season weighs 2.5 times.
func (g *Generator) scene(month time.Month) string {
	w := make([]int, len(g.scenes))
	for i, s := range g.scenes {
		c := g.t.Complaints[s]
		w[i] = c.Weight * 2
		if slices.Contains(c.Season, int(month)) {
			w[i] = c.Weight * 5
		}
	}
	return g.scenes[g.weighted(w)]
}

// complaint composes an owner's complaint about scene.
func (g *Generator) complaint(scene string) string {
	c := g.t.Complaints[scene]
	var b strings.Builder
	b.WriteString(g.pick(g.t.Openers))
	b.WriteString(g.pick(c.Issues))
	if g.chance(0.5) {
		b.WriteString(g.pick(c.Details))
	}
	b.WriteString(g.pick(g.t.Feelings))
	b.WriteString(g.pick(g.t.Demands))
	if g.rng.IntN(25) == 0 {
		b.WriteString(g.pick(g.t.Escalations))
	}
	if g.rng.IntN(50) == 0 {
		fmt.Fprintf(&b, "我的电话是1%d%08d。", 35+g.rng.IntN(5), g.rng.IntN(1e8)) // masked on ingest
	}
	return g.fill(b.String())
}

// kind picks what a record is: the worse project's owners complain more
// and praise less.
func (g *Generator) kind(org string) string {
	kinds := []string{"complaint", "hotline", "workorder", "praise", "suggestion", "survey"}
	w := []float64{28, 20, 14, 8, 4, 26}
	if org == g.t.Worse.Org {
		for i := range 3 {
			w[i] *= g.t.Worse.Complaint
		}
		w[3] *= g.t.Worse.Praise
	}
	iw := make([]int, len(w))
	for i, x := range w {
		iw[i] = int(x * 100)
	}
	return kinds[g.weighted(iw)]
}

// Next returns the next record.
func (g *Generator) Next() analyzer.Record {
	g.n++
	r := analyzer.Record{ID: fmt.Sprintf("demo-%07d", g.n), Stage: "成熟期"}
	if inc := g.t.Incident; inc.Org != "" && g.chance(inc.Share) {
		g.incident(&r)
		return r
	}
	r.Org = g.orgs[g.weighted(g.orgW)]
	r.Customer = fmt.Sprintf("owner-%s-%d", r.Org, g.rng.IntN(300))
	at := g.day()
	r.OccurredAt = at.Format(time.RFC3339)
	scene := ""
	switch g.kind(r.Org) {
	case "complaint":
		r.Kind, r.Channel = "complaint", g.pick([]string{"app", "公众号", "管家微信", "投诉邮箱", "app", "公众号"})
		scene = g.scene(at.Month())
		r.Text = g.complaint(scene)
	case "hotline":
		r.Kind, r.Channel = "hotline", "400"
		scene = g.scene(at.Month())
		r.Turns = g.transcript(g.complaint(scene))
	case "workorder":
		r.Kind, r.Channel = "workorder", "工单系统"
		scene = g.scene(at.Month())
		if c := g.t.Complaints[scene]; len(c.Requests) > 0 && g.chance(0.7) {
			r.Text = g.fill(g.pick(c.Requests))
		} else {
			r.Text = g.complaint(scene)
		}
	case "praise":
		r.Kind, r.Channel = "comment", g.pick([]string{"app", "公众号", "管家微信"})
		scene = g.pick(g.deeds)
		text := strings.TrimSuffix(g.fill(g.pick(g.t.Praise.Deeds[scene])), "，")
		if thanks := g.pick(g.t.Praise.Thanks); thanks != "" {
			text += "，" + thanks
		} else {
			text += "。"
		}
		r.Text = text
	case "suggestion":
		r.Kind, r.Channel = "comment", g.pick([]string{"app", "公众号", "管家微信"})
		r.Text = g.pick(g.t.Suggestions)
	default:
		g.survey(&r, at.Month())
	}
	switch scene {
	case "delivery":
		r.Stage = "集中交楼期"
	case "sales":
		r.Stage = "签约及等待期"
	}
	return r
}

// transcript puts an owner's words between the agent's.
func (g *Generator) transcript(words string) []analyzer.RecordTurn {
	h := g.t.Hotline
	turns := []analyzer.RecordTurn{{Speaker: "agent", Text: g.pick(h.AgentOpen)}, {Speaker: "customer", Text: words}}
	if len(h.AgentAsk) > 0 && g.chance(0.6) {
		turns = append(turns, analyzer.RecordTurn{Speaker: "agent", Text: g.pick(h.AgentAsk)},
			analyzer.RecordTurn{Speaker: "customer", Text: g.fill(g.pick(h.OwnerAnswer))})
	}
	turns = append(turns, analyzer.RecordTurn{Speaker: "agent", Text: g.pick(h.AgentClose)})
	if len(h.OwnerClose) > 0 && g.chance(0.5) {
		turns = append(turns, analyzer.RecordTurn{Speaker: "customer", Text: g.pick(h.OwnerClose)})
	}
	return turns
}

// survey is an NPS/CSAT answer with a comment; the worse project's answers
// are mostly detractors.
func (g *Generator) survey(r *analyzer.Record, month time.Month) {
	detractor, promoter := 0.3, 0.42
	if r.Org == g.t.Worse.Org && g.t.Worse.Detractor > 0 {
		detractor, promoter = g.t.Worse.Detractor, (1-g.t.Worse.Detractor)/2
	}
	band := "passive"
	switch x := g.rng.Float64(); {
	case x < detractor:
		band = "detractor"
	case x < detractor+promoter:
		band = "promoter"
	}
	s := g.t.Surveys[band]
	nps := s.NPS[0] + g.rng.IntN(s.NPS[1]-s.NPS[0]+1)
	csat := s.CSAT[0] + g.rng.IntN(s.CSAT[1]-s.CSAT[0]+1)
	r.Kind, r.Channel, r.NPS, r.CSAT = "survey", g.pick([]string{"用后即评", "满意度调研"}), &nps, &csat
	r.Text = g.pick(s.Texts)
	if band == "detractor" && g.chance(0.85) {
		// A detractor mostly says what went wrong, as a complaint would.
		issue := g.fill(g.pick(g.t.Complaints[g.scene(month)].Issues))
		r.Text = issue + g.pick([]string{"很失望。", "不会推荐给朋友。", "希望改进。", ""})
	}
}

// incident is one of the planted incident's records.
func (g *Generator) incident(r *analyzer.Record) {
	inc := g.t.Incident
	r.Org = inc.Org
	r.Customer = fmt.Sprintf("owner-%s-%d", r.Org, g.rng.IntN(300))
	span := time.Duration(inc.FromDays-inc.ToDays) * 24 * time.Hour
	t := g.end.Add(-time.Duration(inc.FromDays)*24*time.Hour + time.Duration(g.rng.Int64N(int64(span))))
	r.OccurredAt = g.at(t).Format(time.RFC3339)
	words := g.fill(g.pick(g.t.Openers) + g.pick(inc.Texts) + g.pick(g.t.Demands))
	switch x := g.rng.IntN(10); {
	case x < 5:
		r.Kind, r.Channel, r.Turns = "hotline", "400", g.transcript(words)
	case x < 9:
		r.Kind, r.Channel, r.Text = "complaint", g.pick([]string{"app", "公众号", "管家微信"}), words
	default:
		r.Kind, r.Channel, r.Text = "workorder", "工单系统", words
	}
}
