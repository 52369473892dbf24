package domain

import "fmt"

// State is where a run stands in its life cycle.
type State string

// Run states.
const (
	StatePending        State = "pending"
	StateQueued         State = "queued"
	StateRunning        State = "running"
	StateSucceeded      State = "succeeded"
	StateFailed         State = "failed"
	StateCancelled      State = "cancelled"
	StateTimeout        State = "timeout"
	StateSkipped        State = "skipped"
	StateUpstreamFailed State = "upstream_failed"
)

// States lists every state.
var States = []State{
	StatePending, StateQueued, StateRunning, StateSucceeded, StateFailed,
	StateCancelled, StateTimeout, StateSkipped, StateUpstreamFailed,
}

// transitions is the one table of allowed moves. A state missing as a key
// has no way out.
var transitions = map[State][]State{
	StatePending: {StateQueued, StateCancelled, StateSkipped, StateUpstreamFailed},
	StateQueued:  {StateRunning, StateCancelled, StateSkipped, StateUpstreamFailed},
	StateRunning: {StateSucceeded, StateFailed, StateCancelled, StateTimeout},
	// A failed or timed-out run may be retried: it goes back to pending with
	// its attempt counter raised.
	StateFailed:  {StatePending},
	StateTimeout: {StatePending},
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, k := range States {
		if s == k {
			return true
		}
	}
	return false
}

// CanTransition reports whether the state machine allows from -> to.
func CanTransition(from, to State) bool {
	for _, next := range transitions[from] {
		if next == to {
			return true
		}
	}
	return false
}

// ValidateTransition returns an error matching ErrConflict when from -> to
// is not allowed, and one matching ErrInvalid when to is unknown.
func ValidateTransition(from, to State) error {
	if !to.Valid() {
		return Invalid("state", "unknown state %q", to)
	}
	if !CanTransition(from, to) {
		return fmt.Errorf("%w: illegal transition %s -> %s", ErrConflict, from, to)
	}
	return nil
}

// IsTerminal reports whether no transition leads out of s, retries aside:
// failed and timeout are terminal unless a retry moves them back to pending.
func (s State) IsTerminal() bool {
	switch s {
	case StateSucceeded, StateFailed, StateCancelled, StateTimeout, StateSkipped, StateUpstreamFailed:
		return true
	}
	return false
}

// IsRetry reports whether from -> to is a retry, which raises the attempt.
func IsRetry(from, to State) bool {
	return (from == StateFailed || from == StateTimeout) && to == StatePending
}
