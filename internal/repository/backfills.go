package repository

import (
	"context"
	"database/sql/driver"

	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/servo-data/servo/internal/domain"
)

type partitionKeyRow struct {
	TenantID     string    `gorm:"<-:create;primaryKey"`
	AssetID      uuid.UUID `gorm:"primaryKey"`
	PartitionKey string    `gorm:"primaryKey"`
	CreatedAt    time.Time
}

func (partitionKeyRow) TableName() string { return "asset_partition_keys" }

type backfillRow struct {
	ID               uuid.UUID `gorm:"primaryKey"`
	TenantID         string    `gorm:"<-:create"`
	AssetID          *uuid.UUID
	WorkflowID       *uuid.UUID
	State            string
	MaxConcurrency   int
	SkipMaterialized bool
	WaitForUpstream  bool
	Total            int
	IdempotencyKey   *string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CompletedAt      *time.Time
}

func (backfillRow) TableName() string { return "backfills" }

func (r backfillRow) pageKey() domain.Cursor { return domain.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} }

func (r *backfillRow) toDomain() domain.Backfill {
	return domain.Backfill{
		ID: r.ID, TenantID: r.TenantID, AssetID: r.AssetID, WorkflowID: r.WorkflowID,
		State: domain.BackfillState(r.State), MaxConcurrency: r.MaxConcurrency,
		SkipMaterialized: r.SkipMaterialized, WaitForUpstream: r.WaitForUpstream, Total: r.Total,
		IdempotencyKey: r.IdempotencyKey, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		CompletedAt: utcPtr(r.CompletedAt),
	}
}

type backfillPartitionRow struct {
	TenantID     string    `gorm:"<-:create"`
	BackfillID   uuid.UUID `gorm:"primaryKey"`
	Position     int       `gorm:"primaryKey;autoIncrement:false"`
	PartitionKey string
	State        string
	RunID        *uuid.UUID
	StartedAt    *time.Time
	CompletedAt  *time.Time
}

func (backfillPartitionRow) TableName() string { return "backfill_partitions" }

func (r *backfillPartitionRow) toDomain() domain.BackfillPartition {
	return domain.BackfillPartition{
		BackfillID: r.BackfillID, Position: r.Position, PartitionKey: r.PartitionKey,
		State: domain.PartitionRunState(r.State), RunID: r.RunID,
		StartedAt: utcPtr(r.StartedAt), CompletedAt: utcPtr(r.CompletedAt),
	}
}

// BackfillCreate implements domain.BackfillRepository.
func (s *Store) BackfillCreate(ctx context.Context, b *domain.Backfill, keys []string) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		t := now()
		row := backfillRow{
			ID: newID(), AssetID: b.AssetID, WorkflowID: b.WorkflowID, State: string(domain.BackfillPending),
			MaxConcurrency: b.MaxConcurrency, SkipMaterialized: b.SkipMaterialized, WaitForUpstream: b.WaitForUpstream,
			Total: len(keys), IdempotencyKey: b.IdempotencyKey, CreatedAt: t, UpdatedAt: t,
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		parts := make([]backfillPartitionRow, len(keys))
		for i, k := range keys {
			parts[i] = backfillPartitionRow{BackfillID: row.ID, Position: i, PartitionKey: k, State: string(domain.PartitionPending)}
		}
		// 500 rows of 5 parameters stay under SQLite's parameter limit.
		if err := tx.CreateInBatches(&parts, 500).Error; err != nil {
			return err
		}
		*b = row.toDomain()
		b.Counts.Pending = len(keys)
		return nil
	})
}

// backfillCounts fills the partition counts of the given backfills in one
// query.
func (s *Store) backfillCounts(tx *gorm.DB, bs []domain.Backfill) error {
	if len(bs) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(bs))
	at := make(map[uuid.UUID]int, len(bs))
	for i := range bs {
		ids[i] = bs[i].ID
		at[bs[i].ID] = i
	}
	var rows []struct {
		BackfillID uuid.UUID
		State      string
		N          int
	}
	err := tx.Model(&backfillPartitionRow{}).Select("backfill_id, state, count(*) AS n").
		Where(s.idsIn("backfill_id", ids)).Group("backfill_id").Group("state").Scan(&rows).Error
	if err != nil {
		return err
	}
	for _, r := range rows {
		bs[at[r.BackfillID]].Counts.Add(domain.PartitionRunState(r.State), r.N)
	}
	return nil
}

func (s *Store) backfillTake(ctx context.Context, q func(*gorm.DB) *gorm.DB) (*domain.Backfill, error) {
	var out []domain.Backfill
	err := s.read(ctx, func(tx *gorm.DB) error {
		var row backfillRow
		if err := firstOrNotFound(q(tx).Take(&row).Error, "backfill"); err != nil {
			return err
		}
		out = []domain.Backfill{row.toDomain()}
		return s.backfillCounts(tx, out)
	})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// BackfillGet implements domain.BackfillRepository.
func (s *Store) BackfillGet(ctx context.Context, id uuid.UUID) (*domain.Backfill, error) {
	return s.backfillTake(ctx, func(tx *gorm.DB) *gorm.DB { return tx.Where("id = ?", id) })
}

// BackfillGetByIdempotencyKey implements domain.BackfillRepository.
func (s *Store) BackfillGetByIdempotencyKey(ctx context.Context, key string) (*domain.Backfill, error) {
	return s.backfillTake(ctx, func(tx *gorm.DB) *gorm.DB { return tx.Where("idempotency_key = ?", key) })
}

// BackfillList implements domain.BackfillRepository.
func (s *Store) BackfillList(ctx context.Context, state domain.BackfillState, p domain.Page) (domain.List[domain.Backfill], error) {
	var rows []backfillRow
	var total listTotal
	var next *domain.Cursor
	var items []domain.Backfill
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&backfillRow{})
		if state != "" {
			q = q.Where("state = ?", string(state))
		}
		var err error
		if total, next, err = page(s, q, listKey("backfills", state), p, &rows); err != nil {
			return err
		}
		items = make([]domain.Backfill, len(rows))
		for i := range rows {
			items[i] = rows[i].toDomain()
		}
		return s.backfillCounts(tx, items)
	})
	if err != nil {
		return domain.List[domain.Backfill]{}, err
	}
	return domain.List[domain.Backfill]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset, NextCursor: next}, nil
}

// BackfillLock implements domain.BackfillRepository.
func (s *Store) BackfillLock(ctx context.Context, id uuid.UUID, skipLocked bool) (*domain.Backfill, error) {
	var out []domain.Backfill
	err := s.run(ctx, func(tx *gorm.DB) error {
		q := tx.Where("id = ?", id)
		if s.dialect == Postgres {
			lock := clause.Locking{Strength: "UPDATE"}
			if skipLocked {
				lock.Options = "SKIP LOCKED"
			}
			q = q.Clauses(lock)
		}
		var rows []backfillRow
		if err := q.Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			if skipLocked {
				// Missing, or held by another transaction: SKIP LOCKED cannot
				// tell; look without the lock.
				var n int64
				if err := tx.Model(&backfillRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
					return err
				}
				if n > 0 {
					return fmt.Errorf("%w: backfill is being advanced elsewhere", domain.ErrConflict)
				}
			}
			return errNotFound("backfill")
		}
		out = []domain.Backfill{rows[0].toDomain()}
		return s.backfillCounts(tx, out)
	})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// BackfillSetState implements domain.BackfillRepository.
func (s *Store) BackfillSetState(ctx context.Context, id uuid.UUID, state domain.BackfillState) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		t := now()
		set := map[string]any{"state": string(state), "updated_at": t}
		if state.IsTerminal() {
			set["completed_at"] = t
		} else {
			set["completed_at"] = nil
		}
		res := tx.Model(&backfillRow{}).Where("id = ?", id).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotFound("backfill")
		}
		return nil
	})
}

// BackfillPartitions implements domain.BackfillRepository.
func (s *Store) BackfillPartitions(ctx context.Context, id uuid.UUID, states []domain.PartitionRunState, after, limit int) ([]domain.BackfillPartition, error) {
	var rows []backfillPartitionRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Where("backfill_id = ? AND position > ?", id, after)
		if len(states) > 0 {
			ss := make([]string, len(states))
			for i, st := range states {
				ss[i] = string(st)
			}
			q = q.Where("state IN ?", ss)
		}
		if limit > 0 {
			q = q.Limit(limit)
		}
		return q.Order("position").Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.BackfillPartition, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// BackfillPartitionUpdate implements domain.BackfillRepository.
func (s *Store) BackfillPartitionUpdate(ctx context.Context, p *domain.BackfillPartition) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&backfillPartitionRow{}).Where("backfill_id = ? AND position = ?", p.BackfillID, p.Position).
			Updates(map[string]any{"state": string(p.State), "run_id": p.RunID, "started_at": utcPtr(p.StartedAt), "completed_at": utcPtr(p.CompletedAt)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotFound("backfill partition")
		}
		return nil
	})
}

// BackfillPartitionsSetState implements domain.BackfillRepository.
func (s *Store) BackfillPartitionsSetState(ctx context.Context, id uuid.UUID, from []domain.PartitionRunState, to domain.PartitionRunState) (int64, error) {
	var n int64
	err := s.run(ctx, func(tx *gorm.DB) error {
		ss := make([]string, len(from))
		for i, st := range from {
			ss[i] = string(st)
		}
		set := map[string]any{"state": string(to)}
		if to == domain.PartitionCancelled {
			set["completed_at"] = now()
		}
		res := tx.Model(&backfillPartitionRow{}).Where("backfill_id = ? AND state IN ?", id, ss).Updates(set)
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// activeBackfillStates are the states in which a backfill holds its keys.
var activeBackfillStates = []string{string(domain.BackfillPending), string(domain.BackfillRunning), string(domain.BackfillPaused)}

// BackfillOverlap implements domain.BackfillRepository.
func (s *Store) BackfillOverlap(ctx context.Context, assetID, workflowID *uuid.UUID, keys []string) (uuid.UUID, bool, error) {
	var found uuid.UUID
	ok := false
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&backfillRow{}).Where("state IN ?", activeBackfillStates)
		if assetID != nil {
			q = q.Where("asset_id = ?", *assetID)
		} else {
			q = q.Where("workflow_id = ?", *workflowID)
		}
		var ids []uuid.UUID
		if err := q.Order("created_at").Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
			return err
		}
		for start := 0; start < len(keys); start += 5000 {
			chunk := keys[start:min(start+5000, len(keys))]
			var hit []uuid.UUID
			err := tx.Model(&backfillPartitionRow{}).Where(s.idsIn("backfill_id", ids)).
				Where("partition_key IN ?", chunk).Limit(1).Pluck("backfill_id", &hit).Error
			if err != nil {
				return err
			}
			if len(hit) > 0 {
				found, ok = hit[0], true
				return nil
			}
		}
		return nil
	})
	return found, ok, err
}

// PartitionLatestRuns implements domain.BackfillRepository: one statement
// ranks each key's runs and keeps the latest, with the last successful
// completion. It is raw SQL (a window function), so it names the tenant
// itself; row-level security covers it too.
func (s *Store) PartitionLatestRuns(ctx context.Context, assetID uuid.UUID, keys []string) ([]domain.PartitionRun, error) {
	sc, err := domain.ScopeFrom(ctx)
	if err != nil {
		return nil, err
	}
	if sc.IsSystem() {
		return nil, fmt.Errorf("%w: runs belong to tenants", domain.ErrForbidden)
	}
	if keys != nil && len(keys) == 0 {
		return []domain.PartitionRun{}, nil
	}
	var rows []struct {
		PartitionKey string
		ID           uuid.UUID
		State        string
		LastOK       anyTime
	}
	keyCond, args := "partition_key <> ''", []any{sc.TenantID(), assetID}
	if keys != nil {
		keyCond = "partition_key IN ?"
		args = append(args, keys)
	}
	q := `SELECT partition_key, id, state, last_ok FROM (
	SELECT partition_key, id, state,
		MAX(CASE WHEN state = 'succeeded' THEN completed_at END) OVER (PARTITION BY partition_key) AS last_ok,
		ROW_NUMBER() OVER (PARTITION BY partition_key ORDER BY created_at DESC, id DESC) AS rn
	FROM executions
	WHERE tenant_id = ? AND asset_id = ? AND ` + keyCond + `
) ranked WHERE rn = 1 ORDER BY partition_key`
	err = s.read(ctx, func(tx *gorm.DB) error { return tx.Raw(q, args...).Scan(&rows).Error })
	if err != nil {
		return nil, err
	}
	out := make([]domain.PartitionRun, len(rows))
	for i, r := range rows {
		out[i] = domain.PartitionRun{PartitionKey: r.PartitionKey, RunID: r.ID, State: domain.State(r.State), LastMaterializedAt: r.LastOK.ptr()}
	}
	return out, nil
}

// PartitionKeyAdd implements domain.BackfillRepository; keys already there
// are kept as they are.
func (s *Store) PartitionKeyAdd(ctx context.Context, assetID uuid.UUID, keys []string) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		var have []string
		if err := tx.Model(&partitionKeyRow{}).Where("asset_id = ? AND partition_key IN ?", assetID, keys).Pluck("partition_key", &have).Error; err != nil {
			return err
		}
		seen := make(map[string]bool, len(have))
		for _, k := range have {
			seen[k] = true
		}
		t := now()
		var rows []partitionKeyRow
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				rows = append(rows, partitionKeyRow{AssetID: assetID, PartitionKey: k, CreatedAt: t})
			}
		}
		if len(rows) == 0 {
			return nil
		}
		return tx.CreateInBatches(&rows, 500).Error
	})
}

// PartitionKeyDelete implements domain.BackfillRepository.
func (s *Store) PartitionKeyDelete(ctx context.Context, assetID uuid.UUID, key string) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Where("asset_id = ? AND partition_key = ?", assetID, key).Delete(&partitionKeyRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotFound("partition key")
		}
		return nil
	})
}

// PartitionKeyList implements domain.BackfillRepository: keys in the order
// they were added.
func (s *Store) PartitionKeyList(ctx context.Context, assetID uuid.UUID) ([]string, error) {
	keys := []string{}
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Model(&partitionKeyRow{}).Where("asset_id = ?", assetID).Order("created_at").Order("partition_key").Pluck("partition_key", &keys).Error
	})
	return keys, err
}

// RunGetMany implements domain.BackfillRepository.
func (s *Store) RunGetMany(ctx context.Context, ids []uuid.UUID) ([]domain.Run, error) {
	if len(ids) == 0 {
		return []domain.Run{}, nil
	}
	var rows []runRow
	if err := s.read(ctx, func(tx *gorm.DB) error { return tx.Where(s.idsIn("id", ids)).Find(&rows).Error }); err != nil {
		return nil, err
	}
	out := make([]domain.Run, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// anyTime scans a timestamp that may come back as text: SQLite returns an
// aggregate of a DATETIME column without its declared type.
type anyTime struct {
	t  time.Time
	ok bool
}

var sqliteTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano}

// Scan implements sql.Scanner.
func (a *anyTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*a = anyTime{}
		return nil
	case time.Time:
		*a = anyTime{t: v.UTC(), ok: true}
		return nil
	case []byte:
		return a.Scan(string(v))
	case string:
		for _, l := range sqliteTimeLayouts {
			if t, err := time.Parse(l, v); err == nil {
				*a = anyTime{t: t.UTC(), ok: true}
				return nil
			}
		}
		return fmt.Errorf("anyTime: cannot parse %q", v)
	}
	return fmt.Errorf("anyTime: cannot scan %T", src)
}

// Value implements driver.Valuer, which GORM asks of a scanned field type.
func (a anyTime) Value() (driver.Value, error) {
	if !a.ok {
		return nil, nil
	}
	return a.t, nil
}

func (a anyTime) ptr() *time.Time {
	if !a.ok {
		return nil
	}
	t := a.t
	return &t
}
