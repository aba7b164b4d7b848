package index_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/index/fulltext"
	"dongting/index/indextest"
	"dongting/index/work"
)

func cursorOf(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

// A cursor is checked against the sort it claims: as many values as that
// sort has keys, each of its kind. Bleve trusts them (a short one panicked
// in its collector, on a goroutine of its own, and ended the process).
func TestCursorIsCheckedAgainstItsSort(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, indextest.Demo(t, 3, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 300))

	// Valid cursors page through every hit once, in every order.
	for _, q := range []fulltext.Query{{Q: "物业", Sort: "relevance"}, {Sort: "newest"}, {Q: "电梯", Sort: "oldest"}} {
		first := search(t, c, fulltext.Query{Q: q.Q, Sort: q.Sort, Size: 200})
		var seen []string
		q.Size = 7
		for {
			p := search(t, c, q)
			for _, h := range p.Hits {
				seen = append(seen, h.ID)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if int(first.Total) != len(seen) || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != len(seen) {
			t.Errorf("%+v: paged %d hits (%d distinct), total %d", q, len(seen), len(slices.Compact(slices.Sorted(slices.Values(seen)))), first.Total)
		}
	}

	for _, tc := range []struct {
		sort, cursor string
	}{
		{"relevance", cursorOf(`{"s":"relevance","a":["x"]}`)}, // the one that ended the process
		{"relevance", cursorOf(`{"s":"relevance","a":["1.5"]}`)},
		{"relevance", cursorOf(`{"s":"relevance","a":["1.5","r1","r2"]}`)},
		{"relevance", cursorOf(`{"s":"relevance","a":["x","r1"]}`)},
		{"relevance", cursorOf(`{"s":"relevance","a":["NaN","r1"]}`)},
		{"relevance", cursorOf(`{"s":"relevance","a":["-Inf","r1"]}`)},
		{"relevance", cursorOf(`{"s":"relevance","a":["1.5",""]}`)},
		{"relevance", cursorOf(`{"s":"relevance","a":["1.5","` + strings.Repeat("x", 201) + `"]}`)},
		{"newest", cursorOf(`{"s":"newest","a":["20260301","r1"]}`)},
		{"newest", cursorOf(`{"s":"newest","a":["2026030112000x","r1"]}`)},
		{"newest", cursorOf(`{"s":"newest","a":["1.5","r1"]}`)},
		{"oldest", cursorOf(`{"s":"oldest","a":[]}`)},
		{"oldest", cursorOf(`{"s":"oldest","a":null}`)},
		{"oldest", cursorOf(`{"s":"oldest","a":[1,2]}`)},
		{"oldest", cursorOf(`{"s":"newest","a":["20260301120000","r1"]}`)}, // another sort's
		{"oldest", cursorOf(`{"s":"sideways","a":["20260301120000","r1"]}`)},
		{"oldest", cursorOf(`[]`)},
		{"oldest", "not base64!"},
		{"oldest", cursorOf(`{"s":"oldest","a":["20260301120000","` + strings.Repeat("r", 600) + `"]}`)},
	} {
		q := fulltext.Query{Q: "物业", Sort: tc.sort, Cursor: tc.cursor}
		if tc.sort != "relevance" {
			q.Q = ""
		}
		_, err := c.Search(context.Background(), &q)
		var qe *analyzer.Error
		if !errors.As(err, &qe) || qe.Field != "cursor" {
			t.Errorf("sort %s, cursor %s: %v, want a QueryError on cursor", tc.sort, tc.cursor, err)
		}
	}
	// Bleve's values for a record without a time are valid after-values.
	for _, v := range []string{"\x00", strings.Repeat("\U0010FFFF", 3)} {
		after, _ := json.Marshal(map[string]any{"s": "newest", "a": []string{v, "r1"}})
		q := fulltext.Query{Sort: "newest", Cursor: cursorOf(string(after))}
		if _, err := c.Search(context.Background(), &q); err != nil {
			t.Errorf("after %q: %v", v, err)
		}
	}
}

func TestParallelRecoversAWorkersPanic(t *testing.T) {
	var ran [100]bool
	err := work.Parallel(context.Background(), 4, len(ran), func(i int) {
		ran[i] = true
		if i == 10 {
			var m map[string]int
			m["x"]++ // a nil map: a runtime error
		}
	})
	var pe *work.PanicError
	if !errors.As(err, &pe) || pe.Where != "a worker" || !strings.Contains(pe.Reason, "nil map") {
		t.Fatalf("%v", err)
	}
	if !ran[10] {
		t.Error("the panicking item did not run")
	}
	// A panic value that is not a runtime error is named by its type only:
	// it may quote a record.
	err = work.Parallel(context.Background(), 2, 3, func(i int) { panic("电梯困人 13812345678") })
	if !errors.As(err, &pe) || strings.Contains(err.Error(), "电梯") || !strings.Contains(pe.Reason, "type string") {
		t.Errorf("%v", err)
	}
}
