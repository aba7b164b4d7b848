package work

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// PanicError is a panic recovered in a goroutine that did a request's
// work (a shard's search, a facet count, a worker of a pool), returned as
// an error so that the request fails and the process lives on. Goroutines
// the runtime starts for a request do not inherit the HTTP server's
// recovery: one unrecovered panic there ends the process.
type PanicError struct {
	Where string // what the goroutine was doing
	// Reason is a runtime error's message; any other panic value is named
	// only by its type, since it may quote a record's words.
	Reason string
	Stack  []byte
}

func (e *PanicError) Error() string { return "index: panic in " + e.Where + ": " + e.Reason }

// Recovered describes the value v recovered in where (call it in the
// deferred function that recovered, so that the stack is the panic's).
func Recovered(where string, v any) *PanicError {
	reason := fmt.Sprintf("a panic value of type %T", v)
	if re, ok := v.(runtime.Error); ok {
		reason = re.Error()
	}
	return &PanicError{Where: where, Reason: reason, Stack: debug.Stack()}
}

// Safely runs fn and turns a panic in it into a *PanicError. Every
// goroutine that does a request's work runs its body through it.
func Safely(where string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Recovered(where, v)
		}
	}()
	return fn()
}
