package repository

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// RunCreate implements domain.RunRepository.
func (s *Store) RunCreate(ctx context.Context, e *domain.Run) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := runRowFrom(e)
		if row.ID == uuid.Nil {
			row.ID = newID()
		}
		row.TenantID = ""
		t := now()
		row.CreatedAt, row.UpdatedAt = t, t
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*e = row.toDomain()
		return nil
	})
}

func (s *Store) executionTake(ctx context.Context, what string, q func(*gorm.DB) *gorm.DB) (*domain.Run, error) {
	var row runRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(q(tx).Take(&row).Error, what)
	})
	if err != nil {
		return nil, err
	}
	e := row.toDomain()
	return &e, nil
}

// RunGet implements domain.RunRepository.
func (s *Store) RunGet(ctx context.Context, id uuid.UUID) (*domain.Run, error) {
	return s.executionTake(ctx, "run", func(tx *gorm.DB) *gorm.DB { return tx.Where("id = ?", id) })
}

// RunGetByIdempotencyKey implements domain.RunRepository.
func (s *Store) RunGetByIdempotencyKey(ctx context.Context, key string) (*domain.Run, error) {
	return s.executionTake(ctx, "run", func(tx *gorm.DB) *gorm.DB { return tx.Where("idempotency_key = ?", key) })
}

func executionFilter(q *gorm.DB, f domain.RunFilter) *gorm.DB {
	if f.WorkflowID != nil {
		q = q.Where("workflow_id = ?", *f.WorkflowID)
	}
	if f.AssetID != nil {
		q = q.Where("asset_id = ?", *f.AssetID)
	}
	if f.WorkflowIDs != nil {
		if len(f.WorkflowIDs) == 0 {
			q = q.Where("1 = 0")
		} else {
			q = q.Where("workflow_id IN ?", f.WorkflowIDs)
		}
	}
	if f.State != "" {
		q = q.Where("state = ?", string(f.State))
	}
	if f.PartitionKey != nil {
		q = q.Where("partition_key = ?", *f.PartitionKey)
	}
	switch f.Status {
	case "":
	case domain.StatusPending:
		q = q.Where("state IN ?", []string{"pending", "queued"})
	case domain.StatusRunning:
		q = q.Where("state = ?", "running")
	case domain.StatusSuccess:
		q = q.Where("state = ?", "succeeded")
	case domain.StatusSkipped, domain.StatusUpstreamFailed:
		q = q.Where("state = ?", string(f.Status))
	case domain.StatusFailed:
		q = q.Where("state IN ? OR (state = ? AND asset_id IS NOT NULL)", []string{"failed", "timeout"}, "cancelled")
	case domain.StatusCancelled:
		q = q.Where("state = ? AND asset_id IS NULL", "cancelled")
	default:
		q = q.Where("1 = 0")
	}
	return q
}

// RunList implements domain.RunRepository.
func (s *Store) RunList(ctx context.Context, f domain.RunFilter, p domain.Page) (domain.List[domain.Run], error) {
	var rows []runRow
	var total listTotal
	var next *domain.Cursor
	err := s.read(ctx, func(tx *gorm.DB) error {
		var err error
		total, next, err = page(s, executionFilter(tx.Model(&runRow{}), f), listKey("runs", f), p, &rows)
		return err
	})
	if err != nil {
		return domain.List[domain.Run]{}, err
	}
	items := make([]domain.Run, len(rows))
	for i := range rows {
		items[i] = rows[i].toDomain()
	}
	return domain.List[domain.Run]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset, NextCursor: next}, nil
}

// RunCount implements domain.RunRepository.
func (s *Store) RunCount(ctx context.Context, f domain.RunFilter) (int64, error) {
	var n int64
	err := s.read(ctx, func(tx *gorm.DB) error {
		return executionFilter(tx.Model(&runRow{}), f).Count(&n).Error
	})
	return n, err
}

// RunTransition implements domain.RunRepository. The update is
// a single compare-and-swap, UPDATE ... WHERE id = ? AND state = ?, so of
// two racing transitions exactly one matches a row.
func (s *Store) RunTransition(ctx context.Context, t domain.Transition) (*domain.Run, error) {
	if err := domain.ValidateTransition(t.From, t.To); err != nil {
		return nil, err
	}
	at := t.At.UTC().Truncate(time.Microsecond)
	if t.At.IsZero() {
		at = now()
	}
	var out domain.Run
	err := s.run(ctx, func(tx *gorm.DB) error {
		set := map[string]any{"state": string(t.To), "updated_at": at}
		switch {
		case t.To == domain.StateRunning:
			set["started_at"] = at
			set["completed_at"] = nil
			set["error_message"] = ""
		case domain.IsRetry(t.From, t.To):
			set["attempt"] = gorm.Expr("attempt + 1")
			set["started_at"] = nil
			set["completed_at"] = nil
		case t.To.IsTerminal():
			set["completed_at"] = at
			set["error_message"] = t.ErrorMessage
		}
		res := tx.Model(&runRow{}).Where("id = ? AND state = ?", t.ID, string(t.From)).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		var row runRow
		if err := firstOrNotFound(tx.Where("id = ?", t.ID).Take(&row).Error, "run"); err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: run is %s, not %s", domain.ErrConflict, row.State, t.From)
		}
		out = row.toDomain()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RunDelete implements domain.RunRepository.
func (s *Store) RunDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[runRow](tx, id, "run") })
}
