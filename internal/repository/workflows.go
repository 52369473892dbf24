package repository

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// WorkflowLockName implements domain.WorkflowRepository with a
// transaction-scoped advisory lock on PostgreSQL; SQLite has one writer.
func (s *Store) WorkflowLockName(ctx context.Context, name string) error {
	if s.dialect != Postgres {
		return nil
	}
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended('servo.workflow:' || current_setting('app.tenant_id', true) || ':' || ?, 0))", name).Error
	})
}

// WorkflowCreate implements domain.WorkflowRepository. The caller sets the
// version; a taken (name, version) is ErrConflict.
func (s *Store) WorkflowCreate(ctx context.Context, w *domain.Workflow) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := workflowRow{
			ID: newID(), Name: w.Name, Version: w.Version, Description: w.Description,
			Owner: w.Owner, Tags: stringList(w.Tags), Retry: jsonObject[domain.RetryPolicy]{V: w.Retry}, MaxActiveRuns: w.MaxActiveRuns,
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if len(w.AssetIDs) > 0 {
			links := make([]workflowAssetRow, len(w.AssetIDs))
			for i, id := range w.AssetIDs {
				links[i] = workflowAssetRow{WorkflowID: row.ID, Position: i, AssetID: id}
			}
			if err := tx.CreateInBatches(&links, 500).Error; err != nil {
				return err
			}
		}
		*w = row.toDomain(append([]uuid.UUID(nil), w.AssetIDs...))
		return nil
	})
}

// workflowAssets loads the ordered asset ids of rows in one query.
func workflowAssets(tx *gorm.DB, rows []workflowRow) ([]domain.Workflow, error) {
	out := make([]domain.Workflow, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	var links []workflowAssetRow
	if err := tx.Where("workflow_id IN ?", ids).Order("workflow_id").Order("position").Find(&links).Error; err != nil {
		return nil, err
	}
	byWorkflow := make(map[uuid.UUID][]uuid.UUID, len(rows))
	for _, l := range links {
		byWorkflow[l.WorkflowID] = append(byWorkflow[l.WorkflowID], l.AssetID)
	}
	for i := range rows {
		out[i] = rows[i].toDomain(byWorkflow[rows[i].ID])
	}
	return out, nil
}

func (s *Store) workflowTake(ctx context.Context, q func(tx *gorm.DB) *gorm.DB) (*domain.Workflow, error) {
	var out []domain.Workflow
	err := s.read(ctx, func(tx *gorm.DB) error {
		var row workflowRow
		if err := firstOrNotFound(q(tx).Take(&row).Error, "workflow"); err != nil {
			return err
		}
		var err error
		out, err = workflowAssets(tx, []workflowRow{row})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// WorkflowGet implements domain.WorkflowRepository.
func (s *Store) WorkflowGet(ctx context.Context, id uuid.UUID) (*domain.Workflow, error) {
	return s.workflowTake(ctx, func(tx *gorm.DB) *gorm.DB { return tx.Where("id = ?", id) })
}

// WorkflowGetByName implements domain.WorkflowRepository.
func (s *Store) WorkflowGetByName(ctx context.Context, name string, version int) (*domain.Workflow, error) {
	return s.workflowTake(ctx, func(tx *gorm.DB) *gorm.DB {
		q := tx.Where("name = ?", name)
		if version > 0 {
			return q.Where("version = ?", version)
		}
		return q.Order("version DESC").Limit(1)
	})
}

// WorkflowIDsByName implements domain.WorkflowRepository.
func (s *Store) WorkflowIDsByName(ctx context.Context, name string) ([]uuid.UUID, error) {
	ids := []uuid.UUID{}
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Model(&workflowRow{}).Where("name = ?", name).Pluck("id", &ids).Error
	})
	return ids, err
}

// WorkflowRefs implements domain.WorkflowRepository.
func (s *Store) WorkflowRefs(ctx context.Context, ids []uuid.UUID) ([]domain.WorkflowRef, error) {
	out := []domain.WorkflowRef{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []workflowRow
	if err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Select("id", "name", "version").Where("id IN ?", ids).Find(&rows).Error
	}); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out = append(out, domain.WorkflowRef{ID: r.ID, Name: r.Name, Version: r.Version})
	}
	return out, nil
}

// WorkflowLatestVersion implements domain.WorkflowRepository.
func (s *Store) WorkflowLatestVersion(ctx context.Context, name string) (int, error) {
	var v *int
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Model(&workflowRow{}).Where("name = ?", name).Select("MAX(version)").Scan(&v).Error
	})
	if err != nil || v == nil {
		return 0, err
	}
	return *v, nil
}

func (s *Store) workflowPage(ctx context.Context, p domain.Page, key string, filter func(*gorm.DB) *gorm.DB) (domain.List[domain.Workflow], error) {
	var items []domain.Workflow
	var total listTotal
	var next *domain.Cursor
	err := s.read(ctx, func(tx *gorm.DB) error {
		var rows []workflowRow
		var err error
		if total, next, err = page(s, filter(tx.Model(&workflowRow{})), key, p, &rows); err != nil {
			return err
		}
		items, err = workflowAssets(tx, rows)
		return err
	})
	if err != nil {
		return domain.List[domain.Workflow]{}, err
	}
	return domain.List[domain.Workflow]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset, NextCursor: next}, nil
}

// WorkflowList implements domain.WorkflowRepository.
func (s *Store) WorkflowList(ctx context.Context, p domain.Page) (domain.List[domain.Workflow], error) {
	return s.workflowPage(ctx, p, listKey("workflows", nil), func(q *gorm.DB) *gorm.DB {
		// The newer version lives in the same tenant by the unique key;
		// row-level security and the outer tenant condition keep it there.
		return q.Where("NOT EXISTS (SELECT 1 FROM workflows newer WHERE newer.tenant_id = workflows.tenant_id AND newer.name = workflows.name AND newer.version > workflows.version)")
	})
}

// WorkflowListVersions implements domain.WorkflowRepository.
func (s *Store) WorkflowListVersions(ctx context.Context, name string, p domain.Page) (domain.List[domain.Workflow], error) {
	return s.workflowPage(ctx, p, listKey("workflow versions", name), func(q *gorm.DB) *gorm.DB { return q.Where("name = ?", name) })
}

// WorkflowUpdate implements domain.WorkflowRepository. Only metadata
// changes; the asset list of a version is fixed.
func (s *Store) WorkflowUpdate(ctx context.Context, id uuid.UUID, fn func(*domain.Workflow) error) (*domain.Workflow, error) {
	var out *domain.Workflow
	err := s.run(ctx, func(tx *gorm.DB) error {
		var row workflowRow
		if err := firstOrNotFound(s.lockForUpdate(tx.Where("id = ?", id)).Take(&row).Error, "workflow"); err != nil {
			return err
		}
		ws, err := workflowAssets(tx, []workflowRow{row})
		if err != nil {
			return err
		}
		w := ws[0]
		if err := fn(&w); err != nil {
			return err
		}
		res := tx.Model(&workflowRow{}).Where("id = ?", id).Updates(map[string]any{
			"description":     w.Description,
			"owner":           w.Owner,
			"tags":            stringList(w.Tags),
			"max_active_runs": w.MaxActiveRuns,
			"updated_at":      now(),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotFound("workflow")
		}
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		w = row.toDomain(w.AssetIDs)
		out = &w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WorkflowDelete implements domain.WorkflowRepository. Its asset links and
// runs go with it (ON DELETE CASCADE).
func (s *Store) WorkflowDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[workflowRow](tx, id, "workflow") })
}
