package alerts

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
)

// TestEarlierReleasesStillRead: a routing stored by an earlier release
// (without updates), an alert that listed bare levels as notified, and an
// outbox entry whose key alone names its alert and level.
func TestEarlierReleasesStillRead(t *testing.T) {
	old := `{"window":"2h0m0s","max_age":"168h0m0s","repeat_days":7,"spike":{"baseline_days":28,"min_count":5,"p":0.001},` +
		`"sources":{"redline":{"severity":"P1","notify":[3,2,1],"escalate":[{"after":"30m0s","level":0}]},"praise":{"severity":"none","notify":[3]}},` +
		`"receivers":[{"id":"proj","org":"华南区域/深圳/碧海花园","url":"http://127.0.0.1:9/hook","secret":"0123456789abcdef"}]}`
	cfg, err := ParseConfig([]byte(old)) // PUT bodies are parsed strictly
	if err != nil {
		t.Fatal(err)
	}
	var stored Config // what Open reads from bbolt
	if err := json.Unmarshal([]byte(old), &stored); err != nil || stored.Validate() != nil {
		t.Fatalf("stored routing: %v %v", err, stored.Validate())
	}
	if cfg.Sources["redline"].Updates || len(cfg.Receivers) != 1 {
		t.Fatalf("parsed %+v", cfg)
	}

	db, err := bolt.Open(filepath.Join(t.TempDir(), "a.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketAlerts, bucketCounts, bucketMembers, bucketDue} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		al := `{"id":"al-00000007","source":"redline","severity":"P1","org":"华南区域/深圳/碧海花园","title":"红线: elevator-entrapment",` +
			`"count":0,"record_ids":null,"status":"open","notified":[3,2,1],"step":0,"first_at":"2026-06-01T00:00:00Z",` +
			`"last_at":"0001-01-01T00:00:00Z","group_until":"2026-06-01T02:00:00Z","history":[{"at":"2026-06-01T00:00:00Z","by":"dongting","action":"opened"}]}`
		if err := tx.Bucket(bucketAlerts).Put(store.SeqKey(7), []byte(al)); err != nil {
			return err
		}
		got, err := getAlert(tx, 7)
		if err != nil {
			return err
		}
		if len(got.Notified) != 0 || got.Title != "红线: elevator-entrapment" {
			t.Errorf("old alert read as %+v", got)
		}
		// A delivery queued by an earlier release succeeds.
		d := &Delivery{Key: "al-00000007:alert.opened:3:proj", Receiver: "proj", Event: "alert.opened"}
		if err := delivered(tx, d, now); err != nil {
			return err
		}
		if got, err = getAlert(tx, 7); err != nil {
			return err
		}
		if len(got.Notified) != 1 || got.Notified[0] != (Notice{Receiver: "proj", Level: 3, Event: "alert.opened", At: now}) {
			t.Errorf("notified after an old delivery: %+v", got.Notified)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The engine's buckets carry a layout version: a store of an earlier
// release (none) is brought to this one and marked; a store marked with a
// layout this release does not know is refused with the reason, not read.
func TestAlertSchemaVersionCheckedAtOpen(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "a.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(ensureSchema); err != nil {
		t.Fatalf("an unmarked store: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketAlertMT).Get(keySchema); string(v) != schemaVersion {
			t.Errorf("marked %q, want %q", v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ensureSchema); err != nil {
		t.Fatalf("a store of this layout: %v", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAlertMT).Put(keySchema, []byte("alerts-v9")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ensureSchema); err == nil || !strings.Contains(err.Error(), `"alerts-v9"`) {
		t.Errorf("a store of an unknown layout: %v", err)
	}
}
