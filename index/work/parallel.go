package work

import (
	"context"
	"errors"
	"sync"
)

// Parallel calls fn(i) for i in [0,n) on up to workers goroutines; it
// stops handing out work when ctx ends and returns its error. A panic in
// fn is recovered in its worker (the process lives on) and returned as a
// *PanicError once the workers have stopped; no more work is handed out
// after it.
func Parallel(ctx context.Context, workers, n int, fn func(i int)) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		panics []error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for i := range next {
				if err := Safely("a worker", func() error { fn(i); return nil }); err != nil {
					mu.Lock()
					panics = append(panics, err)
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	var err error
	for i := 0; i < n && err == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	close(next)
	wg.Wait()
	if len(panics) > 0 {
		return errors.Join(panics...)
	}
	return err
}
