package runtime

import (
	"sync"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
)

// TestRetryDelayConcurrent draws retry delays from a runtime's random
// source on many goroutines at once, as River's workers do when several
// steps fail together; run with -race it fails if the source is shared
// without synchronisation.
func TestRetryDelayConcurrent(t *testing.T) {
	t.Parallel()
	rng := newLockedRand()
	p := domain.RetryPolicy{MaxAttempts: 5, InitialInterval: "1s", MaxInterval: "10s", Multiplier: 2, Jitter: domain.JitterFull}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				d := p.Delay(1+(g+n)%4, rng)
				if d < 0 || d > 10*time.Second {
					t.Errorf("delay %s outside [0, 10s]", d)
					return
				}
			}
		})
	}
	wg.Wait()
}
