package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
)

// liveness renews the leases of the attempts this worker runs and settles
// the attempts of lost workers, until ctx ends. Every worker does both, so
// a dead worker's attempts are failed (and retried per their policy) within
// about the heartbeat timeout, by whichever worker looks first; settling is
// a compare-and-swap, so only one of them does.
func (rt *Runtime) liveness(ctx context.Context) {
	defer close(rt.livenessDone)
	renewEvery := rt.cfg.HeartbeatTimeout / 6
	reapEvery := min(time.Second, renewEvery)
	renew := time.NewTicker(renewEvery)
	defer renew.Stop()
	reap := time.NewTicker(reapEvery)
	defer reap.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			if _, err := rt.eng.RenewRunLeases(ctx, rt.worker, rt.activeRuns()); err != nil && ctx.Err() == nil {
				rt.log.Warn("renewing run leases failed", zap.Error(err))
			}
		case <-reap.C:
			if err := rt.reap(ctx); err != nil && ctx.Err() == nil {
				rt.log.Warn("settling attempts of lost workers failed", zap.Error(err))
			}
		}
	}
}

// activeRuns returns the runs whose attempts this process is running.
func (rt *Runtime) activeRuns() []uuid.UUID {
	var out []uuid.UUID
	rt.active.Range(func(k, _ any) bool {
		out = append(out, k.(uuid.UUID))
		return true
	})
	return out
}

// isActive reports whether this process is running an attempt of run id.
func (rt *Runtime) isActive(id uuid.UUID) bool {
	_, ok := rt.active.Load(id)
	return ok
}

// reap settles the attempts whose leases went stale: their workers died.
func (rt *Runtime) reap(ctx context.Context) error {
	leases, err := rt.eng.StaleRunLeases(ctx, rt.cfg.HeartbeatTimeout, 100)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range leases {
		if l.WorkerID == rt.worker && rt.isActive(l.RunID) {
			continue // this process runs it: its renewal is late, not lost
		}
		tctx := domain.WithTenant(ctx, l.TenantID)
		run, err := rt.svc.GetRun(tctx, l.RunID)
		if errors.Is(err, domain.ErrNotFound) {
			continue // deleted; its lease went with it
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if run.State != domain.StateRunning || run.Attempt != l.Attempt {
			errs = append(errs, rt.eng.DropRunLease(tctx, l.RunID, l.Attempt))
			continue
		}
		rt.log.Warn("a worker was lost; failing its attempt", zap.String("run_id", run.ID.String()), zap.String("tenant", l.TenantID),
			zap.Int("attempt", run.Attempt), zap.String("worker", l.WorkerID), zap.Time("last_heartbeat", l.HeartbeatAt))
		errs = append(errs, rt.settle(tctx, run, result{outcome: failed,
			message: fmt.Sprintf("%s (no heartbeat for %s)", lostMessage, rt.cfg.HeartbeatTimeout)}))
	}
	return errors.Join(errs...)
}
