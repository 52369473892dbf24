package repository

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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
		set := transitionSet(t, at)
		// UPDATE ... RETURNING: the moved row comes back with the update,
		// one round trip; it is read only when nothing moved (to say why)
		// or the dialect returns nothing.
		var moved []runRow
		res := tx.Model(&moved).Clauses(clause.Returning{}).Where("id = ? AND state = ?", t.ID, string(t.From)).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if len(moved) == 1 {
			out = moved[0].toDomain()
			return nil
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

// transitionSet returns the columns a transition writes at at.
func transitionSet(t domain.Transition, at time.Time) map[string]any {
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
	return set
}

// RunTransitionMany moves the runs ids that are in t.From to t.To (t.ID is
// ignored) in one compare-and-swap statement and returns the runs it moved,
// in no particular order; runs in another state are left alone and left
// out.
func (s *Store) RunTransitionMany(ctx context.Context, ids []uuid.UUID, t domain.Transition) ([]domain.Run, error) {
	if err := domain.ValidateTransition(t.From, t.To); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []domain.Run{}, nil
	}
	at := t.At.UTC().Truncate(time.Microsecond)
	if t.At.IsZero() {
		at = now()
	}
	var moved []runRow
	err := s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&moved).Clauses(clause.Returning{}).Where(s.idsIn("id", ids)).Where("state = ?", string(t.From)).Updates(transitionSet(t, at))
		if res.Error != nil || int(res.RowsAffected) == len(moved) {
			return res.Error
		}
		// The dialect returned nothing: read the moved rows back by the
		// time the update wrote.
		moved = moved[:0]
		return tx.Where(s.idsIn("id", ids)).Where("state = ? AND updated_at = ?", string(t.To), at).Find(&moved).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.Run, len(moved))
	for i := range moved {
		out[i] = moved[i].toDomain()
	}
	return out, nil
}

// RunQueuedHeads returns the tenant's n oldest queued runs with an asset,
// oldest first, each marked Observed when starting it runs nothing and
// ends nothing else: its asset has no compute spec and no checks, no check
// result was posted to it, and it is not a workflow step (whose end moves
// its workflow run on). A run whose asset is gone is not Observed.
func (s *Store) RunQueuedHeads(ctx context.Context, n int) ([]domain.RunHead, error) {
	out := []domain.RunHead{}
	if n <= 0 {
		return out, nil
	}
	var rows []struct {
		ID       uuid.UUID
		Observed bool
	}
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Model(&runRow{}).
			Select("executions.id, (executions.parent_id IS NULL AND assets.id IS NOT NULL AND assets.compute IS NULL"+
				" AND NOT EXISTS (SELECT 1 FROM checks WHERE checks.tenant_id = executions.tenant_id AND checks.asset_id = executions.asset_id)"+
				" AND NOT EXISTS (SELECT 1 FROM check_results WHERE check_results.tenant_id = executions.tenant_id AND check_results.execution_id = executions.id)) AS observed").
			Joins("LEFT JOIN assets ON assets.id = executions.asset_id AND assets.tenant_id = executions.tenant_id").
			Where("executions.state = ? AND executions.asset_id IS NOT NULL", "queued").
			Order("executions.created_at").Order("executions.id").Limit(n).
			Scan(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out = append(out, domain.RunHead{ID: r.ID, Observed: r.Observed})
	}
	return out, nil
}

// RunEventCreateMany appends the transitions es to their runs' histories
// in one statement.
func (s *Store) RunEventCreateMany(ctx context.Context, es []domain.RunEvent) error {
	if len(es) == 0 {
		return nil
	}
	rows := make([]runEventRow, len(es))
	for i, e := range es {
		rows[i] = runEventRow{
			ID: newID(), RunID: e.RunID, FromState: string(e.From), ToState: string(e.To),
			At: e.At.UTC().Truncate(time.Microsecond), Attempt: e.Attempt, Reason: e.Reason,
		}
		if rows[i].At.IsZero() {
			rows[i].At = now()
		}
	}
	return s.run(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&rows).Error; err != nil {
			return err
		}
		for i := range es {
			es[i].ID, es[i].TenantID, es[i].At = rows[i].ID, rows[i].TenantID, rows[i].At
		}
		return nil
	})
}

// RunLogPutMany replaces the kept output of each run of ls, in two
// statements.
func (s *Store) RunLogPutMany(ctx context.Context, ls []domain.RunLog) error {
	if len(ls) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ls))
	rows := make([]runLogRow, len(ls))
	at := now()
	for i, l := range ls {
		ids[i] = l.RunID
		rows[i] = runLogRow{RunID: l.RunID, Content: l.Content, Truncated: l.Truncated, UpdatedAt: at}
	}
	// Delete and insert rather than an upsert, which the tenant callbacks
	// refuse.
	return s.run(ctx, func(tx *gorm.DB) error {
		if err := tx.Where(s.idsIn("execution_id", ids)).Delete(&runLogRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&rows).Error
	})
}

// RunDelete implements domain.RunRepository.
func (s *Store) RunDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[runRow](tx, id, "run") })
}
