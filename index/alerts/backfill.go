package alerts

import bolt "go.etcd.io/bbolt"

// backfillDue fills the escalation index of a store from before it, so
// Escalate, which reads only the index, still sees its open alerts.
func backfillDue(tx *bolt.Tx) error {
	return tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
		al, err := decodeAlert(k, v)
		if err != nil {
			return err
		}
		return schedule(tx, al, nil)
	})
}
