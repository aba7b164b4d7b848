package tagging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"unicode/utf8"

	"dongting/analyzer"
	"dongting/index/work"
	"dongting/taxonomy"
)

// GoldenCase is one line of a golden set: a text (or record) and the
// touchpoint ids it must be tagged with.
type GoldenCase struct {
	analyzer.Record
	Expect []string `json:"expect"`
}

// MaxGoldenCases bounds a golden set (it is scored on every change).
const MaxGoldenCases = 5000

// ParseGolden reads JSON Lines of golden cases. With tax, every expected id
// must be one of its nodes. Errors name the line.
func ParseGolden(src []byte, tax *taxonomy.Taxonomy) ([]GoldenCase, error) {
	if !utf8.Valid(src) {
		return nil, errors.New("golden: not valid UTF-8")
	}
	var out []GoldenCase
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), 2*analyzer.MaxTextBytes)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var c GoldenCase
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("golden: line %d: %v", line, err)
		}
		if c.ID == "" {
			c.ID = fmt.Sprintf("golden-%d", line)
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("golden: line %d: %w", line, err)
		}
		if len(c.Expect) == 0 {
			return nil, fmt.Errorf("golden: line %d: expect: list the touchpoint ids the text must be tagged with", line)
		}
		for _, id := range c.Expect {
			if tax == nil {
				continue
			}
			if _, ok := tax.Node(id); !ok {
				return nil, fmt.Errorf("golden: line %d: expect: %q is not a node of taxonomy %s", line, id, tax.ID)
			}
		}
		if len(out) == MaxGoldenCases {
			return nil, fmt.Errorf("golden: line %d: more than %d cases", line, MaxGoldenCases)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("golden: no cases")
	}
	return out, nil
}

// PRF is precision, recall and F1 with their counts.
type PRF struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

func (p *PRF) finish() {
	if p.TP+p.FP > 0 {
		p.Precision = float64(p.TP) / float64(p.TP+p.FP)
	}
	if p.TP+p.FN > 0 {
		p.Recall = float64(p.TP) / float64(p.TP+p.FN)
	}
	if p.Precision+p.Recall > 0 {
		p.F1 = 2 * p.Precision * p.Recall / (p.Precision + p.Recall)
	}
}

// NodeScore is one node's score before and after a change.
type NodeScore struct {
	Node   string `json:"node"`
	Before PRF    `json:"before"`
	After  PRF    `json:"after"`
	Worse  bool   `json:"worse"`
}

// GoldenReport scores a change on the golden set: micro-averaged over every
// (case, node) pair, and per node that is expected or predicted.
type GoldenReport struct {
	Summary
	Nodes []NodeScore `json:"nodes"`
}

// Summary is the part of a report kept with a version: a forced change
// keeps the nodes it made worse.
type Summary struct {
	Cases      int      `json:"cases"`
	Before     PRF      `json:"before"`
	After      PRF      `json:"after"`
	Worse      bool     `json:"worse"`
	WorseNodes []string `json:"worse_nodes"`
}

// CompareGolden tags every case with before and after. The change is worse
// when the micro F1 falls, or any node's F1 does: a gain elsewhere does not
// hide a node that stopped working.
func CompareGolden(ctx context.Context, cases []GoldenCase, before, after *analyzer.Analyzer) (*GoldenReport, error) {
	got := make([][2][]string, len(cases))
	errs := make([]error, len(cases))
	err := work.Parallel(ctx, runtime.GOMAXPROCS(0), len(cases), func(i int) {
		b, a, err := before.Compare(&cases[i].Record, after)
		if err != nil {
			errs[i] = err
			return
		}
		got[i] = [2][]string{tagIDs(b), tagIDs(a)}
	})
	if err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	rep := &GoldenReport{Summary: Summary{Cases: len(cases), WorseNodes: []string{}}}
	nodes := map[string]*NodeScore{}
	score := func(side int, exp, pred []string, micro *PRF) {
		for _, id := range exp {
			ns := nodes[id]
			if ns == nil {
				ns = &NodeScore{Node: id}
				nodes[id] = ns
			}
			p := &ns.Before
			if side == 1 {
				p = &ns.After
			}
			if slices.Contains(pred, id) {
				p.TP++
				micro.TP++
			} else {
				p.FN++
				micro.FN++
			}
		}
		for _, id := range pred {
			if slices.Contains(exp, id) {
				continue
			}
			ns := nodes[id]
			if ns == nil {
				ns = &NodeScore{Node: id}
				nodes[id] = ns
			}
			if side == 1 {
				ns.After.FP++
			} else {
				ns.Before.FP++
			}
			micro.FP++
		}
	}
	for i, c := range cases {
		score(0, c.Expect, got[i][0], &rep.Before)
		score(1, c.Expect, got[i][1], &rep.After)
	}
	rep.Before.finish()
	rep.After.finish()
	const eps = 1e-9
	for _, ns := range nodes {
		ns.Before.finish()
		ns.After.finish()
		ns.Worse = ns.After.F1 < ns.Before.F1-eps
		if ns.Worse {
			rep.WorseNodes = append(rep.WorseNodes, ns.Node)
		}
		rep.Nodes = append(rep.Nodes, *ns)
	}
	slices.Sort(rep.WorseNodes)
	slices.SortFunc(rep.Nodes, func(a, b NodeScore) int { return strings.Compare(a.Node, b.Node) })
	rep.Worse = rep.After.F1 < rep.Before.F1-eps || len(rep.WorseNodes) > 0
	return rep, nil
}

func tagIDs(a *analyzer.Analysis) []string {
	ids := make([]string, len(a.Tags))
	for i, t := range a.Tags {
		ids[i] = t.ID
	}
	return ids
}
