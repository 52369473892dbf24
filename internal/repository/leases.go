package repository

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// RunLeaseTake implements domain.RunLeaseRepository.
func (s *Store) RunLeaseTake(ctx context.Context, l *domain.RunLease) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := runLeaseRow{RunID: l.RunID, Attempt: l.Attempt, WorkerID: l.WorkerID, HeartbeatAt: l.HeartbeatAt.UTC().Truncate(time.Microsecond)}
		if row.HeartbeatAt.IsZero() {
			row.HeartbeatAt = now()
		}
		// Delete and insert rather than an upsert, which the tenant
		// callbacks refuse.
		if err := tx.Where("execution_id = ?", l.RunID).Delete(&runLeaseRow{}).Error; err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		l.TenantID, l.HeartbeatAt = row.TenantID, row.HeartbeatAt
		return nil
	})
}

// RunLeaseGet implements domain.RunLeaseRepository.
func (s *Store) RunLeaseGet(ctx context.Context, runID uuid.UUID) (*domain.RunLease, error) {
	var row runLeaseRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("execution_id = ?", runID).Take(&row).Error, "run lease")
	})
	if err != nil {
		return nil, err
	}
	l := row.toDomain()
	return &l, nil
}

// RunLeaseDelete implements domain.RunLeaseRepository.
func (s *Store) RunLeaseDelete(ctx context.Context, runID uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Where("execution_id = ?", runID).Delete(&runLeaseRow{}).Error
	})
}

// RunLeaseDeleteAttempt implements domain.RunLeaseRepository.
func (s *Store) RunLeaseDeleteAttempt(ctx context.Context, runID uuid.UUID, attempt int) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Where("execution_id = ? AND attempt = ?", runID, attempt).Delete(&runLeaseRow{}).Error
	})
}

// RunLeaseRenew implements domain.RunLeaseRepository. It spans tenants, so
// it runs in the system scope, as raw SQL the tenant callbacks leave alone;
// row-level security lets the system scope read and renew leases only.
func (s *Store) RunLeaseRenew(ctx context.Context, worker string, runIDs []uuid.UUID, at time.Time) (int64, error) {
	var n int64
	if len(runIDs) == 0 {
		return 0, nil
	}
	err := s.run(domain.WithSystem(ctx), func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE run_leases SET heartbeat_at = ? WHERE worker_id = ? AND execution_id IN ?", at.UTC().Truncate(time.Microsecond), worker, runIDs)
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// RunLeaseListStale implements domain.RunLeaseRepository, in the system
// scope like RunLeaseRenew.
func (s *Store) RunLeaseListStale(ctx context.Context, before time.Time, limit int) ([]domain.RunLease, error) {
	var rows []runLeaseRow
	err := s.run(domain.WithSystem(ctx), func(tx *gorm.DB) error {
		return tx.Raw("SELECT execution_id, tenant_id, attempt, worker_id, heartbeat_at FROM run_leases WHERE heartbeat_at < ? ORDER BY heartbeat_at LIMIT ?",
			before.UTC().Truncate(time.Microsecond), limit).Scan(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.RunLease, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

func (r runLeaseRow) toDomain() domain.RunLease {
	return domain.RunLease{RunID: r.RunID, TenantID: r.TenantID, Attempt: r.Attempt, WorkerID: r.WorkerID, HeartbeatAt: r.HeartbeatAt.UTC()}
}
