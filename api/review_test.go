package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/api"
	"dongting/index/indextest"
)

func (s *authServer) addKey(t *testing.T, name, role, scope string) {
	t.Helper()
	_, secret, err := s.keys.Create(name, role, scope, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.secrets[name] = secret
}

func items(t *testing.T, out map[string]any) []map[string]any {
	t.Helper()
	raw, ok := out["items"].([]any)
	if !ok {
		t.Fatalf("no items: %v", out)
	}
	var its []map[string]any
	for _, r := range raw {
		its = append(its, r.(map[string]any))
	}
	return its
}

func TestReviewQueueAndLabels(t *testing.T) {
	s := newAuthServer(t, api.Limits{})
	s.addKey(t, "cx-lead", "analyst", "")
	recs := indextest.LongRecords(t, "long", 120)
	recs = append(recs, analyzer.Record{ID: "工单/2026/001", Kind: "complaint", Org: "华南区域/深圳/碧海花园", OccurredAt: recs[0].OccurredAt, Text: recs[1].Text})
	indextest.Ingest(t, s.corpus, recs)

	code, out := s.call(t, "root", "GET", "/api/v1/review?limit=200", "")
	if code != 200 {
		t.Fatalf("review: %d %v", code, out)
	}
	all := items(t, out)
	if len(all) == 0 || out["examined"] != float64(len(recs)+6) {
		t.Fatalf("review: %d items, examined %v", len(all), out["examined"])
	}
	disagree := 0
	for _, it := range all {
		reasons := it["reasons"].([]any)
		an := it["analysis"].(map[string]any)
		if len(reasons) == 0 || it["text"] == "" || it["kind"] != "complaint" || an["tags"] == nil {
			t.Errorf("item %v", it)
		}
		if slices.Contains(reasons, any("model_disagrees")) {
			disagree++
			if an["rejected"] == nil && !strings.Contains(fmt.Sprint(an["tags"]), "source:model") {
				t.Errorf("%s: a disagreement without rejected scenes or a model tag: %v", it["id"], an)
			}
		}
		for _, sc := range it["suggested"].(map[string]any)["scenes"].([]any) {
			src := sc.(map[string]any)["source"]
			if src != "rule" && src != "model" {
				t.Errorf("%s: suggested scene source %v", it["id"], src)
			}
		}
	}
	if disagree == 0 {
		t.Fatal("no disagreement among the long records")
	}
	code, out = s.call(t, "root", "GET", "/api/v1/review?reason=disagree&limit=200", "")
	if its := items(t, out); code != 200 || len(its) != disagree {
		t.Errorf("reason=disagree: %d, %d items, want %d", code, len(its), disagree)
	}
	for _, bad := range []string{"reason=everything", "limit=0", "limit=201", "limit=x", "before=-1", "before=0"} {
		code, out := s.call(t, "root", "GET", "/api/v1/review?"+bad, "")
		field, _, _ := strings.Cut(bad, "=")
		if _, f := errOf(out); code != 400 || f != field {
			t.Errorf("%s: %d %v", bad, code, out)
		}
	}
	// A scoped key sees its subtree; an ingest key nothing.
	code, out = s.call(t, "sz-viewer", "GET", "/api/v1/review?limit=200", "")
	if code != 200 {
		t.Fatalf("scoped review: %d %v", code, out)
	}
	for _, it := range items(t, out) {
		if st, err := s.corpus.Get(it["id"].(string)); err != nil || !strings.HasPrefix(st.Record.Org, "华南区域/深圳") {
			t.Errorf("sz-viewer sees %v", it["id"])
		}
	}
	if code, _ := s.call(t, "south-ingest", "GET", "/api/v1/review", ""); code != 403 {
		t.Errorf("ingest key: %d", code)
	}

	// Labels: an unscoped admin or analyst only, validated field by field.
	target := all[0]["id"].(string)
	path := "/api/v1/records/" + url.PathEscape(target) + "/labels"
	good := `{"scenes":["facilities","repair"],"redline":false,"severity":"P2","sentiment":"negative","praise":false}`
	for _, who := range []string{"sz-viewer", "south-analyst", "east-admin", "south-ingest"} {
		if code, _ := s.call(t, who, "PUT", path, good); code != 403 {
			t.Errorf("%s PUT label: %d", who, code)
		}
	}
	for _, tt := range []struct{ body, code, field string }{
		{`{"scenes":["nope"],"severity":"P2","sentiment":"negative"}`, "invalid_field", "scenes"},
		{`{"severity":"P2","sentiment":"negative"}`, "invalid_field", "scenes"},
		{`{"scenes":["repair","fees","service","cleaning"],"severity":"P2","sentiment":"negative"}`, "invalid_field", "scenes"},
		{`{"scenes":[],"severity":"P9","sentiment":"negative"}`, "invalid_field", "severity"},
		{`{"scenes":[],"severity":"P2","sentiment":"furious"}`, "invalid_field", "sentiment"},
		{`{"scenes":[],"severity":"P1","sentiment":"negative"}`, "invalid_field", "redline"},
		{`{"scenes":[],"severity":"P1","redline":true,"redline_kind":"fire","sentiment":"negative"}`, "invalid_field", "redline_kind"},
		{`{"scenes":[],"severity":"P2","sentiment":"negative","mood":"bad"}`, "invalid_json", ""},
		{`{"scenes":"repair","severity":"P2","sentiment":"negative"}`, "invalid_json", ""},
		{`not json`, "invalid_json", ""},
	} {
		code, out := s.call(t, "cx-lead", "PUT", path, tt.body)
		want := 422
		if tt.code == "invalid_json" {
			want = 400
		}
		if c, f := errOf(out); code != want || c != tt.code || f != tt.field {
			t.Errorf("%s: %d %v, want %d %s on %q", tt.body, code, out, want, tt.code, tt.field)
		}
	}
	if code, _ := s.call(t, "cx-lead", "GET", path, ""); code != 404 {
		t.Errorf("a refused label was stored: %d", code)
	}
	if code, out := s.call(t, "cx-lead", "PUT", "/api/v1/records/nobody/labels", good); code != 404 {
		t.Errorf("label of a missing record: %d %v", code, out)
	}
	code, out = s.call(t, "cx-lead", "PUT", path, good)
	label, _ := out["label"].(map[string]any)
	if code != 200 || label["id"] != target || !strings.HasPrefix(label["by"].(string), "cx-lead (") || label["at"] == nil || label["split"] != learn.Split(target) || label["severity"] != "P2" {
		t.Fatalf("label: %d %v", code, out)
	}
	code, got := s.call(t, "sz-viewer", "GET", path, "")
	if st, _ := s.corpus.Get(target); strings.HasPrefix(st.Record.Org, "华南区域/深圳") {
		if code != 200 || fmt.Sprint(got["label"]) != fmt.Sprint(label) {
			t.Errorf("GET label in scope: %d %v", code, got)
		}
	} else if code != 404 {
		t.Errorf("GET label out of scope: %d %v", code, got)
	}
	if code, got := s.call(t, "root", "GET", path, ""); code != 200 || fmt.Sprint(got["label"]) != fmt.Sprint(label) {
		t.Errorf("GET label: %d %v", code, got)
	}
	if code, out := s.call(t, "root", "GET", "/api/v1/records/"+url.PathEscape(all[1]["id"].(string))+"/labels", ""); code != 404 || out["error"] == nil {
		t.Errorf("GET of a record without a label: %d %v", code, out)
	}
	// An id holding '/' is one path segment.
	slash := "/api/v1/records/" + url.PathEscape("工单/2026/001") + "/labels"
	if code, out := s.call(t, "cx-lead", "PUT", slash, good); code != 200 || out["label"].(map[string]any)["id"] != "工单/2026/001" {
		t.Errorf("label of 工单/2026/001: %d %v", code, out)
	}

	// Labelled records leave the queue.
	_, out = s.call(t, "root", "GET", "/api/v1/review?limit=200", "")
	for _, it := range items(t, out) {
		if it["id"] == target || it["id"] == "工单/2026/001" {
			t.Errorf("labelled %s still listed", it["id"])
		}
	}
	if n := len(items(t, out)); n != len(all)-1-inQueue(all, "工单/2026/001") {
		t.Errorf("%d listed after labelling, %d before", n, len(all))
	}

	// Audited with the key that labelled.
	_, out = s.call(t, "root", "GET", "/api/v1/audit?action=review.label", "")
	entries, _ := out["entries"].([]any)
	if len(entries) != 2 {
		t.Fatalf("audit: %v", out)
	}
	e := entries[1].(map[string]any)
	if e["target"] != target || e["key"] == "" || !strings.Contains(e["detail"].(string), "severity=P2") {
		t.Errorf("audit entry %v", e)
	}
}

func inQueue(its []map[string]any, id string) int {
	for _, it := range its {
		if it["id"] == id {
			return 1
		}
	}
	return 0
}

func TestRetrainAPI(t *testing.T) {
	// It labels 120 records as fast as it can: no rate limit in the way.
	s := newAuthServer(t, api.Limits{KeyRate: 10000, KeyBurst: 10000})
	s.addKey(t, "cx-lead", "analyst", "")
	recs := indextest.LongRecords(t, "long", 120)
	res := indextest.Ingest(t, s.corpus, recs)
	probe := recs[5]
	before := res[5].Analysis

	for _, who := range []string{"sz-viewer", "south-analyst", "south-ingest"} {
		if code, _ := s.call(t, who, "POST", "/api/v1/model/retrain", `{}`); code != 403 {
			t.Errorf("%s retrain: %d", who, code)
		}
	}
	if code, out := s.call(t, "cx-lead", "POST", "/api/v1/model/retrain", `{}`); code != 422 || fieldOf(out) != "labels" {
		t.Fatalf("retrain without labels: %d %v", code, out)
	}
	if code, out := s.call(t, "cx-lead", "POST", "/api/v1/model/retrain", `{"force":"yes"}`); code != 400 {
		t.Fatalf("bad body: %d %v", code, out)
	}

	// Labels that contradict the records (the train split's sentiment
	// turned round, every scene amenities), the dev split as analysed.
	opposite := map[string]string{"negative": "positive", "positive": "negative", "neutral": "negative"}
	for i, r := range res {
		p := r.Analysis.Prediction()
		l := map[string]any{"scenes": append([]string{}, p.Scenes[:min(3, len(p.Scenes))]...), "severity": p.Severity, "redline": p.Redline, "sentiment": p.Sentiment, "praise": p.Praise}
		if learn.Split(recs[i].ID) == "train" {
			l["scenes"], l["sentiment"], l["severity"], l["redline"] = []string{"amenities"}, opposite[p.Sentiment], "none", false
		}
		b, _ := json.Marshal(l)
		if code, out := s.call(t, "cx-lead", "PUT", "/api/v1/records/"+url.PathEscape(recs[i].ID)+"/labels", string(b)); code != 200 {
			t.Fatalf("label %s: %d %v", recs[i].ID, code, out)
		}
	}

	code, out := s.call(t, "cx-lead", "POST", "/api/v1/model/retrain", `{}`)
	if code != 200 || out["accepted"] != false || !strings.Contains(fmt.Sprint(out["reason"]), "worse") {
		t.Fatalf("retrain on contradicting labels: %d %v", code, out)
	}
	for _, side := range []string{"before", "after"} {
		f := out[side].(map[string]any)
		if f["scene_f1"] == nil || f["sentiment_acc"] == nil || f["n"].(float64) < 40 {
			t.Errorf("%s: %v", side, f)
		}
	}
	code, out = s.call(t, "viewer-any", "GET", "/api/v1/model", "")
	if code != 401 {
		t.Errorf("model list without a key: %d", code)
	}
	code, out = s.call(t, "sz-viewer", "GET", "/api/v1/model", "")
	if code != 200 || out["current"] != float64(0) || out["source"] != "shipped" || len(out["versions"].([]any)) != 0 {
		t.Fatalf("models after a refusal: %d %v", code, out)
	}

	code, out = s.call(t, "cx-lead", "POST", "/api/v1/model/retrain", `{"force":true}`)
	if code != 200 || out["accepted"] != true || out["forced"] != true || out["version"].(map[string]any)["version"] != float64(1) {
		t.Fatalf("forced retrain: %d %v", code, out)
	}
	// New records are analysed with it.
	probe.ID = "probe"
	code, out = s.call(t, "root", "POST", "/api/v1/records", mustJSON(t, probe))
	if code != 201 {
		t.Fatalf("ingest: %d %v", code, out)
	}
	if got := out["analysis"].(map[string]any)["sentiment"].(map[string]any)["label"]; got == before.Sentiment.Label {
		t.Errorf("the retrained model is not in force: sentiment %v before and after", got)
	}
	code, out = s.call(t, "sz-viewer", "GET", "/api/v1/model", "")
	vs, _ := out["versions"].([]any)
	if code != 200 || out["current"] != float64(1) || out["source"] != "stored" || len(vs) != 1 || vs[0].(map[string]any)["forced"] != true {
		t.Fatalf("models: %d %v", code, out)
	}
	_, out = s.call(t, "root", "GET", "/api/v1/audit?action=model.retrain", "")
	if entries, _ := out["entries"].([]any); len(entries) != 2 || entries[0].(map[string]any)["target"] != "1" {
		t.Errorf("audit: %v", out)
	}
}

func fieldOf(out map[string]any) string {
	_, f := errOf(out)
	return f
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
