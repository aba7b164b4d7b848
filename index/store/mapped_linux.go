//go:build linux

package store

import (
	"fmt"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped drops the store file's pages from this process's resident
// set. bbolt reads through a read-only shared map of the file, so every
// page a fold, a rollup query or an id lookup has touched stays mapped and
// the process's RSS grows with the store (~900 MB at 1M records), though
// the pages are clean page cache the kernel could reclaim. MADV_DONTNEED on
// a shared file mapping only unmaps them: the next read faults a page back
// from the page cache, its contents unchanged. The read transaction keeps
// bbolt from remapping meanwhile.
func releaseMapped(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
		if errno != 0 {
			return fmt.Errorf("store: release mapped pages: %w", errno)
		}
		return nil
	})
}
