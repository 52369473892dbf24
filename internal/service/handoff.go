package service

import (
	"context"

	"github.com/servo-data/servo/internal/domain"
)

// SettleAndClaimNext settles an attempt as SettleRun does and, in the same
// transaction, claims the tenant's next queued run as ClaimNext does: the
// slot the attempt held passes straight to the next run, without a moment
// in which it looks free to other jobs and without a transaction of its
// own. next is nil when nothing is queued or no slot is free (a cap of
// starts per minute). The tenant's slot lock is taken first, before the
// locks of settling, so that this never waits on a claim that waits on it.
// An error from either part rolls back both: the attempt stays running, to
// be settled again.
func (s *Service) SettleAndClaimNext(ctx context.Context, in SettleInput, lim SlotLimits, worker string) (done, next *domain.Execution, err error) {
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.ExecutionLockTenantSlots(ctx); err != nil {
			return err
		}
		var err error
		if done, err = s.SettleRun(ctx, in); err != nil {
			return err
		}
		next, _, err = s.ClaimNext(ctx, lim, worker)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return done, next, nil
}
