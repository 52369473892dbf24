package backfill

import (
	"fmt"

	"github.com/servo-data/servo/internal/domain"
)

// Action is a change a person asks of a backfill.
type Action string

// Actions.
const (
	ActionPause       Action = "pause"
	ActionResume      Action = "resume"
	ActionCancel      Action = "cancel"
	ActionRetryFailed Action = "retry-failed"
)

// Apply returns the state a backfill in state from moves to under a, or
// ErrConflict when a does not apply: pause from pending or running, resume
// from paused, cancel from any unfinished state, retry-failed from any
// state but cancelled (when failed partitions exist).
func Apply(from domain.BackfillState, a Action, failed int) (domain.BackfillState, error) {
	switch a {
	case ActionPause:
		if from == domain.BackfillPending || from == domain.BackfillRunning {
			return domain.BackfillPaused, nil
		}
	case ActionResume:
		if from == domain.BackfillPaused {
			return domain.BackfillRunning, nil
		}
	case ActionCancel:
		if !from.IsTerminal() {
			return domain.BackfillCancelled, nil
		}
	case ActionRetryFailed:
		if from != domain.BackfillCancelled && failed > 0 {
			if from == domain.BackfillPaused {
				return domain.BackfillPaused, nil
			}
			return domain.BackfillRunning, nil
		}
		if failed == 0 && from != domain.BackfillCancelled {
			return from, fmt.Errorf("%w: the backfill has no failed partition", domain.ErrConflict)
		}
	default:
		return from, domain.Invalid("action", "unknown action %q", a)
	}
	return from, fmt.Errorf("%w: cannot %s a %s backfill", domain.ErrConflict, a, from)
}

// Final returns the state a running backfill ends in once nothing is left
// to run, and false while partitions are still pending, waiting or
// running: failed if any partition failed, else succeeded.
func Final(c domain.BackfillCounts) (domain.BackfillState, bool) {
	if c.Pending > 0 || c.WaitingUpstream > 0 || c.Running > 0 {
		return "", false
	}
	if c.Failed > 0 {
		return domain.BackfillFailed, true
	}
	if c.Cancelled > 0 && c.Succeeded == 0 && c.Skipped == 0 {
		return domain.BackfillCancelled, true
	}
	return domain.BackfillSucceeded, true
}

// partitionOutcome maps a finished run's state onto its partition's state.
func partitionOutcome(s domain.State) domain.PartitionRunState {
	switch s {
	case domain.StateSucceeded:
		return domain.PartitionSucceeded
	case domain.StateCancelled:
		return domain.PartitionCancelled
	default:
		return domain.PartitionFailed
	}
}
