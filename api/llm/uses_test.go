package llm_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"dongting/api/llm"
	"dongting/index/store"
	"dongting/taxonomy"
)

func loadTaxonomy(t *testing.T) *taxonomy.Taxonomy {
	t.Helper()
	src, err := os.ReadFile("testdata/taxonomy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return tax
}

func TestSummarize(t *testing.T) {
	recs := []*store.Stored{stored("r1", "电梯又坏了"), stored("r2", "电梯困人"), stored("r3", "停车费涨了")}
	for _, tc := range []struct {
		answer         string
		cited, unknown []string
	}{
		{"1. 电梯故障 [r2][r1]\n2. 困人 [r2] [ghost][ghost-2][ghost]", []string{"r2", "r1"}, []string{"ghost", "ghost-2"}},
		{"没有引用；[r 1] 和 [] 不是编号", []string{}, nil},
	} {
		e := newEndpoint(t, replies(tc.answer, 30))
		s, err := newAssistant(t, e, llm.Config{}).Summarize(t.Context(), recs, "电梯")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s.Used, []string{"r1", "r2", "r3"}) || !reflect.DeepEqual(s.Cited, tc.cited) || !reflect.DeepEqual(s.Unknown, tc.unknown) {
			t.Errorf("%q: used %v cited %v unknown %v; want cited %v unknown %v", tc.answer, s.Used, s.Cited, s.Unknown, tc.cited, tc.unknown)
		}
		if s.Text != tc.answer || s.Tokens != 30 {
			t.Errorf("%q: answer %+v", tc.answer, s.Answer)
		}
		if f := e.requests()[0].format(); f != "" {
			t.Errorf("a summary asked for %q", f)
		}
	}
}

func TestSuggestNode(t *testing.T) {
	tax := loadTaxonomy(t)
	_, ruleErr := taxonomy.ParseRule("电梯 &")
	for _, tc := range []struct {
		name, answer     string
		scene, ruleError string
	}{
		{"a scene", `{"id":"repair.trapped","name":"电梯困人","scene":"repair","rule":"电梯 & 困人","reason":"困人与电梯同现"}`, "repair", ""},
		{"a rule that does not parse", `{"id":"repair.trapped","name":"电梯困人","scene":"repair","rule":"电梯 &","reason":"r"}`, "repair", ruleErr.Error()},
		{"a touchpoint for a scene", `{"id":"x.y","name":"n","scene":"repair.elevator","rule":"电梯","reason":"r"}`, "", ""},
		{"a dimension for a scene", `{"id":"x.y","name":"n","scene":"timeliness","rule":"电梯","reason":"r"}`, "", ""},
		{"an unknown scene", `{"id":"x.y","name":"n","scene":"lifts","rule":"电梯","reason":"r"}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, replies(tc.answer, 40))
			s, err := newAssistant(t, e, llm.Config{}).SuggestNode(t.Context(), tax, []string{"电梯", "困人"}, someRecords)
			if err != nil {
				t.Fatal(err)
			}
			var want llm.NodeSuggestion
			if err := json.Unmarshal([]byte(tc.answer), &want); err != nil {
				t.Fatal(err)
			}
			want.Scene, want.RuleError = tc.scene, tc.ruleError
			want.Answer = llm.Answer{Text: tc.answer, Tokens: 40, Model: "test-model"}
			if *s != want {
				t.Fatalf("suggestion %+v, want %+v", *s, want)
			}
			req := e.requests()[0]
			if f := req.format(); f != "json_object" {
				t.Errorf("response format %q, want json_object", f)
			}
			quotes(t, req, "候选词：电梯、困人\n", "repair 报事报修\nparking 停车管理\n", "[r1] 电梯又坏了\n")
		})
	}
}

func TestSuggestTags(t *testing.T) {
	tax := loadTaxonomy(t)
	e := newEndpoint(t, replies(`{"suggestions":[
		{"id":"r1","tags":["repair.elevator","made.up","timeliness","repair"],"reason":"电梯"},
		{"id":"stranger","tags":["repair"]},
		{"id":"r2","tags":[]}]}`, 60))
	got, ans, err := newAssistant(t, e, llm.Config{}).SuggestTags(t.Context(), tax, someRecords)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.TagSuggestion{
		{ID: "r1", Tags: []string{"repair.elevator", "repair"}, Invalid: []string{"made.up", "timeliness"}, Reason: "电梯"},
		{ID: "r2", Tags: []string{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("suggestions %+v, want %+v", got, want)
	}
	if ans.Tokens != 60 || ans.Cached || ans.Model != "test-model" {
		t.Fatalf("answer %+v", ans)
	}
	req := e.requests()[0]
	if f := req.format(); f != "json_object" {
		t.Errorf("response format %q, want json_object", f)
	}
	// The prompt offers the scenes and touchpoints, not the dimensions.
	quotes(t, req, "parking 停车管理\n", "repair.elevator 报事报修/电梯维修\n", "[r2] 电梯困人半小时\n")
	if strings.Contains(req.user(), "timeliness") {
		t.Errorf("prompt %q offers a dimension", req.user())
	}
}

// An answer that is not the JSON asked for is the endpoint's failure.
func TestSuggestNotJSON(t *testing.T) {
	tax := loadTaxonomy(t)
	e := newEndpoint(t, replies("建议新增电梯困人触点", 20))
	a := newAssistant(t, e, llm.Config{})
	var ue *llm.UpstreamError
	if _, err := a.SuggestNode(t.Context(), tax, []string{"电梯"}, someRecords); !errors.As(err, &ue) || ue.Timeout {
		t.Errorf("suggest node: %v", err)
	}
	if _, _, err := a.SuggestTags(t.Context(), tax, someRecords); !errors.As(err, &ue) || ue.Timeout {
		t.Errorf("suggest tags: %v", err)
	}
}
