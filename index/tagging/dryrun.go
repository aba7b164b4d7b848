package tagging

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"dongting/analyzer"
	"dongting/index/store"
	"dongting/index/work"
	"dongting/taxonomy"
)

// DefaultScan is how many of the newest records a dry run reads when the
// caller does not say: enough to see a change's effect in a few seconds.
const DefaultScan = 20_000

// maxSamples bounds the sample records a dry run returns per node.
const maxSamples = 20

// Sample is a record a dry run shows: its id, a snippet of its (masked)
// text and the evidence that made the difference.
type Sample struct {
	ID       string              `json:"id"`
	Snippet  string              `json:"snippet"`
	Evidence []analyzer.Evidence `json:"evidence,omitempty"`
	Tags     []string            `json:"tags,omitempty"` // its touchpoints now
}

// NodeDelta is one node in a dry run: the records under it (tagged with it
// or a node below) now and with the draft.
type NodeDelta struct {
	Node   string   `json:"node"`
	Name   string   `json:"name"`
	Before int      `json:"before"`
	After  int      `json:"after"`
	Gained int      `json:"gained"`
	Lost   int      `json:"lost"`
	Gains  []Sample `json:"gained_samples,omitempty"`
	Losses []Sample `json:"lost_samples,omitempty"`
}

// DryRun is what a draft taxonomy would do to the stored records.
type DryRun struct {
	Scanned  int                   `json:"scanned"`
	Records  int                   `json:"records"` // live records in the corpus
	Diff     []taxonomy.NodeChange `json:"diff"`
	Untagged struct {
		Before int `json:"before"`
		After  int `json:"after"`
	} `json:"untagged"`
	Changed int           `json:"changed"` // nodes with records gained or lost
	Nodes   []NodeDelta   `json:"nodes"`
	Golden  *GoldenReport `json:"golden"`
}

// DryRun tags up to limit of the newest records (DefaultScan when limit is
// 0, every record when it is negative) with the taxonomy in force and with
// the draft, and counts per node the records gained and lost, with samples.
// Nothing is stored. The draft tags as the change will: its new words are
// in the dictionary of a trial segmenter (see draftAnalyzer), not the
// running one.
func (m *Manager) DryRun(ctx context.Context, src []byte, limit, samples int) (*DryRun, error) {
	tax, err := m.Parse(src)
	if err != nil {
		return nil, err
	}
	draft, release, err := m.draftAnalyzer(ctx, tax)
	if err != nil {
		return nil, err
	}
	defer release()
	cur := m.c.Analyzer()
	out := &DryRun{Diff: taxonomy.Diff(cur.Taxonomy(), tax)}
	if out.Diff == nil {
		out.Diff = []taxonomy.NodeChange{}
	}
	golden, err := m.Golden()
	if err != nil {
		return nil, err
	}
	if len(golden) > 0 {
		if out.Golden, err = CompareGolden(ctx, golden, cur, draft); err != nil {
			return nil, err
		}
	}
	samples = min(max(samples, 0), maxSamples)
	nodes := map[string]*NodeDelta{}
	delta := func(id string) *NodeDelta {
		d := nodes[id]
		if d == nil {
			d = &NodeDelta{Node: id}
			if n, ok := tax.Node(id); ok {
				d.Name = n.Name
			} else if n, ok := cur.Taxonomy().Node(id); ok {
				d.Name = n.Name
			}
			nodes[id] = d
		}
		return d
	}
	var mu sync.Mutex
	err = m.each(ctx, limit, func(st *store.Stored) error {
		before, after, err := cur.Compare(&st.Record, draft)
		if err != nil {
			return nil // stored records were valid; skip one a newer check refuses
		}
		b, a := under(before), under(after)
		mu.Lock()
		defer mu.Unlock()
		out.Scanned++
		if len(before.Tags) == 0 {
			out.Untagged.Before++
		}
		if len(after.Tags) == 0 {
			out.Untagged.After++
		}
		for id := range b {
			d := delta(id)
			d.Before++
			if _, ok := a[id]; !ok {
				d.Lost++
				if len(d.Losses) < samples {
					d.Losses = append(d.Losses, sample(st, b[id], before))
				}
			}
		}
		for id := range a {
			d := delta(id)
			d.After++
			if _, ok := b[id]; !ok {
				d.Gained++
				if len(d.Gains) < samples {
					d.Gains = append(d.Gains, sample(st, a[id], before))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Records, err = m.c.Records(); err != nil {
		return nil, err
	}
	for _, d := range nodes {
		if d.Gained+d.Lost > 0 {
			out.Changed++
		}
		out.Nodes = append(out.Nodes, *d)
	}
	// Most changed first, so the top of the answer is what to look at.
	slices.SortFunc(out.Nodes, func(x, y NodeDelta) int {
		if c := (y.Gained + y.Lost) - (x.Gained + x.Lost); c != 0 {
			return c
		}
		return strings.Compare(x.Node, y.Node)
	})
	return out, nil
}

// under maps every node a record counts under (its tags and their
// ancestors) to the evidence of the tag that put it there.
func under(a *analyzer.Analysis) map[string][]analyzer.Evidence {
	out := map[string][]analyzer.Evidence{}
	for _, t := range a.Tags {
		out[t.ID] = t.Evidence
		for _, p := range t.Parents {
			if _, ok := out[p]; !ok {
				out[p] = t.Evidence
			}
		}
	}
	return out
}

// RuleRun is what one rule matches in the stored records.
type RuleRun struct {
	Rule     string         `json:"rule"`
	Scanned  int            `json:"scanned"`
	Records  int            `json:"records"`
	Matches  int            `json:"matches"`
	Share    float64        `json:"share"`
	Tagged   map[string]int `json:"tagged"`   // matched records by their touchpoints now
	Untagged int            `json:"untagged"` // matched records with no touchpoint now
	Samples  []Sample       `json:"samples"`
}

// DryRunRule matches one rule against up to limit of the newest records
// (as DryRun) and says how many match, where they are tagged now, and
// shows samples with evidence. The rule's words are in the dictionary it
// cuts the records with, as they will be once a change holds the rule.
func (m *Manager) DryRunRule(ctx context.Context, rule string, limit, samples int) (*RuleRun, error) {
	if strings.TrimSpace(rule) == "" {
		return nil, &InvalidError{"rule", errors.New("rule: empty")}
	}
	if len(rule) > 4096 {
		return nil, &InvalidError{"rule", fmt.Errorf("rule: %d bytes, over the 4096 limit", len(rule))}
	}
	cur := m.c.Analyzer()
	if _, err := cur.CompileRule(rule); err != nil {
		return nil, &InvalidError{"rule", err}
	}
	e, err := taxonomy.ParseRule(rule)
	if err != nil {
		return nil, &InvalidError{"rule", err}
	}
	seg, release, err := cur.Segmenter().Trial(ctx, taxonomy.Terms(e))
	if err != nil {
		return nil, err
	}
	defer release()
	if cur, err = cur.WithSegmenter(seg); err != nil {
		return nil, err
	}
	mt, err := cur.CompileRule(rule)
	if err != nil {
		return nil, &InvalidError{"rule", err}
	}
	samples = min(max(samples, 0), maxSamples)
	out := &RuleRun{Rule: rule, Tagged: map[string]int{}, Samples: []Sample{}}
	var mu sync.Mutex
	err = m.each(ctx, limit, func(st *store.Stored) error {
		tokens, text, err := cur.Tokens(&st.Record)
		if err != nil {
			return nil
		}
		hits := mt.Match(tokens)
		mu.Lock()
		defer mu.Unlock()
		out.Scanned++
		if len(hits) == 0 {
			return nil
		}
		out.Matches++
		if st.Analysis == nil || len(st.Analysis.Tags) == 0 {
			out.Untagged++
		} else {
			for _, t := range st.Analysis.Tags {
				out.Tagged[t.ID]++
			}
		}
		if len(out.Samples) < samples {
			runes := []rune(text)
			var ev []analyzer.Evidence
			for _, sp := range hits[0].Evidence {
				if sp.Start >= 0 && sp.End <= len(runes) && sp.Start < sp.End {
					ev = append(ev, analyzer.Evidence{Start: sp.Start, End: sp.End, Text: string(runes[sp.Start:sp.End])})
				}
			}
			s := sample(st, ev, st.Analysis)
			out.Samples = append(out.Samples, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Scanned > 0 {
		out.Share = float64(out.Matches) / float64(out.Scanned)
	}
	out.Records, err = m.c.Records()
	return out, err
}

// each calls fn for up to limit of the newest records, on every core.
func (m *Manager) each(ctx context.Context, limit int, fn func(*store.Stored) error) error {
	switch {
	case limit == 0:
		limit = DefaultScan
	case limit < 0:
		limit = int(^uint(0) >> 1)
	}
	recs := make(chan *store.Stored, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(recs)
		errc <- work.Safely("a dry run's reader", func() error {
			var before uint64
			for n := 0; n < limit; {
				low, err := m.c.Newest(before, min(1000, limit-n), func(st *store.Stored) error {
					n++
					select {
					case recs <- st:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
				if err != nil || low == 0 {
					return err
				}
				before = low
			}
			return nil
		})
	}()
	var wg sync.WaitGroup
	var ferr error
	var once sync.Once
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range recs {
				if err := work.Safely("a dry run", func() error { return fn(st) }); err != nil {
					once.Do(func() { ferr = err })
				}
			}
		}()
	}
	wg.Wait()
	if err := <-errc; err != nil {
		return err
	}
	if ferr != nil {
		return ferr
	}
	return ctx.Err()
}

// snippetRunes is the length of a sample's snippet.
const snippetRunes = 80

func sample(st *store.Stored, ev []analyzer.Evidence, now *analyzer.Analysis) Sample {
	text := []rune(st.Text())
	from := 0
	if len(ev) > 0 && ev[0].Turn == nil {
		from = max(0, ev[0].Start-snippetRunes/4)
	}
	to := min(len(text), from+snippetRunes)
	s := Sample{ID: st.Record.ID, Snippet: string(text[from:to]), Evidence: ev}
	if from > 0 {
		s.Snippet = "…" + s.Snippet
	}
	if to < len(text) {
		s.Snippet += "…"
	}
	if now != nil {
		for _, t := range now.Tags {
			s.Tags = append(s.Tags, t.ID)
		}
	}
	return s
}
