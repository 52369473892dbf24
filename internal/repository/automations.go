package repository

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

type automationRow struct {
	ID                 uuid.UUID `gorm:"primaryKey"`
	TenantID           string    `gorm:"<-:create"`
	Name               string
	OnEvent            string
	Mode               string
	WorkflowName       *string
	AssetID            *uuid.UUID
	MinIntervalSeconds int
	Enabled            bool
	Since              time.Time
	NextEvalAt         *time.Time
	LastRunAt          *time.Time
	LastRunID          *uuid.UUID
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (automationRow) TableName() string { return "automations" }

func (r automationRow) pageKey() domain.Cursor {
	return domain.Cursor{CreatedAt: r.CreatedAt, ID: r.ID}
}

func (r *automationRow) toDomain(assets []uuid.UUID) domain.Automation {
	if assets == nil {
		assets = []uuid.UUID{}
	}
	return domain.Automation{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, On: domain.AutomationEvent(r.OnEvent), Mode: r.Mode,
		WorkflowName: r.WorkflowName, AssetID: r.AssetID, Assets: assets,
		MinInterval: time.Duration(r.MinIntervalSeconds) * time.Second, Enabled: r.Enabled, Since: r.Since.UTC(),
		NextEvalAt: utcPtr(r.NextEvalAt), LastRunAt: utcPtr(r.LastRunAt), LastRunID: r.LastRunID,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type automationAssetRow struct {
	TenantID     string    `gorm:"<-:create"`
	AutomationID uuid.UUID `gorm:"primaryKey"`
	AssetID      uuid.UUID `gorm:"primaryKey"`
}

func (automationAssetRow) TableName() string { return "automation_assets" }

type automationEvaluationRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	TenantID     string    `gorm:"<-:create"`
	AutomationID uuid.UUID
	EvaluatedAt  time.Time
	Result       string
	RunID        *uuid.UUID
	Reason       string
}

func (automationEvaluationRow) TableName() string { return "automation_evaluations" }

// automationAssets loads the watched assets of rows, in one query.
func (s *Store) automationAssets(tx *gorm.DB, rows []automationRow) ([]domain.Automation, error) {
	out := make([]domain.Automation, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	var links []automationAssetRow
	if err := tx.Where(s.idsIn("automation_id", ids)).Order("asset_id").Find(&links).Error; err != nil {
		return nil, err
	}
	by := map[uuid.UUID][]uuid.UUID{}
	for _, l := range links {
		by[l.AutomationID] = append(by[l.AutomationID], l.AssetID)
	}
	for i := range rows {
		out[i] = rows[i].toDomain(by[rows[i].ID])
	}
	return out, nil
}

// AutomationCreate implements domain.AutomationRepository.
func (s *Store) AutomationCreate(ctx context.Context, a *domain.Automation) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		t := now()
		row := automationRow{
			ID: newID(), Name: a.Name, OnEvent: string(a.On), Mode: a.Mode, WorkflowName: a.WorkflowName, AssetID: a.AssetID,
			MinIntervalSeconds: int(a.MinInterval / time.Second), Enabled: a.Enabled, Since: a.Since.UTC(),
			NextEvalAt: utcPtr(a.NextEvalAt), CreatedAt: t, UpdatedAt: t,
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for _, id := range a.Assets {
			if err := tx.Create(&automationAssetRow{AutomationID: row.ID, AssetID: id}).Error; err != nil {
				return err
			}
		}
		*a = row.toDomain(append([]uuid.UUID{}, a.Assets...))
		return nil
	})
}

func (s *Store) automationBy(ctx context.Context, cond string, arg any) (*domain.Automation, error) {
	var out []domain.Automation
	err := s.read(ctx, func(tx *gorm.DB) error {
		var row automationRow
		if err := firstOrNotFound(tx.Where(cond, arg).Take(&row).Error, "automation"); err != nil {
			return err
		}
		var err error
		out, err = s.automationAssets(tx, []automationRow{row})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// AutomationGet implements domain.AutomationRepository.
func (s *Store) AutomationGet(ctx context.Context, id uuid.UUID) (*domain.Automation, error) {
	return s.automationBy(ctx, "id = ?", id)
}

// AutomationGetByName implements domain.AutomationRepository.
func (s *Store) AutomationGetByName(ctx context.Context, name string) (*domain.Automation, error) {
	return s.automationBy(ctx, "name = ?", name)
}

// AutomationList implements domain.AutomationRepository, newest first.
func (s *Store) AutomationList(ctx context.Context, p domain.Page) (domain.List[domain.Automation], error) {
	var items []domain.Automation
	var total listTotal
	var next *domain.Cursor
	err := s.read(ctx, func(tx *gorm.DB) error {
		var rows []automationRow
		var err error
		if total, next, err = page(s, tx.Model(&automationRow{}), listKey("automations", nil), p, &rows); err != nil {
			return err
		}
		items, err = s.automationAssets(tx, rows)
		return err
	})
	if err != nil {
		return domain.List[domain.Automation]{}, err
	}
	return domain.List[domain.Automation]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset, NextCursor: next}, nil
}

// AutomationUpdate implements domain.AutomationRepository.
func (s *Store) AutomationUpdate(ctx context.Context, id uuid.UUID, fn func(*domain.Automation) error) (*domain.Automation, error) {
	var out *domain.Automation
	err := s.run(ctx, func(tx *gorm.DB) error {
		var row automationRow
		if err := firstOrNotFound(s.lockForUpdate(tx.Where("id = ?", id)).Take(&row).Error, "automation"); err != nil {
			return err
		}
		as, err := s.automationAssets(tx, []automationRow{row})
		if err != nil {
			return err
		}
		a := as[0]
		if err := fn(&a); err != nil {
			return err
		}
		res := tx.Model(&automationRow{}).Where("id = ?", id).Updates(map[string]any{
			"mode": a.Mode, "min_interval_seconds": int(a.MinInterval / time.Second), "enabled": a.Enabled,
			"since": a.Since.UTC(), "next_eval_at": utcPtr(a.NextEvalAt), "last_run_at": utcPtr(a.LastRunAt),
			"last_run_id": a.LastRunID, "updated_at": now(),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotFound("automation")
		}
		a.UpdatedAt = now()
		out = &a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AutomationDelete implements domain.AutomationRepository.
func (s *Store) AutomationDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[automationRow](tx, id, "automation") })
}

// AutomationWake implements domain.AutomationRepository.
func (s *Store) AutomationWake(ctx context.Context, assets []uuid.UUID, at time.Time) error {
	if len(assets) == 0 {
		return nil
	}
	at = at.UTC()
	return s.run(ctx, func(tx *gorm.DB) error {
		var links []automationAssetRow
		if err := tx.Select("automation_id").Where(s.idsIn("asset_id", assets)).Find(&links).Error; err != nil {
			return err
		}
		if len(links) == 0 {
			return nil
		}
		ids := make([]uuid.UUID, 0, len(links))
		for _, l := range links {
			ids = append(ids, l.AutomationID)
		}
		return tx.Model(&automationRow{}).
			Where(s.idsIn("id", ids)).
			Where("enabled AND (next_eval_at IS NULL OR next_eval_at > ?)", at).
			Update("next_eval_at", at).Error
	})
}

// AutomationClaimDue implements domain.AutomationRepository (see claimDue).
func (s *Store) AutomationClaimDue(ctx context.Context, at time.Time, limit int, fn func(ctx context.Context, a *domain.Automation) error, onError func(a *domain.Automation, err error)) (int, error) {
	q := "SELECT * FROM automations WHERE enabled AND next_eval_at IS NOT NULL AND next_eval_at <= ? ORDER BY next_eval_at, tenant_id, id LIMIT ?"
	return claimDue(ctx, s, q, at, limit, func(tctx context.Context, r *automationRow) error {
		var as []domain.Automation
		err := s.run(tctx, func(tx *gorm.DB) error {
			var err error
			as, err = s.automationAssets(tx, []automationRow{*r})
			return err
		})
		if err == nil {
			err = fn(tctx, &as[0])
		}
		if err != nil {
			a := r.toDomain(nil)
			onError(&a, err)
		}
		return err
	}, func(r *automationRow) string { return r.TenantID })
}

// AutomationEvaluationCreate implements domain.AutomationRepository.
func (s *Store) AutomationEvaluationCreate(ctx context.Context, e *domain.AutomationEvaluation) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := automationEvaluationRow{
			ID: newID(), AutomationID: e.AutomationID, EvaluatedAt: e.EvaluatedAt.UTC().Truncate(time.Microsecond),
			Result: e.Result, RunID: e.RunID, Reason: e.Reason,
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		e.ID = row.ID
		return nil
	})
}

// AutomationEvaluationList implements domain.AutomationRepository.
func (s *Store) AutomationEvaluationList(ctx context.Context, automationID uuid.UUID, limit int) ([]domain.AutomationEvaluation, error) {
	var rows []automationEvaluationRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("automation_id = ?", automationID).Order("evaluated_at DESC").Order("id DESC").Limit(limit).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.AutomationEvaluation, len(rows))
	for i, r := range rows {
		out[i] = domain.AutomationEvaluation{ID: r.ID, AutomationID: r.AutomationID, EvaluatedAt: r.EvaluatedAt.UTC(), Result: r.Result, RunID: r.RunID, Reason: r.Reason}
	}
	return out, nil
}

// AutomationEvaluationTrim implements domain.AutomationRepository.
func (s *Store) AutomationEvaluationTrim(ctx context.Context, automationID uuid.UUID, keep int) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Where("automation_id = ? AND evaluated_at < (SELECT e.evaluated_at FROM automation_evaluations e WHERE e.automation_id = ? ORDER BY e.evaluated_at DESC LIMIT 1 OFFSET ?)",
			automationID, automationID, keep-1).Delete(&automationEvaluationRow{}).Error
	})
}

var _ domain.AutomationRepository = (*Store)(nil)
