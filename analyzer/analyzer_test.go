package analyzer_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
)

func analyze(t *testing.T, a *analyzer.Analyzer, r *analyzer.Record) *analyzer.Analysis {
	t.Helper()
	res, err := a.Analyze(r)
	if err != nil {
		t.Fatalf("Analyze(%q): %v", r.Text, err)
	}
	checkEvidence(t, r, res)
	return res
}

// checkEvidence asserts the contract: every evidence span's text is the
// original (masked) text at those code-point offsets.
func checkEvidence(t *testing.T, r *analyzer.Record, res *analyzer.Analysis) {
	t.Helper()
	all := append(append([]analyzer.Tag(nil), res.Tags...), res.Dimensions...)
	var evs []analyzer.Evidence
	for _, tag := range all {
		if len(tag.Evidence) == 0 {
			t.Errorf("tag %s has no evidence", tag.ID)
		}
		evs = append(evs, tag.Evidence...)
	}
	for _, s := range res.Signals {
		evs = append(evs, s.Evidence...)
	}
	cache := map[int][]rune{}
	for _, ev := range evs {
		key := -1
		if ev.Turn != nil {
			key = *ev.Turn
		}
		runes, ok := cache[key]
		if !ok {
			src := r.Text
			if key >= 0 {
				src = r.Turns[key].Text
			}
			src, _ = analyzer.MaskPII(src)
			runes = []rune(src)
			cache[key] = runes
		}
		if ev.Start < 0 || ev.End > len(runes) || ev.Start >= ev.End {
			t.Errorf("evidence %+v out of range (%d runes)", ev, len(runes))
			continue
		}
		if got := string(runes[ev.Start:ev.End]); got != ev.Text {
			t.Errorf("evidence %+v: text at offsets is %q", ev, got)
		}
	}
}

func tagIDs(res *analyzer.Analysis) string {
	var ids []string
	for _, t := range res.Tags {
		ids = append(ids, t.ID)
	}
	return strings.Join(ids, " ")
}

func TestAnalyzeCases(t *testing.T) {
	a := analyzertest.New(t, "property")
	tests := []struct {
		text      string
		tags      string // expected tag ids, in order of first evidence
		sentiment string
		severity  string
		redline   string
		praise    bool
	}{
		{"电梯又坏了，困了半个小时没人管，我要打12345投诉！", "facilities.elevator.fault facilities.elevator.entrapment", "negative", "P1", "elevator-entrapment hotline-threat", false},
		{"保洁阿姨很负责，楼道打扫得很干净，点赞", "cleaning.cleaner cleaning.corridor", "positive", "none", "", true},
		{"物业费每年都涨价，收费标准也不公示，我们准备集体维权拉横幅", "fees.property-fee fees.increase fees.standard", "negative", "P1", "group-action owners-as-body", false},
		{"楼上装修噪音太大，中午也在砸墙", "renovation.time", "negative", "P3", "", false},
		{"地库漏水好几个月了，报修了三次还是没解决，物业根本不作为", "parking.flooding repair.response", "negative", "P2", "", false},
		{"管家小王态度很好，维修师傅上门也很及时，谢谢你们", "service.butler service.attitude repair.response", "positive", "none", "", true},
		{"小區的電梯壞了，物業不處理", "facilities.elevator.fault", "negative", "P3", "", false},
		{"停车位太少了，晚上回来根本找不到地方停，乱停车也没人管", "parking.space parking.illegal", "negative", "P2", "", false},
		{"有人在楼道里闻到燃气味，怕出事", "utilities.gas", "negative", "P2", "", false}, // a hazard feared, not an incident (LABELS.md)
		{"楼道里燃气泄漏了，已经有人晕倒", "utilities.gas", "negative", "P1", "fire-gas-electric", false},
		{"一旦发生火灾，后果不堪设想", "", "negative", "P2", "", false},
		{"电梯突然停了，我和孩子被困在里面", "facilities.elevator.entrapment", "negative", "P1", "elevator-entrapment", false},
		{"打了12345也没用，电梯还是坏的", "facilities.elevator.fault", "negative", "P2", "", false},
		{"绿化挺好的，但是垃圾桶经常满了没人清", "greening.greenery cleaning.garbage", "negative", "P3", "", false},
		{"物业费年年涨，收费标准也不公示，很多业主准备联名更换物业", "fees.property-fee fees.standard governance.replace", "negative", "P1", "group-action", false},
		{"今天天气不错", "", "positive", "none", "", false},
		// Passing mentions are no scene (LABELS.md): the channel, a
		// school or a bus stop off the estate.
		{"孩子学校门口的公交站太远了，打了热线也没有回复", "", "negative", "P3", "", false},
		{"小区配套幼儿园交房三年了还没开", "amenities.supporting", "negative", "P3", "", false},
		{"物业乱收费，物业费也涨价了", "fees.standard fees.increase fees.property-fee", "negative", "P2", "", false},
	}
	for _, tt := range tests {
		res := analyze(t, a, &analyzer.Record{ID: "x", Text: tt.text})
		if got := tagIDs(res); got != tt.tags {
			t.Errorf("%s\n  tags %q, want %q", tt.text, got, tt.tags)
		}
		if res.Sentiment.Label != tt.sentiment {
			t.Errorf("%s\n  sentiment %+v, want %s", tt.text, res.Sentiment, tt.sentiment)
		}
		if res.Severity != tt.severity {
			t.Errorf("%s\n  severity %s, want %s (signals %+v)", tt.text, res.Severity, tt.severity, res.Signals)
		}
		if got := strings.Join(res.Redline, " "); got != tt.redline {
			t.Errorf("%s\n  redline %q, want %q", tt.text, got, tt.redline)
		}
		if res.Praise != tt.praise {
			t.Errorf("%s\n  praise %v, want %v", tt.text, res.Praise, tt.praise)
		}
		if res.Sentiment.Score < -1 || res.Sentiment.Score > 1 {
			t.Errorf("%s: score %v outside [-1, 1]", tt.text, res.Sentiment.Score)
		}
	}
}

func TestTagSentimentFollowsClauses(t *testing.T) {
	a := analyzertest.New(t, "property")
	res := analyze(t, a, &analyzer.Record{Text: "保安态度很好，就是电梯老是坏"})
	got := map[string]string{}
	for _, tag := range res.Tags {
		got[tag.ID] = tag.Sentiment.Label
	}
	if got["security.guard"] != "positive" || got["facilities.elevator.fault"] != "negative" {
		t.Errorf("per-tag sentiment = %v", got)
	}
}

func TestSentimentRules(t *testing.T) {
	a := analyzertest.New(t, "property")
	score := func(s string) float64 { return analyze(t, a, &analyzer.Record{Text: s}).Sentiment.Score }
	// negation, degree, contrast, rhetorical questions, exclamation
	if !(score("服务好") > 0 && score("服务不好") < 0) {
		t.Errorf("negation: 服务好 %v, 服务不好 %v", score("服务好"), score("服务不好"))
	}
	if !(score("服务非常好") > score("服务好")) {
		t.Errorf("degree: 非常好 %v <= 好 %v", score("服务非常好"), score("服务好"))
	}
	if !(score("环境不错，但是物业太差") < 0) || !(score("物业太差，但是环境不错") > score("环境不错，但是物业太差")) {
		t.Errorf("contrast: %v %v", score("环境不错，但是物业太差"), score("物业太差，但是环境不错"))
	}
	if !(score("凭什么让我们业主承担这个费用？") < 0) {
		t.Errorf("rhetorical: %v", score("凭什么让我们业主承担这个费用？"))
	}
	if !(score("太差了!!!") < score("太差了")) {
		t.Errorf("exclamation: %v vs %v", score("太差了!!!"), score("太差了"))
	}
	if !(score("不差") > score("差")) {
		t.Errorf("negated negative: 不差 %v, 差 %v", score("不差"), score("差"))
	}
}

func TestTranscriptAgentExcluded(t *testing.T) {
	a := analyzertest.New(t, "property")
	// The agent apologises profusely and mentions 12345; the owner is happy.
	r := &analyzer.Record{ID: "t1", Kind: "hotline", Turns: []analyzer.RecordTurn{
		{Speaker: "agent", Text: "非常抱歉给您添麻烦了，您也可以打12345反映"},
		{Speaker: "customer", Text: "没事，维修师傅已经修好了，很满意，谢谢"},
	}}
	res := analyze(t, a, r)
	if res.Sentiment.Label != "positive" {
		t.Errorf("sentiment %+v: the agent's words leaked in", res.Sentiment)
	}
	if len(res.Redline) != 0 {
		t.Errorf("redline %v from an agent turn", res.Redline)
	}
	var turns []int
	for _, tag := range res.Tags {
		for _, ev := range tag.Evidence {
			if ev.Turn == nil {
				t.Fatalf("evidence without turn in a JSON transcript: %+v", ev)
			}
			turns = append(turns, *ev.Turn)
		}
	}
	if len(turns) == 0 {
		t.Fatal("no tags")
	}
	// The same text with speaker prefixes gives the same result.
	plain := analyze(t, a, &analyzer.Record{Text: "客服：非常抱歉给您添麻烦了，您也可以打12345反映\n业主：没事，维修师傅已经修好了，很满意，谢谢"})
	if plain.Sentiment.Label != res.Sentiment.Label || len(plain.Redline) != 0 || tagIDs(plain) != tagIDs(res) {
		t.Errorf("prefixed text: %+v %v %q, JSON turns: %+v %q", plain.Sentiment, plain.Redline, tagIDs(plain), res.Sentiment, tagIDs(res))
	}
}

func TestPIIMaskedBeforeAnalysis(t *testing.T) {
	a := analyzertest.New(t, "property")
	r := &analyzer.Record{Text: "我的电话13812345678，身份证110101199003071233，电梯坏了"}
	res := analyze(t, a, r)
	if res.PII.Mobile != 1 || res.PII.IDCard != 1 {
		t.Errorf("pii = %+v", res.PII)
	}
	if strings.Contains(res.Text, "12345678") || strings.Contains(res.Text, "19900307") {
		t.Errorf("masked text still has the numbers: %q", res.Text)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "13812345678") {
		t.Error("analysis output carries the phone number")
	}
	if len(res.Redline) != 0 {
		t.Errorf("digits of an ID number fired a red line: %v", res.Redline)
	}
}

func TestBadInput(t *testing.T) {
	a := analyzertest.New(t, "property")
	big := strings.Repeat("电梯坏了没人管，", analyzer.MaxTextBytes/len("电梯坏了没人管，"))
	tests := []struct {
		name  string
		r     analyzer.Record
		field string // expected Error field; empty = must succeed
	}{
		{"empty", analyzer.Record{}, "text"},
		{"spaces", analyzer.Record{Text: " \t\n "}, "text"},
		{"only NUL", analyzer.Record{Text: "\x00\x00"}, "text"},
		{"invalid UTF-8", analyzer.Record{Text: "电梯\xff\xfe坏了"}, "text"},
		{"too large", analyzer.Record{Text: big + "再来一点点文字让它超过上限"}, "text"},
		{"bad kind", analyzer.Record{Text: "x", Kind: "email"}, "kind"},
		{"bad nps", analyzer.Record{Text: "x", NPS: new(11)}, "nps"},
		{"bad csat", analyzer.Record{Text: "x", CSAT: new(0)}, "csat"},
		{"bad time", analyzer.Record{Text: "x", OccurredAt: "2026-13-01"}, "occurred_at"},
		{"bad org", analyzer.Record{Text: "x", Org: "华南区域//碧海花园"}, "org"},
		{"bad speaker", analyzer.Record{Turns: []analyzer.RecordTurn{{Speaker: "bot", Text: "x"}}}, "turns[0].speaker"},
		{"text and turns", analyzer.Record{Text: "x", Turns: []analyzer.RecordTurn{{Speaker: "agent", Text: "y"}}}, "text"},
		{"NUL inside", analyzer.Record{Text: "电梯\x00坏了没人管"}, ""},
		{"only punctuation", analyzer.Record{Text: "？？？！！！。。。，，"}, ""},
		{"only emoji", analyzer.Record{Text: "😡😡😡👎"}, ""},
		{"mixed scripts", analyzer.Record{Text: "The 电梯 is broken!! エレベーター 고장 ЛИФТ 🚫"}, ""},
		{"control characters", analyzer.Record{Text: "\x01\x02电梯\x1b[31m坏了\u202e"}, ""},
		{"1 MB of text", analyzer.Record{Text: big[:len(big)-len(big)%3]}, ""},
	}
	for _, tt := range tests {
		res, err := a.Analyze(&tt.r)
		if tt.field != "" {
			var fe *analyzer.Error
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("%s: err %v, want a Error on %s", tt.name, err, tt.field)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkEvidence(t, &tt.r, res)
		if res.Severity == "" || res.Sentiment.Label == "" {
			t.Errorf("%s: incomplete analysis %+v", tt.name, res)
		}
	}
}

func TestAnalyzeConcurrent(t *testing.T) {
	a := analyzertest.New(t, "property")
	texts := []string{"电梯又坏了", "保洁很干净，点赞", "物业费太贵了，服务还差", "小區停車位不夠", "客服：您好\n业主：漏水三天了"}
	want := make([]*analyzer.Analysis, len(texts))
	for i, s := range texts {
		want[i] = analyze(t, a, &analyzer.Record{Text: s})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 50 {
				i := (g + k) % len(texts)
				got, err := a.Analyze(&analyzer.Record{Text: texts[i]})
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					t.Errorf("concurrent analysis of %q differs", texts[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMallTaxonomyAnalyzes(t *testing.T) {
	a := analyzertest.New(t, "mall")
	res := analyze(t, a, &analyzer.Record{Text: "停车场出场排队半小时，洗手间也没有纸巾"})
	if got := tagIDs(res); got != "arrival.parking facilities.restroom" {
		t.Errorf("tags %q", got)
	}
}
