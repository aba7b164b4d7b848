//go:build !unix

package main

import "time"

// cpuTime is unknown here: the benchmark's CPU figures read 0.
func cpuTime() time.Duration { return 0 }
