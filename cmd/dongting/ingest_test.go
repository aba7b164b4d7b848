package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CSV row with an unterminated quote is reported with its file and line,
// and the rows after it are ingested.
func TestIngestCSVBadQuote(t *testing.T) {
	file := filepath.Join(t.TempDir(), "orders.csv")
	src := "工单号,渠道,时间,内容\n" +
		"WO-1,400,2026-03-02 10:15,楼上装修天天砸墙\n" +
		"WO-2,app,2026-03-02 10:20,\"报修之后说没配件，一直拖着\n" +
		"WO-3,app,2026-03-02 10:30,电梯又坏了\n" +
		"WO-4,app,2026-03-02 10:40,\"地库漏水, 车都泡了\"\n" +
		"WO-5,app,2026-03-02 10:50,\"停车难\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, "", "ingest", "-q", "-dir", t.TempDir(), file)
	var exit exitError
	if !errors.As(err, &exit) || !strings.Contains(out, "ingested 3 records (2 failed)") {
		t.Fatalf("ingest: %v\n%s\n%s", err, out, errOut)
	}
	for _, want := range []string{
		file + `: line 3: row: a quoted field opened on this line meets a " on line 5`,
		file + ": line 6: row: unterminated quoted field",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}
