// Package poll owns the background loop the schedule ticker and the
// automation evaluator share: a few goroutines that run one pass, wait an
// interval and run again, until Stop.
package poll

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Loop runs a pass in the background. The zero Loop is ready to Start.
type Loop struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("already started")

// Start runs pass in workers goroutines (at least one), each every interval
// from its previous pass's end, the first at once, until Stop. ctx gives
// the passes its values, not its end: only Stop ends the loop. onErr hears
// a pass's error unless the loop is stopping.
func (l *Loop) Start(ctx context.Context, workers int, interval time.Duration, pass func(context.Context) error, onErr func(error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return ErrStarted
	}
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.done = make(chan struct{})
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			timer := time.NewTimer(0)
			defer timer.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				if err := pass(ctx); err != nil && ctx.Err() == nil {
					onErr(err)
				}
				timer.Reset(interval)
			}
		})
	}
	go func() {
		wg.Wait()
		close(l.done)
	}()
	return nil
}

// Stop ends the loop and waits for its passes to return. It is safe to
// call more than once, and before Start.
func (l *Loop) Stop() {
	l.mu.Lock()
	if l.stopped || l.done == nil {
		l.stopped = true
		l.mu.Unlock()
		return
	}
	l.stopped = true
	l.cancel()
	done := l.done
	l.mu.Unlock()
	<-done
}
