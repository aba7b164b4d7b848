package store

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang/snappy"
	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
)

// Entries are stored compressed, and entries written as plain JSON by
// earlier releases still read, by id and by scan.
func TestStoredFormat(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "dongting.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	text := "电梯又坏了，物业一直不来修，电梯又坏了，物业一直不来修"
	if _, err := st.Put([]*Stored{{Record: analyzer.Record{ID: "new", Text: text}, IngestedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	legacy, _ := json.Marshal(&Stored{Seq: 2, Record: analyzer.Record{ID: "old", Text: "保洁很干净"}})
	err = st.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketRecords).Put(SeqKey(2), legacy); err != nil {
			return err
		}
		return tx.Bucket(bucketIDs).Put([]byte("old"), SeqKey(2))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRecords).Get(SeqKey(1))
		s, err := decodeStored(SeqKey(1), v)
		if err != nil {
			t.Fatal(err)
		}
		if s.Seq != 1 {
			t.Errorf("decoded seq %d", s.Seq)
		}
		if bytes.Contains(snappyDecode(t, v), []byte(`"seq"`)) {
			t.Error("the entry stores its own sequence number")
		}
		js, _ := json.Marshal(s)
		if len(v) == 0 || v[0] != snappyMark || len(v) >= len(js) {
			t.Errorf("entry not compressed: %d bytes (JSON %d), first %q", len(v), len(js), v[:1])
		}
		return nil
	})
	got, err := st.GetMany([]string{"new", "old"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] == nil || got[0].Record.Text != text || got[1] == nil || got[1].Record.Text != "保洁很干净" {
		t.Fatalf("read back %+v %+v", got[0], got[1])
	}
	// The sequence number comes from the key (new entries do not hold it).
	if got[0].Seq != 1 || got[1].Seq != 2 {
		t.Errorf("sequence numbers %d, %d", got[0].Seq, got[1].Seq)
	}
	var seen []string
	if err := st.Scan(0, 10, func(s *Stored) error { seen = append(seen, s.Record.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != "new" || seen[1] != "old" {
		t.Errorf("scan %v", seen)
	}
	// A corrupt compressed entry is an error, not a panic.
	if _, err := decodeStored(SeqKey(3), []byte{snappyMark, 0xff, 0xff}); err == nil {
		t.Error("corrupt entry decoded")
	}
}

func snappyDecode(t *testing.T, v []byte) []byte {
	t.Helper()
	js, err := snappy.Decode(nil, v[1:])
	if err != nil {
		t.Fatal(err)
	}
	return js
}
