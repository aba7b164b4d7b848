package alerts

import (
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
)

// The engine's buckets, beside the records in the store's bbolt file.
// Names and key layouts are stored data: changing one strands old stores.
var (
	bucketAlerts  = []byte("alerts")        // seq → Alert JSON
	bucketGroups  = []byte("alert_groups")  // source\0org\0scene → alert seq, group until (unix ns)
	bucketByRec   = []byte("alert_records") // record id\0source\0spike org → alert seq (re-sends raise nothing new)
	bucketSeen    = []byte("alert_seen")    // customer-or-household\0scene → unix seconds + last record id (repeat complaints)
	bucketCounts  = []byte("alert_counts")  // seq → count, last_at (unix ns): grouped records
	bucketMembers = []byte("alert_members") // seq + n → record id, for the first maxRecordIDs
	bucketOutbox  = []byte("outbox")        // seq → Delivery JSON
	bucketDead    = []byte("outbox_dead")   // deliveries that ran out of attempts
	bucketAlertMT = []byte("alert_meta")    // keyConfig → Config JSON
	bucketDue     = []byte("alert_due")     // next escalation (unix ns) + seq → nothing: what Escalate must look at
	keyConfig     = []byte("routing")
	keySchema     = []byte("schema") // in bucketAlertMT: schemaVersion once the buckets are in its layout
)

// schemaVersion names the layout of the engine's buckets. A store without
// it is from an earlier release (or new) and is brought to this layout at
// open; one with another version was written by a release this one cannot
// read, and the engine refuses to open rather than misread it.
const schemaVersion = "alerts-v2"

// ensureSchema creates the buckets a store lacks and checks the layout's
// version. A store from before the escalation index has it filled from its
// alerts.
func ensureSchema(tx *bolt.Tx) error {
	if mt := tx.Bucket(bucketAlertMT); mt != nil {
		if v := mt.Get(keySchema); v != nil && string(v) != schemaVersion {
			return fmt.Errorf("alerts: the stored alerts have layout %q; this release reads %q", v, schemaVersion)
		}
	}
	backfill := tx.Bucket(bucketDue) == nil
	for _, b := range [][]byte{bucketAlerts, bucketGroups, bucketByRec, bucketSeen, bucketCounts, bucketMembers, bucketOutbox, bucketDead, bucketAlertMT, bucketDue} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	if backfill {
		if err := backfillDue(tx); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketAlertMT).Put(keySchema, []byte(schemaVersion))
}

func key(parts ...string) []byte { return []byte(strings.Join(parts, "\x00")) }

func dueKey(at time.Time, seq uint64) []byte {
	return append(store.SeqKey(uint64(at.UnixNano())), store.SeqKey(seq)...)
}

func alertID(seq uint64) string { return fmt.Sprintf("al-%08d", seq) }

func parseID(id string) (uint64, bool) {
	var seq uint64
	if _, err := fmt.Sscanf(id, "al-%d", &seq); err != nil || alertID(seq) != id {
		return 0, false
	}
	return seq, true
}
