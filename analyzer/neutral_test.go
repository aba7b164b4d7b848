package analyzer_test

import (
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/analyzer/learn"
)

// The shipped sentiment model says neutral at its trained threshold: a
// plain question or suggestion with no complaint is neutral (and no
// severity), a fault put as a question is still negative, reviews stay
// polar.
func TestNeutralDecision(t *testing.T) {
	a := analyzertest.New(t, "property")
	th, ok := a.Models().Sentiment.Thresholds[learn.NeutralKey]
	if !ok || th <= 0 || th >= 0.5 {
		t.Fatalf("the sentiment model's neutral threshold is %v (present %v), want one in (0, 0.5)", th, ok)
	}
	for _, tt := range []struct {
		text, sentiment, severity string
	}{
		{"建议在小区门口增设一个快递柜，方便业主取件。", analyzer.Neutral, analyzer.SeverityNone},
		{"您好，想咨询一下我们小区什么时候开始办理不动产证，需要带哪些资料？谢谢！", analyzer.Neutral, analyzer.SeverityNone},
		{"阀门锈了没水，该找谁？", analyzer.Negative, analyzer.P3},
		{"这家外卖送得很快，味道也不错", analyzer.Positive, analyzer.SeverityNone},
		{"等了两个小时才送到，菜都凉了", analyzer.Negative, analyzer.P2},
	} {
		res := analyze(t, a, &analyzer.Record{ID: "x", Text: tt.text})
		if res.Sentiment.Label != tt.sentiment || res.Severity != tt.severity {
			t.Errorf("%s\n  %s %s, want %s %s", tt.text, res.Sentiment.Label, res.Severity, tt.sentiment, tt.severity)
		}
	}
}
