package main

import (
	"runtime/debug"
	"testing"
)

// -memory-limit sets the Go heap's soft limit unless GOMEMLIMIT is set;
// 0 leaves it alone.
func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	env := map[string]string{}
	m := &Main{Getenv: func(k string) string { return env[k] }}

	m.applyMemoryLimit(512)
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Errorf("limit %d, want %d", got, 512<<20)
	}
	m.applyMemoryLimit(0)
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Errorf("0 changed the limit to %d", got)
	}
	env["GOMEMLIMIT"] = "2GiB"
	m.applyMemoryLimit(256)
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Errorf("GOMEMLIMIT set, yet the flag changed the limit to %d", got)
	}
}
