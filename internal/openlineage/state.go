package openlineage

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/servo-data/servo/internal/domain"
)

// targetState returns the state an event type moves a run to, and false for
// the types that leave it as it is.
func targetState(eventType string) (domain.State, bool) {
	switch eventType {
	case EventStart:
		return domain.StateRunning, true
	case EventComplete:
		return domain.StateSucceeded, true
	case EventFail:
		return domain.StateFailed, true
	case EventAbort:
		return domain.StateCancelled, true
	}
	return "", false
}

// eventTypeFor returns the event type that moves a run to a terminal state.
func eventTypeFor(s domain.State) string {
	switch s {
	case domain.StateSucceeded:
		return EventComplete
	case domain.StateFailed:
		return EventFail
	case domain.StateCancelled:
		return EventAbort
	}
	return ""
}

// errorMessage is what a run moving to a failed or cancelled state records.
func (e *event) errorMessage(to domain.State) string {
	var msg string
	switch to {
	case domain.StateFailed:
		msg = "OpenLineage FAIL event"
		if e.FailureMessage != "" {
			msg += ": " + e.FailureMessage
		}
	case domain.StateCancelled:
		msg = "OpenLineage ABORT event"
	default:
		return ""
	}
	if utf8.RuneCountInString(msg) > domain.MaxErrorMessageLen {
		msg = string([]rune(msg)[:domain.MaxErrorMessageLen])
	}
	return msg
}

// plan returns the states a run in state cur moves through for an event of
// type eventType at time at asking for target, with a warning when the
// event cannot have its way. decided is the eventTime that put the run in
// its terminal state, when known.
func plan(cur, target domain.State, eventType string, at, decided time.Time, known bool) ([]domain.State, string) {
	switch {
	case cur == target:
		return nil, ""
	case !target.IsTerminal():
		// START: only a run that has not started yet moves; a late START
		// never moves a running or finished run back.
		if cur == domain.StatePending || cur == domain.StateQueued {
			return statePath(cur, target, false), ""
		}
		return nil, ""
	case !cur.IsTerminal():
		return statePath(cur, target, false), ""
	}
	// Two terminal events disagree: the later eventTime wins where the
	// state machine has a way.
	ts := at.UTC().Format(time.RFC3339Nano)
	switch {
	case !known:
		return nil, fmt.Sprintf("the run is already %s; this %s event (eventTime %s) does not change it", cur, eventType, ts)
	case !at.After(decided):
		return nil, fmt.Sprintf("the run is already %s by an event at %s; this %s event at %s is not later and does not change it",
			cur, decided.UTC().Format(time.RFC3339Nano), eventType, ts)
	}
	if steps := statePath(cur, target, true); steps != nil {
		return steps, fmt.Sprintf("the run was %s; this later %s event (eventTime %s) retried it to %s", cur, eventType, ts, target)
	}
	return nil, fmt.Sprintf("the run is already %s, which it cannot leave; this later %s event (eventTime %s) does not change it", cur, eventType, ts)
}

// statePath returns the shortest sequence of legal transitions from one state to
// another, without the first; nil when there is none. Retries (failed or
// timeout back to pending) are used only when retry is set.
func statePath(from, to domain.State, retry bool) []domain.State {
	prev := map[domain.State]domain.State{from: from}
	queue := []domain.State{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var out []domain.State
			for s := to; s != from; s = prev[s] {
				out = append([]domain.State{s}, out...)
			}
			return out
		}
		for _, next := range domain.States {
			if _, seen := prev[next]; seen || !domain.CanTransition(cur, next) || (!retry && domain.IsRetry(cur, next)) {
				continue
			}
			prev[next] = cur
			queue = append(queue, next)
		}
	}
	return nil
}
