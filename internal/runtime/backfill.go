package runtime

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
)

// backfillArgs is a River job: advance one backfill of one tenant until it
// ends, snoozing between advances.
type backfillArgs struct {
	TenantID   string    `json:"tenant_id"`
	BackfillID uuid.UUID `json:"backfill_id"`
}

// Kind implements river.JobArgs.
func (backfillArgs) Kind() string { return "servo_backfill" }

// UseBackfills connects the backfill use cases: the runtime advances
// backfills in the background and as soon as one of their runs ends.
func (rt *Runtime) UseBackfills(b *backfill.Backfills) { rt.backfills.Store(b) }

// Backfills returns the connected backfill use cases, or nil.
func (rt *Runtime) Backfills() *backfill.Backfills { return rt.backfills.Load() }

// backfillWorker works servo_backfill jobs.
type backfillWorker struct {
	river.WorkerDefaults[backfillArgs]
	rt *Runtime
}

// Work implements river.Worker: one advance, then a snooze while the
// backfill is not over.
func (w *backfillWorker) Work(ctx context.Context, job *river.Job[backfillArgs]) error {
	b := w.rt.backfills.Load()
	if b == nil {
		return river.JobSnooze(w.rt.cfg.BackfillPoll)
	}
	done, err := b.Advance(domain.WithTenant(ctx, job.Args.TenantID), job.Args.BackfillID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil // deleted
	}
	if err != nil {
		w.rt.log.Warn("advance backfill", zap.String("backfill_id", job.Args.BackfillID.String()), zap.Error(err))
		return err
	}
	if done {
		return nil
	}
	return river.JobSnooze(w.rt.cfg.BackfillPoll)
}

// NextRetry retries a failed advance soon.
func (w *backfillWorker) NextRetry(job *river.Job[backfillArgs]) time.Time {
	return time.Now().Add(min(time.Duration(job.Attempt)*time.Second, 30*time.Second))
}

// nudges coalesces the nudges of one process: while one worker advances a
// backfill, the runs of it that end meanwhile only mark it dirty, and that
// worker advances it once more for all of them.
type nudges struct {
	mu sync.Mutex
	m  map[uuid.UUID]*nudgeState
}

type nudgeState struct{ dirty bool }

// nudgeBackfill advances the backfill a finished run belongs to at once,
// rather than at its next poll. Failures are left to the poll.
func (rt *Runtime) nudgeBackfill(ctx context.Context, run *domain.Run) {
	b := rt.backfills.Load()
	id, ok := backfill.RunBackfill(run)
	if b == nil || !ok {
		return
	}
	n := &rt.nudges
	n.mu.Lock()
	if st, busy := n.m[id]; busy {
		st.dirty = true
		n.mu.Unlock()
		return
	}
	if n.m == nil {
		n.m = map[uuid.UUID]*nudgeState{}
	}
	st := &nudgeState{}
	n.m[id] = st
	n.mu.Unlock()
	for {
		if _, err := b.Nudge(ctx, id); err != nil && !errors.Is(err, domain.ErrNotFound) {
			rt.log.Debug("nudge backfill", zap.String("backfill_id", id.String()), zap.Error(err))
		}
		n.mu.Lock()
		if !st.dirty {
			delete(n.m, id)
			n.mu.Unlock()
			return
		}
		st.dirty = false
		n.mu.Unlock()
	}
}
