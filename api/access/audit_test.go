package access_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"dongting/api/access"
)

func TestAuditEmpty(t *testing.T) {
	keys, _ := newKeys(t)
	log, err := keys.Audit(0, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	// An empty log is an empty list, so the API answers [] and not null.
	if b, _ := json.Marshal(log); string(b) != "[]" {
		t.Fatalf("empty audit log as JSON: %s", b)
	}
}

func TestAudit(t *testing.T) {
	keys, c := newKeys(t)
	actions := []string{"export", "key.create", "export", "backup", "export"}
	var at []time.Time
	for i, action := range actions {
		// At is the store's to set, whatever the caller says.
		e := access.Entry{Seq: 99, At: time.Unix(0, 0), Key: "k1", Action: action, Target: string(rune('a' + i))}
		if err := keys.Record(e); err != nil {
			t.Fatal(err)
		}
		at = append(at, c.t)
	}
	all, err := keys.Audit(0, "", 10)
	if err != nil || len(all) != 5 {
		t.Fatalf("audit: %+v, %v", all, err)
	}
	for i, e := range all {
		n := len(actions) - i // newest first; seqs from 1
		if e.Seq != uint64(n) || e.Action != actions[n-1] || e.Target != string(rune('a'+n-1)) || e.Key != "k1" ||
			!e.At.Equal(at[n-1]) || e.At.Location() != time.UTC {
			t.Errorf("entry %d: %+v, want seq %d %s at %v UTC", i, e, n, actions[n-1], at[n-1])
		}
	}

	for _, tc := range []struct {
		before uint64
		action string
		limit  int
		want   []uint64
	}{
		{0, "", 2, []uint64{5, 4}},
		{4, "", 10, []uint64{3, 2, 1}},
		{2, "", 10, []uint64{1}},
		{1, "", 10, nil},
		{99, "", 10, []uint64{5, 4, 3, 2, 1}}, // past the newest: from the newest
		{0, "export", 10, []uint64{5, 3, 1}},
		{0, "export", 2, []uint64{5, 3}}, // the limit counts entries of the action
		{5, "export", 10, []uint64{3, 1}},
		{0, "key.revoke", 10, nil},
		{0, "", 0, nil},
	} {
		log, err := keys.Audit(tc.before, tc.action, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, e := range log {
			seqs = append(seqs, e.Seq)
		}
		if !slices.Equal(seqs, tc.want) {
			t.Errorf("audit(before %d, %q, limit %d) = %v, want %v", tc.before, tc.action, tc.limit, seqs, tc.want)
		}
	}
}
