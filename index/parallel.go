package index

import (
	"context"
	"sync"
)

// Parallel calls fn(i) for i in [0,n) on up to workers goroutines; it
// stops handing out work when ctx ends and returns its error.
func Parallel(ctx context.Context, workers, n int, fn func(i int)) error {
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(workers, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	defer func() { close(next); wg.Wait() }()
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
