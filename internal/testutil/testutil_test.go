package testutil

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) { VerifyTestMain(m) }

// TestEventuallyPolls calls the condition until it holds, and gives up with
// false when it never does.
func TestEventuallyPolls(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	if !Eventually(10*time.Second, func() bool { return calls.Add(1) == 5 }) {
		t.Fatal("a condition that holds on the fifth call was not met")
	}
	if n := calls.Load(); n != 5 {
		t.Fatalf("condition called %d times, want 5 (no call after it held)", n)
	}
	calls.Store(0)
	if Eventually(30*time.Millisecond, func() bool { calls.Add(1); return false }) {
		t.Fatal("a condition that never holds was reported met")
	}
	if calls.Load() < 2 {
		t.Fatalf("condition called %d times within the window, want a call at the deadline too", calls.Load())
	}
	if !Eventually(0, func() bool { return true }) {
		t.Fatal("a condition that holds at once was not met with no time to wait")
	}
}

// TestEventuallyEveryKeepsItsPace pauses the given time between calls.
func TestEventuallyEveryKeepsItsPace(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	if EventuallyEvery(250*time.Millisecond, time.Hour, func() bool { calls.Add(1); return false }) {
		t.Fatal("a condition that never holds was reported met")
	}
	// One call at once, one at the deadline: the hour-long pause is cut to
	// the time left, never taken in full, and never shortened to a busy loop.
	if n := calls.Load(); n != 2 {
		t.Fatalf("condition called %d times, want 2", n)
	}
}

// fakeTB records a failure instead of ending the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = format
	_ = args
}

// TestWaitForFails fails the test, with the caller's message, only when the
// condition is not met in time.
func TestWaitForFails(t *testing.T) {
	t.Parallel()
	ok := &fakeTB{TB: t}
	WaitFor(ok, time.Second, func() bool { return true }, "never printed")
	if ok.failed != "" {
		t.Fatalf("WaitFor failed on a condition that holds: %q", ok.failed)
	}
	late := &fakeTB{TB: t}
	WaitFor(late, 20*time.Millisecond, func() bool { return false }, "run %s to end", "r1")
	if late.failed == "" {
		t.Fatal("WaitFor did not fail on a condition that never holds")
	}
}

// TestFindLeaksSeesAGoroutine reports a goroutine still running and nothing
// once it has ended.
func TestFindLeaksSeesAGoroutine(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-stop
	}()
	if err := FindLeaks(); err == nil {
		t.Error("a running goroutine was not reported")
	}
	close(stop)
	<-done
	if err := FindLeaks(); err != nil {
		t.Errorf("leak reported after the goroutine ended: %v", err)
	}
}
