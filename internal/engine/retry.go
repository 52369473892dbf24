package engine

import (
	"fmt"
	"time"

	"github.com/servo-data/servo/internal/domain"
)

// RetryDecision says what follows an attempt that did not succeed.
type RetryDecision struct {
	// Retry queues the next attempt after Delay; false ends the run in the
	// attempt's state.
	Retry  bool
	Delay  time.Duration
	Reason string
}

// DecideRetry decides what follows attempt number attempt (the first is 1)
// of a run that ended as to (failed or timeout) under policy p: the next
// attempt after the policy's backoff for this attempt, drawn with r, while
// the policy has attempts left; else the run ends in to.
func DecideRetry(p domain.RetryPolicy, attempt int, to domain.State, r domain.Rand) RetryDecision {
	if attempt >= p.MaxAttempts {
		return RetryDecision{}
	}
	return RetryDecision{
		Retry:  true,
		Delay:  p.Delay(attempt, r),
		Reason: fmt.Sprintf("attempt %d of %d %s", attempt, p.MaxAttempts, to),
	}
}
