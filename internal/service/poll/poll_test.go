package poll

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// TestLoopRunsUntilStop runs passes in every worker, reports their errors,
// refuses a second Start and returns from Stop only once passes are done.
func TestLoopRunsUntilStop(t *testing.T) {
	t.Parallel()
	var l Loop
	var passes, running, errs atomic.Int64
	boom := errors.New("boom")
	pass := func(ctx context.Context) error {
		running.Add(1)
		defer running.Add(-1)
		passes.Add(1)
		return boom
	}
	if err := l.Start(context.Background(), 3, time.Millisecond, pass, func(err error) {
		if errors.Is(err, boom) {
			errs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background(), 1, time.Millisecond, pass, func(error) {}); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start = %v, want ErrStarted", err)
	}
	testutil.Eventually(10*time.Second, func() bool { return passes.Load() >= 10 })
	l.Stop()
	if n := running.Load(); n != 0 {
		t.Fatalf("%d passes still running after Stop", n)
	}
	if passes.Load() < 10 || errs.Load() == 0 {
		t.Fatalf("passes %d, errors heard %d; want passes repeated and their errors heard", passes.Load(), errs.Load())
	}
	after := passes.Load()
	time.Sleep(20 * time.Millisecond)
	if passes.Load() != after {
		t.Fatal("a pass ran after Stop")
	}
	l.Stop() // idempotent
}

// TestLoopStopBeforeStart returns at once, and a cancelled Start context
// does not end the loop: only Stop does.
func TestLoopStopBeforeStart(t *testing.T) {
	t.Parallel()
	var l Loop
	l.Stop()
	var m Loop
	ctx, cancel := context.WithCancel(context.Background())
	var passes atomic.Int64
	if err := m.Start(ctx, 1, time.Millisecond, func(context.Context) error { passes.Add(1); return nil }, func(error) {}); err != nil {
		t.Fatal(err)
	}
	cancel()
	testutil.Eventually(10*time.Second, func() bool { return passes.Load() >= 5 })
	m.Stop()
	if passes.Load() < 5 {
		t.Fatalf("%d passes after the Start context ended, want the loop to go on until Stop", passes.Load())
	}
}
