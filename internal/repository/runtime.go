package repository

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// RunLock implements domain.RunRepository.
func (s *Store) RunLock(ctx context.Context, id uuid.UUID) (*domain.Run, error) {
	var row runRow
	err := s.run(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(s.lockForUpdate(tx.Where("id = ?", id)).Take(&row).Error, "run")
	})
	if err != nil {
		return nil, err
	}
	e := row.toDomain()
	return &e, nil
}

// RunSetParent implements domain.RunRepository.
func (s *Store) RunSetParent(ctx context.Context, id, parentID uuid.UUID) (bool, error) {
	var n int64
	err := s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&runRow{}).Where("id = ? AND parent_id IS NULL", id).Update("parent_id", parentID)
		n = res.RowsAffected
		return res.Error
	})
	return n > 0, err
}

// RunChildren implements domain.RunRepository.
func (s *Store) RunChildren(ctx context.Context, parentID uuid.UUID) ([]domain.Run, error) {
	var rows []runRow
	if err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("parent_id = ?", parentID).Order("created_at").Order("id").Find(&rows).Error
	}); err != nil {
		return nil, err
	}
	out := make([]domain.Run, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// RunCountRunning implements domain.RunRepository.
func (s *Store) RunCountRunning(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Model(&runRow{}).Where("state = ? AND asset_id IS NOT NULL", "running").Count(&n).Error
	})
	return n, err
}

// RunOldestQueued implements domain.RunRepository.
func (s *Store) RunOldestQueued(ctx context.Context, n int) ([]uuid.UUID, error) {
	ids := []uuid.UUID{}
	if n <= 0 {
		return ids, nil
	}
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Model(&runRow{}).Where("state = ? AND asset_id IS NOT NULL", "queued").
			Order("created_at").Order("id").Limit(n).Pluck("id", &ids).Error
	})
	return ids, err
}

// RunCountStartedSince implements domain.RunRepository.
func (s *Store) RunCountStartedSince(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Model(&runRow{}).Where("started_at > ? AND asset_id IS NOT NULL", t.UTC()).Count(&n).Error
	})
	return n, err
}

// RunLockTenantSlots implements domain.RunRepository with a
// transaction-scoped advisory lock keyed by the scope's tenant; SQLite has
// one writer.
func (s *Store) RunLockTenantSlots(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended('servo.slots:' || current_setting('app.tenant_id', true), 0))").Error
	})
}

// RunEventCreate implements domain.RunHistoryRepository.
func (s *Store) RunEventCreate(ctx context.Context, e *domain.RunEvent) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := runEventRow{
			ID: newID(), RunID: e.RunID, FromState: string(e.From), ToState: string(e.To),
			At: e.At.UTC().Truncate(time.Microsecond), Attempt: e.Attempt, Reason: e.Reason,
		}
		if row.At.IsZero() {
			row.At = now()
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		e.ID, e.TenantID, e.At = row.ID, row.TenantID, row.At
		return nil
	})
}

// RunEventList implements domain.RunHistoryRepository.
func (s *Store) RunEventList(ctx context.Context, runID uuid.UUID) ([]domain.RunEvent, error) {
	var rows []runEventRow
	if err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("execution_id = ?", runID).Order("at").Order("id").Find(&rows).Error
	}); err != nil {
		return nil, err
	}
	out := make([]domain.RunEvent, len(rows))
	for i, r := range rows {
		out[i] = domain.RunEvent{
			ID: r.ID, TenantID: r.TenantID, RunID: r.RunID, From: domain.State(r.FromState),
			To: domain.State(r.ToState), At: r.At.UTC(), Attempt: r.Attempt, Reason: r.Reason,
		}
	}
	return out, nil
}

// RunLogPut implements domain.RunHistoryRepository.
func (s *Store) RunLogPut(ctx context.Context, l *domain.RunLog) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&runLogRow{}).Where("execution_id = ?", l.RunID).
			Updates(map[string]any{"content": l.Content, "truncated": l.Truncated, "updated_at": now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 {
			return nil
		}
		return tx.Create(&runLogRow{RunID: l.RunID, Content: l.Content, Truncated: l.Truncated, UpdatedAt: now()}).Error
	})
}

// RunLogGet implements domain.RunHistoryRepository.
func (s *Store) RunLogGet(ctx context.Context, runID uuid.UUID) (*domain.RunLog, error) {
	var row runLogRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("execution_id = ?", runID).Take(&row).Error, "run log")
	})
	if err != nil {
		return nil, err
	}
	return &domain.RunLog{RunID: row.RunID, Content: row.Content, Truncated: row.Truncated, UpdatedAt: row.UpdatedAt.UTC()}, nil
}

// RunWorkflowSlots implements domain.RunRepository.
func (s *Store) RunWorkflowSlots(ctx context.Context, workflowIDs []uuid.UUID, n int) (int64, []uuid.UUID, error) {
	var running int64
	queued := []uuid.UUID{}
	if len(workflowIDs) == 0 {
		return 0, queued, nil
	}
	err := s.read(ctx, func(tx *gorm.DB) error {
		base := func() *gorm.DB {
			return tx.Model(&runRow{}).Where("asset_id IS NULL AND workflow_id IN ?", workflowIDs)
		}
		if err := base().Where("state = ?", "running").Count(&running).Error; err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		return base().Where("state = ?", "queued").Order("created_at").Order("id").Limit(n).Pluck("id", &queued).Error
	})
	return running, queued, err
}
