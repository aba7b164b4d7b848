//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// releaseMapped is Linux-only (see mapped_linux.go); elsewhere the mapped
// pages stay until the kernel reclaims them.
func releaseMapped(*bolt.DB) error { return nil }
