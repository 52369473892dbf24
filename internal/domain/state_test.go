package domain

import (
	"errors"
	"testing"
)

// TestTransitionTable pins every allowed move of the run state machine and
// refuses every other pair: a change to the table must change this test.
func TestTransitionTable(t *testing.T) {
	t.Parallel()
	allowed := map[[2]State]bool{
		{StatePending, StateQueued}:         true,
		{StatePending, StateCancelled}:      true,
		{StatePending, StateSkipped}:        true,
		{StatePending, StateUpstreamFailed}: true,
		{StateQueued, StateRunning}:         true,
		{StateQueued, StateCancelled}:       true,
		{StateQueued, StateSkipped}:         true,
		{StateQueued, StateUpstreamFailed}:  true,
		{StateRunning, StateSucceeded}:      true,
		{StateRunning, StateFailed}:         true,
		{StateRunning, StateCancelled}:      true,
		{StateRunning, StateTimeout}:        true,
		{StateFailed, StatePending}:         true,
		{StateTimeout, StatePending}:        true,
	}
	for _, from := range States {
		for _, to := range States {
			want := allowed[[2]State{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
			err := ValidateTransition(from, to)
			switch {
			case want && err != nil:
				t.Errorf("ValidateTransition(%s, %s) = %v, want nil", from, to, err)
			case !want && !errors.Is(err, ErrConflict):
				t.Errorf("ValidateTransition(%s, %s) = %v, want ErrConflict", from, to, err)
			}
		}
	}
}

// TestIsTerminalFollowsTheTable checks IsTerminal against the table: a
// state is terminal exactly when every way out of it is a retry.
func TestIsTerminalFollowsTheTable(t *testing.T) {
	t.Parallel()
	for _, s := range States {
		onlyRetries := true
		for _, to := range States {
			if CanTransition(s, to) && !IsRetry(s, to) {
				onlyRetries = false
			}
		}
		if got := s.IsTerminal(); got != onlyRetries {
			t.Errorf("%s.IsTerminal() = %v, but the table says %v", s, got, onlyRetries)
		}
	}
}

// TestIsRetry lists the retries: failed or timeout back to pending, nothing
// else.
func TestIsRetry(t *testing.T) {
	t.Parallel()
	for _, from := range States {
		for _, to := range States {
			want := (from == StateFailed || from == StateTimeout) && to == StatePending
			if got := IsRetry(from, to); got != want {
				t.Errorf("IsRetry(%s, %s) = %v, want %v", from, to, got, want)
			}
			if want && !CanTransition(from, to) {
				t.Errorf("retry %s -> %s is not in the transition table", from, to)
			}
		}
	}
}

// TestValidateTransitionUnknownState refuses a target outside the machine
// as invalid input, not as a conflict.
func TestValidateTransitionUnknownState(t *testing.T) {
	t.Parallel()
	for _, to := range []State{"", "done", "SUCCEEDED", "succeeded "} {
		err := ValidateTransition(StateRunning, to)
		if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict) {
			t.Errorf("ValidateTransition(running, %q) = %v, want ErrInvalid only", to, err)
		}
		if to.Valid() {
			t.Errorf("State(%q).Valid() = true", to)
		}
	}
	for _, s := range States {
		if !s.Valid() {
			t.Errorf("%s.Valid() = false", s)
		}
	}
}
