package index_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
)

// words are distinct words of the demo's vocabulary.
var words = strings.Fields("电梯 漏水 物业 保洁 绿化 停车 门禁 噪音 装修 垃圾 维修 收费 保安 路灯 水压 停电 供暖 燃气 快递 宠物 消防 监控 管家 投诉 业主 物业费 车位 充电桩 地库 会所 泳池 健身 草坪 树木 外墙 楼道 单元门 访客 蚊虫 异味")

func budgetErr(t *testing.T, c *index.Corpus, q fulltext.Query) *analyzer.Error {
	t.Helper()
	_, err := c.Search(context.Background(), &q)
	var qe *analyzer.Error
	if !errors.As(err, &qe) {
		t.Fatalf("%.80q: %v, want a QueryError", q.Q, err)
	}
	return qe
}

// Hostile query shapes are refused by the budget, naming the limit and
// the parameter, or are cut down to what they really search; none is run
// at its written size.
func TestQueryBudget(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, indextest.Demo(t, 5, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 300))

	// The query that cost 10 s of CPU: thirty times the same OR. Repeated
	// operands are dropped, so it searches three words and finds what
	// they find.
	repeated := strings.Repeat("(电梯|漏水|物业) & ", 29) + "(电梯|漏水|物业)"
	if got, want := ids(search(t, c, fulltext.Query{Q: repeated, Size: 200})), ids(search(t, c, fulltext.Query{Q: "电梯|漏水|物业", Size: 200})); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("repeated OR found %d, the OR alone %d", len(got), len(want))
	}
	if w, err := c.Weight(&fulltext.Query{Q: repeated}); err != nil || w != 1 {
		t.Errorf("weight of the repeated OR %d, %v", w, err)
	}

	// Thirty ORs of distinct words: 90 words.
	var ors []string
	for i := 0; i+2 < len(words); i += 3 {
		ors = append(ors, "("+words[i]+"|"+words[i+1]+"|"+words[i+2]+")")
	}
	deepNest := "电梯"
	for i, w := range words[1:12] {
		if i%2 == 0 {
			deepNest = "(" + deepNest + " | " + w + ")"
		} else {
			deepNest = "(" + deepNest + " & " + w + ")"
		}
	}
	var phrase, unbroken []string
	for i := range 40 {
		phrase = append(phrase, words[i%len(words)])
		unbroken = append(unbroken, words[(i*7)%len(words)])
	}
	for _, tc := range []struct{ name, q, limit string }{
		{"many ANDed ORs", strings.Join(ors, " & "), "terms"},
		{"many ORs", strings.Join(words, " | "), "terms"},
		{"many words side by side", strings.Join(words, " "), "terms"},
		{"a huge phrase", `"` + strings.Join(phrase, " ") + `"`, "terms"},
		{"one unbroken run of words", strings.Join(unbroken, ""), "terms"},
		{"deep nesting", deepNest, "depth"},
		{"deep NOTs", "电梯 & !(漏水 | !(物业 & !(保洁 | !(绿化 & !(停车 | !(门禁 & !(噪音 | !(装修 & 垃圾)))))))) ", "depth"},
		{"NOTs that read every record", "电梯 & !(漏水 | !物业) & !(保洁 | !绿化) & !(停车 | !门禁)", "scans"},
	} {
		qe := budgetErr(t, c, fulltext.Query{Q: tc.q})
		if qe.Field != "q" || qe.Limit != tc.limit {
			t.Errorf("%s: %+v, want the %s limit on q", tc.name, qe, tc.limit)
		}
		if _, err := c.Weight(&fulltext.Query{Q: tc.q}); !errors.As(err, &qe) {
			t.Errorf("%s: weighed without the budget: %v", tc.name, err)
		}
	}

	// Within the budget: nesting of one operator is one level, NOT beside
	// a required word excludes from it, NOT NOT is nothing.
	for _, q := range []string{
		"((((((((((((电梯))))))))))))",
		"电梯 | (漏水 | (物业 | (保洁 | (绿化 | (停车 | (门禁 | (噪音 | (装修 | 垃圾))))))))",
		"电梯 !漏水 !物业 !保洁 !绿化 !停车",
		"!!!!电梯",
		strings.Join(words[:32], " | "),
	} {
		if _, err := c.Search(context.Background(), &fulltext.Query{Q: q}); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	if got, want := ids(search(t, c, fulltext.Query{Q: "!!!!电梯", Size: 200})), ids(search(t, c, fulltext.Query{Q: "电梯", Size: 200})); !slices.Equal(got, want) {
		t.Errorf("NOT NOT 电梯 found %d, 电梯 %d", len(got), len(want))
	}
	if got, want := ids(search(t, c, fulltext.Query{Q: "物业 !电梯", Size: 200})), ids(search(t, c, fulltext.Query{Q: "物业 & (!电梯)", Size: 200})); !slices.Equal(got, want) {
		t.Errorf("物业 !电梯 found %d, 物业 & (!电梯) %d", len(got), len(want))
	}

	// Filters: repeated values count once, more than MaxFilterValues
	// distinct ones are refused on their parameter.
	if _, err := c.Search(context.Background(), &fulltext.Query{Touchpoint: slices.Repeat([]string{"facilities"}, 5000)}); err != nil {
		t.Errorf("a repeated filter value: %v", err)
	}
	var many []string
	for i := range fulltext.MaxFilterValues + 1 {
		many = append(many, fmt.Sprintf("ch-%d", i))
	}
	if qe := budgetErr(t, c, fulltext.Query{Channel: many}); qe.Field != "channel" || qe.Limit != "values" {
		t.Errorf("%d channels: %+v", len(many), qe)
	}
	if _, err := c.Search(context.Background(), &fulltext.Query{Q: "电梯", Facets: slices.Repeat([]string{"scene"}, 1000)}); err != nil {
		t.Errorf("a repeated facet: %v", err)
	}

	// Weights grow with what is searched.
	w1, _ := c.Weight(&fulltext.Query{Q: "电梯"})
	w32, _ := c.Weight(&fulltext.Query{Q: strings.Join(words[:32], " | ")})
	wScan, _ := c.Weight(&fulltext.Query{Q: "电梯 & !(漏水 | !物业)"})
	if w1 != 1 || w32 <= w1 || wScan <= w1 {
		t.Errorf("weights: one word %d, 32 words %d, a NOT scan %d", w1, w32, wScan)
	}
}

// A search stops at the corpus's deadline with ErrSearchTimeout.
func TestSearchDeadline(t *testing.T) {
	c := indextest.Open(t, index.Options{Dir: t.TempDir(), SearchTimeout: time.Nanosecond})
	defer c.Close()
	ingestAll(t, c, slices.Clone(corpus))
	_, err := c.Search(context.Background(), &fulltext.Query{Q: "电梯", Facets: []string{"scene"}})
	if !errors.Is(err, index.ErrSearchTimeout) {
		t.Fatalf("%v, want ErrSearchTimeout", err)
	}
	// A caller that gave up is not a timeout.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Search(ctx, &fulltext.Query{Q: "电梯"}); err == nil || errors.Is(err, index.ErrSearchTimeout) {
		t.Errorf("cancelled: %v", err)
	}
}
