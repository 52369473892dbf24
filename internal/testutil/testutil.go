// Package testutil holds what Servo's tests share beyond databases: one way
// to wait for a condition, and the goroutine leak check every test binary
// that starts goroutines runs after its tests.
package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Poll intervals: the first check waits firstInterval, each later one twice
// as long as the one before, up to maxInterval.
const (
	firstInterval = 5 * time.Millisecond
	maxInterval   = 100 * time.Millisecond
)

// Eventually calls cond until it returns true or within has passed, and
// reports whether it returned true. cond runs at least once, and once more
// at the deadline, so a condition that holds in time is never missed. It
// sleeps between calls: a few milliseconds at first, then longer, up to
// 100ms.
func Eventually(within time.Duration, cond func() bool) bool {
	return poll(within, firstInterval, maxInterval, cond)
}

// EventuallyEvery is Eventually with a fixed pause between calls, for a
// condition that is costly to check (many queries against a loaded
// database).
func EventuallyEvery(within, every time.Duration, cond func() bool) bool {
	return poll(within, every, every, cond)
}

func poll(within, first, most time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	wait := first
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(wait, left))
		wait = min(2*wait, most)
	}
}

// WaitFor calls cond until it returns true and fails the test with the
// message (a fmt format and its arguments) when it has not within the given
// time. Call it from the test's goroutine.
func WaitFor(t testing.TB, within time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	if !Eventually(within, cond) {
		t.Fatalf("not within %s: %s", within, fmt.Sprintf(format, args...))
	}
}

// FindLeaks reports goroutines still running besides the caller's, after
// waiting a while for them to end: a test that started a goroutine (a
// server, a poller, a worker) and did not stop it. opts add goroutines to
// ignore, each with the reason at the call site. No library goroutine is
// ignored by default: none of Servo's dependencies starts one that outlives
// the objects the tests close.
func FindLeaks(opts ...goleak.Option) error {
	return goleak.Find(opts...)
}

// VerifyTestMain runs the package's tests, then fails the binary when
// goroutines they started are still running. It is a TestMain for packages
// without databases; testdb.Main does the same for packages with them.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := FindLeaks(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
