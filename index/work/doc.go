// Package work runs request work on goroutines that cannot take the process
// down: a pool (Parallel) and a recovering call (Safely) that turn a panic
// into a *PanicError.
package work
