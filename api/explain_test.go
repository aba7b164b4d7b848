package api_test

import (
	"strings"
	"testing"

	"dongting/api"
)

func TestExplain(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(`{"id":"x1","text":"3栋电梯坏了，停了一整天"}`))
	// Not tagged: the entrapment rule's parts say which did not match.
	code, out := do(t, "GET", s.URL+"/api/v1/records/x1/explain?node=facilities.elevator.entrapment", "", nil)
	if code != 200 || out["matched"] != false || out["tagged"] != false {
		t.Fatalf("entrapment: %d %v", code, out)
	}
	steps := out["steps"].(map[string]any)
	var failed, matched []string
	var walk func(st map[string]any)
	walk = func(st map[string]any) {
		if st["matched"] == true {
			matched = append(matched, st["expr"].(string))
		} else if st["parts"] == nil {
			failed = append(failed, st["expr"].(string))
		}
		if ps, ok := st["parts"].([]any); ok {
			for _, p := range ps {
				walk(p.(map[string]any))
			}
		}
	}
	walk(steps)
	if !mentions(matched, "电梯") || !mentions(failed, "困") {
		t.Errorf("explanation: matched %v, failed %v", matched, failed)
	}
	// Tagged: with evidence text.
	_, out = do(t, "GET", s.URL+"/api/v1/records/x1/explain?node=facilities.elevator.fault", "", nil)
	if out["tagged"] != true {
		t.Fatalf("fault: %v", out)
	}
	ev := out["steps"].(map[string]any)["evidence"].([]any)
	if len(ev) == 0 || !strings.Contains(ev[0].(map[string]any)["text"].(string), "电梯") {
		t.Errorf("evidence %v", ev)
	}
	for _, c := range []struct {
		path  string
		code  int
		field string
	}{
		{"/api/v1/records/x1/explain?node=nosuch", 400, "node"},
		{"/api/v1/records/nosuch/explain?node=facilities.elevator.fault", 404, "id"},
	} {
		code, out := do(t, "GET", s.URL+c.path, "", nil)
		if _, field := errOf(out); code != c.code || field != c.field {
			t.Errorf("%s: %d %v", c.path, code, out)
		}
	}
}

// TestExplainScene: a scene is explained through its touchpoints, with the
// record's tokens beside the rules.
func TestExplainScene(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	do(t, "POST", s.URL+"/api/v1/records", "application/json", strings.NewReader(`{"id":"x1","text":"3栋电梯坏了停了一整天"}`))
	code, out := do(t, "GET", s.URL+"/api/v1/records/x1/explain?node=facilities", "", nil)
	if code != 200 || out["tagged"] != true || out["matched"] != true {
		t.Fatalf("scene explain: %d %v", code, out)
	}
	children, _ := out["children"].([]any)
	found := false
	for _, c := range children {
		ch := c.(map[string]any)
		if ch["node"] == "facilities.elevator.fault" && ch["matched"] == true && !strings.Contains(ch["rule"].(string), "((") {
			found = true
		}
		if ch["matched"] != true {
			t.Errorf("an unmatched touchpoint listed: %v", ch["node"])
		}
	}
	if !found {
		t.Errorf("the matching touchpoint is not listed: %v", children)
	}
	tokens, _ := out["tokens"].([]any)
	if len(tokens) == 0 {
		t.Errorf("no tokens: %v", out)
	}
}

func mentions(list []string, want string) bool {
	for _, s := range list {
		if s == want || strings.Contains(s, want) {
			return true
		}
	}
	return false
}
