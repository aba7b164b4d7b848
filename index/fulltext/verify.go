package fulltext

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"dongting/index/work"
	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"
	bolt "go.etcd.io/bbolt"
)

// ErrIndexCorrupt is a search index whose segment files do not match
// their checksums (a bit flipped on disk, a torn write). Bleve opens such
// an index, answers errors, and then panics in zapx while reading it, on
// goroutines nothing can recover (its merger, its alias): the corpus moves
// it aside and rebuilds it from the store instead.
var ErrIndexCorrupt = fmt.Errorf("search index corrupt: %w", ErrIndexUnreadable)

// verifySegments checks every zap segment of a shard's last persisted
// snapshot against the CRC-32 (IEEE) its last four bytes hold of all the
// bytes before them, reading each file once, sequentially. Files the
// snapshot does not name are not checked: a segment being written when
// the process was killed is torn, unused, and removed by Bleve.
func verifySegments(shard string) error {
	files, err := snapshotSegments(filepath.Join(shard, "store"))
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for _, name := range files {
		if err := verifySegment(name, buf); err != nil {
			return fmt.Errorf("index: segment %s: %w", name, err)
		}
	}
	return nil
}

// snapshotSegments lists the segment files of the newest snapshot that
// scorch's root.bolt in dir records (a bucket per snapshot under "s",
// holding a bucket per segment whose "p" is the file's name), or none
// without a root.bolt. A root.bolt that does not read is unreadable.
func snapshotSegments(dir string) ([]string, error) {
	root := filepath.Join(dir, "root.bolt")
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var files []string
	err := work.Safely("reading root.bolt", func() error {
		db, err := bolt.Open(root, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
		if err != nil {
			return err
		}
		defer db.Close()
		return db.View(func(tx *bolt.Tx) error {
			snaps := tx.Bucket([]byte("s"))
			if snaps == nil {
				return nil
			}
			c := snaps.Cursor()
			for k, v := c.Last(); k != nil; k, v = c.Prev() {
				snap := snaps.Bucket(k)
				if v != nil || snap == nil {
					continue
				}
				return snap.ForEachBucket(func(k []byte) error {
					if k[0] == 'i' || k[0] == 'm' { // internal values, metadata
						return nil
					}
					if p := snap.Bucket(k).Get([]byte("p")); p != nil {
						files = append(files, filepath.Join(dir, filepath.Base(string(p))))
					}
					return nil
				})
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w: %w", root, ErrIndexUnreadable, err)
	}
	return files, nil
}

func verifySegment(name string, buf []byte) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < 4 {
		return fmt.Errorf("%d bytes, shorter than a checksum: %w", st.Size(), ErrIndexCorrupt)
	}
	h := crc32.NewIEEE()
	if _, err := io.CopyBuffer(h, bufio.NewReaderSize(io.LimitReader(f, st.Size()-4), len(buf)), buf); err != nil {
		return err
	}
	var want [4]byte
	if _, err := io.ReadFull(f, want[:]); err != nil {
		return err
	}
	if got := h.Sum32(); got != binary.BigEndian.Uint32(want[:]) {
		return fmt.Errorf("checksum %08x, the file says %08x: %w", got, binary.BigEndian.Uint32(want[:]), ErrIndexCorrupt)
	}
	return nil
}

// verify checks the persisted segments a search reads now against their
// checksums (not the files in the directory: a segment being written
// there is incomplete until the index takes it in).
func (s *Index) verify() error {
	buf := make([]byte, 1<<20)
	for i, sh := range s.shards {
		adv, err := sh.Advanced()
		if err != nil {
			return err
		}
		r, err := adv.Reader()
		if err != nil {
			return err
		}
		snap, ok := r.(*scorch.IndexSnapshot)
		if !ok {
			r.Close()
			return fmt.Errorf("index: shard %d: a %T is not a scorch snapshot", i, r)
		}
		for _, sg := range snap.Segments() {
			ps, ok := sg.Segment().(segment.PersistedSegment)
			if !ok {
				continue // in memory, not yet written
			}
			if err := verifySegment(ps.Path(), buf); err != nil {
				r.Close()
				return fmt.Errorf("index: segment %s: %w", ps.Path(), err)
			}
		}
		r.Close()
	}
	return nil
}
