package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"dongting/index/store"
	"dongting/taxonomy"
)

// maxRecordRunes is how much of one record a prompt quotes.
const maxRecordRunes = 300

// quote lists records for a prompt as "[id] text", each cut short.
func quote(recs []*store.Stored) string {
	var b strings.Builder
	for _, st := range recs {
		text := st.Text()
		if utf8.RuneCountInString(text) > maxRecordRunes {
			text = string([]rune(text)[:maxRecordRunes]) + "…"
		}
		fmt.Fprintf(&b, "[%s] %s\n", st.Record.ID, strings.ReplaceAll(text, "\n", " / "))
	}
	return b.String()
}

// Summary is a summary of verbatims with the records it cites.
type Summary struct {
	Answer
	Used    []string `json:"used"`              // the records given to the model
	Cited   []string `json:"cited"`             // the ones the summary cites
	Unknown []string `json:"unknown,omitempty"` // ids it cited that it was not given
}

var citation = regexp.MustCompile(`\[([^\[\]\s]{1,128})\]`)

// Summarize summarizes records (a search result set, or a touchpoint's
// negative verbatims for a period) in Chinese, citing record ids in
// brackets. Citations of ids the model was not given are reported apart.
func (a *Assistant) Summarize(ctx context.Context, recs []*store.Stored, focus string) (*Summary, error) {
	system := "你是物业服务客户之声分析师。根据给出的业主原话，用中文写出简洁的要点总结（3到6条），" +
		"每条后面用方括号标注所依据的记录编号，例如 [wo-1][wo-7]。只使用给出的记录，不要编造编号或事实。"
	user := "关注点：" + focus + "\n记录：\n" + quote(recs)
	ans, err := a.complete(ctx, system, user, false)
	if err != nil {
		return nil, err
	}
	s := &Summary{Answer: *ans, Used: make([]string, len(recs)), Cited: []string{}}
	for i, st := range recs {
		s.Used[i] = st.Record.ID
	}
	for _, m := range citation.FindAllStringSubmatch(ans.Text, -1) {
		id := m[1]
		switch {
		case slices.Contains(s.Cited, id), slices.Contains(s.Unknown, id):
		case slices.Contains(s.Used, id):
			s.Cited = append(s.Cited, id)
		default:
			s.Unknown = append(s.Unknown, id)
		}
	}
	return s, nil
}

// NodeSuggestion is a proposed touchpoint for a discovery cluster. The rule
// is checked with the rule parser; RuleError says why it does not parse.
type NodeSuggestion struct {
	Answer
	ID        string `json:"id"`
	Name      string `json:"name"`
	Scene     string `json:"scene"`
	Rule      string `json:"rule"`
	RuleError string `json:"rule_error,omitempty"`
	Reason    string `json:"reason"`
}

// SuggestNode proposes a touchpoint (id, name, scene, rule) for terms that
// occur together in records the taxonomy misses.
func (a *Assistant) SuggestNode(ctx context.Context, tax *taxonomy.Taxonomy, terms []string, recs []*store.Stored) (*NodeSuggestion, error) {
	var scenes strings.Builder
	for _, s := range tax.Scenes {
		fmt.Fprintf(&scenes, "%s %s\n", s.ID, s.Name)
	}
	system := "你帮助维护物业客户之声的触点分类。规则语言：词语用 | 表示或，& 表示且，NOT 排除，" +
		"\"短语\" 精确匹配，NEAR/n(a, b) 表示 n 个词以内同现。只输出 JSON：" +
		`{"id":"场景id.英文小写短名","name":"中文触点名","scene":"场景id","rule":"规则","reason":"一句话理由"}`
	user := "候选词：" + strings.Join(terms, "、") + "\n场景：\n" + scenes.String() + "样例记录：\n" + quote(recs)
	ans, err := a.complete(ctx, system, user, true)
	if err != nil {
		return nil, err
	}
	out := &NodeSuggestion{Answer: *ans}
	if err := json.Unmarshal([]byte(ans.Text), out); err != nil {
		return nil, &UpstreamError{Err: fmt.Errorf("the suggestion is not the JSON asked for: %w", err)}
	}
	out.Answer = *ans
	if _, err := taxonomy.ParseRule(out.Rule); err != nil {
		out.RuleError = err.Error()
	}
	if n, ok := tax.Node(out.Scene); !ok || n.Parent != nil || n.Dimension {
		out.Scene = ""
	}
	return out, nil
}

// TagSuggestion is the model's proposal for one record: node ids of the
// taxonomy (ids it invented are dropped and listed apart). It is a
// suggestion: nothing is applied to the record.
type TagSuggestion struct {
	ID      string   `json:"id"`
	Tags    []string `json:"tags"`
	Invalid []string `json:"invalid,omitempty"`
	Reason  string   `json:"reason,omitempty"`
}

// SuggestTags proposes touchpoints for records (untagged ones, typically).
func (a *Assistant) SuggestTags(ctx context.Context, tax *taxonomy.Taxonomy, recs []*store.Stored) ([]TagSuggestion, *Answer, error) {
	var nodes strings.Builder
	for _, n := range tax.Nodes() {
		if n.Dimension {
			continue
		}
		fmt.Fprintf(&nodes, "%s %s\n", n.ID, strings.Join(n.Path, "/"))
	}
	system := "你为物业客户之声记录建议触点标签。只能使用给出的触点id；没有合适的就给空列表。只输出 JSON：" +
		`{"suggestions":[{"id":"记录编号","tags":["触点id"],"reason":"一句话理由"}]}`
	user := "触点：\n" + nodes.String() + "记录：\n" + quote(recs)
	ans, err := a.complete(ctx, system, user, true)
	if err != nil {
		return nil, nil, err
	}
	var parsed struct {
		Suggestions []TagSuggestion `json:"suggestions"`
	}
	if err := json.Unmarshal([]byte(ans.Text), &parsed); err != nil {
		return nil, nil, &UpstreamError{Err: fmt.Errorf("the suggestions are not the JSON asked for: %w", err)}
	}
	asked := map[string]bool{}
	for _, st := range recs {
		asked[st.Record.ID] = true
	}
	var out []TagSuggestion
	for _, s := range parsed.Suggestions {
		if !asked[s.ID] {
			continue
		}
		valid := []string{}
		for _, id := range s.Tags {
			if n, ok := tax.Node(id); ok && !n.Dimension {
				valid = append(valid, id)
			} else {
				s.Invalid = append(s.Invalid, id)
			}
		}
		s.Tags = valid
		out = append(out, s)
	}
	return out, ans, nil
}
