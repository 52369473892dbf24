package backfill

import (
	"errors"
	"testing"

	"github.com/servo-data/servo/internal/domain"
)

func TestApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from   domain.BackfillState
		a      Action
		failed int
		want   domain.BackfillState
		ok     bool
	}{
		{domain.BackfillPending, ActionPause, 0, domain.BackfillPaused, true},
		{domain.BackfillRunning, ActionPause, 0, domain.BackfillPaused, true},
		{domain.BackfillPaused, ActionPause, 0, "", false},
		{domain.BackfillSucceeded, ActionPause, 0, "", false},
		{domain.BackfillPaused, ActionResume, 0, domain.BackfillRunning, true},
		{domain.BackfillRunning, ActionResume, 0, "", false},
		{domain.BackfillRunning, ActionCancel, 0, domain.BackfillCancelled, true},
		{domain.BackfillPaused, ActionCancel, 0, domain.BackfillCancelled, true},
		{domain.BackfillSucceeded, ActionCancel, 0, "", false},
		{domain.BackfillCancelled, ActionCancel, 0, "", false},
		{domain.BackfillFailed, ActionRetryFailed, 2, domain.BackfillRunning, true},
		{domain.BackfillPaused, ActionRetryFailed, 2, domain.BackfillPaused, true},
		{domain.BackfillFailed, ActionRetryFailed, 0, "", false},
		{domain.BackfillCancelled, ActionRetryFailed, 2, "", false},
	}
	for _, tt := range tests {
		got, err := Apply(tt.from, tt.a, tt.failed)
		if tt.ok != (err == nil) || (tt.ok && got != tt.want) {
			t.Errorf("Apply(%s, %s, %d) = %s, %v; want %s ok=%v", tt.from, tt.a, tt.failed, got, err, tt.want, tt.ok)
		}
		if !tt.ok && !errors.Is(err, domain.ErrConflict) {
			t.Errorf("Apply(%s, %s) error %v is not a conflict", tt.from, tt.a, err)
		}
	}
}

func TestFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    domain.BackfillCounts
		want domain.BackfillState
		done bool
	}{
		{domain.BackfillCounts{Pending: 1}, "", false},
		{domain.BackfillCounts{WaitingUpstream: 1, Succeeded: 3}, "", false},
		{domain.BackfillCounts{Running: 1}, "", false},
		{domain.BackfillCounts{Succeeded: 3}, domain.BackfillSucceeded, true},
		{domain.BackfillCounts{Succeeded: 2, Skipped: 1}, domain.BackfillSucceeded, true},
		{domain.BackfillCounts{Succeeded: 2, Failed: 1}, domain.BackfillFailed, true},
		{domain.BackfillCounts{Cancelled: 2}, domain.BackfillCancelled, true},
	}
	for _, tt := range tests {
		got, done := Final(tt.c)
		if got != tt.want || done != tt.done {
			t.Errorf("Final(%+v) = %s, %v; want %s, %v", tt.c, got, done, tt.want, tt.done)
		}
	}
}
