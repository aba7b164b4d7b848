package api_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"dongting/api"
	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
)

var manyWords = strings.Fields("电梯 漏水 物业 保洁 绿化 停车 门禁 噪音 装修 垃圾 维修 收费 保安 路灯 水压 停电 供暖 燃气 快递 宠物 消防 监控 管家 投诉 业主 物业费 车位 充电桩 地库 会所 泳池 健身 草坪 树木 外墙 楼道")

// A query past the budget is a 422 naming the limit and q; a filter with
// too many values names its parameter.
func TestSearchBudgetAnswers(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	indextest.Ingest(t, s.corpus, indextest.Demo(t, 2, time.Now(), 50))
	deep := "电梯"
	for i, w := range manyWords[1:11] {
		op := " | "
		if i%2 == 1 {
			op = " & "
		}
		deep = "(" + deep + op + w + ")"
	}
	for _, tc := range []struct{ q, limit string }{
		{strings.Join(manyWords, " | "), "terms"},
		{`"` + strings.Join(manyWords, "") + `"`, "terms"},
		{deep, "depth"},
		{"电梯 & !(漏水 | !物业) & !(保洁 | !绿化) & !(停车 | !门禁)", "scans"},
	} {
		code, out := do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape(tc.q), "", nil)
		e, _ := out["error"].(map[string]any)
		if code != 422 || e["code"] != "query_too_complex" || e["field"] != "q" || !strings.Contains(e["message"].(string), tc.limit+" limit") {
			t.Errorf("%.60s: %d %v", tc.q, code, out)
		}
		// Export checks the same budget before it sends anything.
		if code, _ := do(t, "GET", s.URL+"/api/v1/export?format=ndjson&q="+url.QueryEscape(tc.q), "", nil); code != 422 {
			t.Errorf("export of %.60s: %d", tc.q, code)
		}
	}
	q := url.Values{}
	for i := range fulltext.MaxFilterValues + 1 {
		q.Add("channel", "ch"+strings.Repeat("x", i))
	}
	code, out := do(t, "GET", s.URL+"/api/v1/search?"+q.Encode(), "", nil)
	if ec, field := errOf(out); code != 422 || ec != "query_too_complex" || field != "channel" {
		t.Errorf("%d channels: %d %v", fulltext.MaxFilterValues+1, code, out)
	}
	// The repeated OR that cost 10 s of CPU searches its three words.
	rep := strings.Repeat("(电梯|漏水|物业) & ", 29) + "(电梯|漏水|物业)"
	if code, out := do(t, "GET", s.URL+"/api/v1/search?q="+url.QueryEscape(rep), "", nil); code != 200 {
		t.Errorf("repeated OR: %d %v", code, out)
	}
}

// A search past its deadline is a 503 timeout.
func TestSearchTimeoutAnswer(t *testing.T) {
	s := startServerWith(t, api.Limits{}, false, index.Options{SearchTimeout: time.Nanosecond})
	indextest.Ingest(t, s.corpus, indextest.Demo(t, 2, time.Now(), 20))
	code, out := do(t, "GET", s.URL+"/api/v1/search?q=%E7%89%A9%E4%B8%9A&facets=scene", "", nil)
	if ec, _ := errOf(out); code != 503 || ec != "timeout" {
		t.Errorf("%d %v", code, out)
	}
}

// A query that searches much costs several requests of its key's rate.
func TestExpensiveQueriesChargeTheRateLimit(t *testing.T) {
	s := newAuthServer(t, api.Limits{KeyRate: 0.001, KeyBurst: 6})
	costly := url.QueryEscape(strings.Join(manyWords[:32], " | ")) // weight 4
	if code, out := s.call(t, "root", "GET", "/api/v1/search?q="+costly, ""); code != 200 {
		t.Fatalf("first costly query: %d %v", code, out)
	}
	// 2 of 6 left: a second costly query is refused, a cheap one is not.
	code, out := s.call(t, "root", "GET", "/api/v1/search?q="+costly, "")
	if ec, _ := errOf(out); code != 429 || ec != "rate_limited" || !strings.Contains(out["error"].(map[string]any)["message"].(string), "costs 4 requests") {
		t.Errorf("second costly query: %d %v", code, out)
	}
	if code, out := s.call(t, "root", "GET", "/api/v1/search?q=%E7%94%B5%E6%A2%AF", ""); code != 200 {
		t.Errorf("a cheap query after it: %d %v", code, out)
	}
}
