//go:build linux

package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// mappedKB is how much of file is resident in this process's maps.
func mappedKB(t *testing.T, file string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) > 0 && !strings.HasSuffix(fields[0], ":") { // a mapping's header: range, perms, …, path
			in = len(fields) >= 6 && fields[5] == file
		} else if in && strings.HasPrefix(line, "Rss:") {
			n, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			kb += n
		}
	}
	return kb
}

func TestReleaseMapped(t *testing.T) {
	file := filepath.Join(t.TempDir(), "m.db")
	db, err := bolt.Open(file, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, 3000)
	for batch := range 8 {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			for i := range 1000 {
				for j := range val {
					val[j] = byte(rng.Uint32())
				}
				if err := b.Put(binary.BigEndian.AppendUint32(nil, uint32(batch*1000+i)), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every value read through the map: its pages are resident.
	sum := func() []byte {
		h := sha256.New()
		if err := db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("b")).ForEach(func(k, v []byte) error { h.Write(k); h.Write(v); return nil })
		}); err != nil {
			t.Fatal(err)
		}
		return h.Sum(nil)
	}
	before := sum()
	read := mappedKB(t, file)
	if read < 20_000 {
		t.Fatalf("after reading 24 MB of values, %d KB of the file are mapped: the measure is wrong", read)
	}
	if err := releaseMapped(db); err != nil {
		t.Fatal(err)
	}
	if after := mappedKB(t, file); after > read/10 {
		t.Errorf("after releaseMapped %d KB of %d KB still mapped", after, read)
	}
	// The pages come back from the page cache, unchanged.
	if after := sum(); !bytes.Equal(after, before) {
		t.Error("the store reads differently after releaseMapped")
	}
	if again := mappedKB(t, file); again < 20_000 {
		t.Errorf("reading again mapped only %d KB", again)
	}
}
