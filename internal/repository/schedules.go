package repository

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

type scheduleRow struct {
	ID              uuid.UUID `gorm:"primaryKey"`
	TenantID        string    `gorm:"<-:create"`
	Name            string
	WorkflowName    string
	WorkflowVersion *int
	Cron            string
	Timezone        string
	Enabled         bool
	Catchup         string
	MaxCatchup      int
	Overlap         string
	Partition       string
	NextTickAt      *time.Time
	LastTickAt      *time.Time
	LastRunID       *uuid.UUID
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (scheduleRow) TableName() string { return "schedules" }

func (r scheduleRow) pageKey() domain.Cursor { return domain.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} }

func scheduleRowFrom(s *domain.Schedule) scheduleRow {
	return scheduleRow{
		ID: s.ID, TenantID: s.TenantID, Name: s.Name, WorkflowName: s.WorkflowName, WorkflowVersion: s.WorkflowVersion,
		Cron: s.Cron, Timezone: s.Timezone, Enabled: s.Enabled, Catchup: string(s.Catchup), MaxCatchup: s.MaxCatchup,
		Overlap: string(s.Overlap), Partition: string(s.Partition),
		NextTickAt: utcPtr(s.NextTickAt), LastTickAt: utcPtr(s.LastTickAt), LastRunID: s.LastRunID,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func (r *scheduleRow) toDomain() domain.Schedule {
	return domain.Schedule{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, WorkflowName: r.WorkflowName, WorkflowVersion: r.WorkflowVersion,
		Cron: r.Cron, Timezone: r.Timezone, Enabled: r.Enabled, Catchup: domain.Catchup(r.Catchup), MaxCatchup: r.MaxCatchup,
		Overlap: domain.Overlap(r.Overlap), Partition: domain.PartitionRule(r.Partition),
		NextTickAt: utcPtr(r.NextTickAt), LastTickAt: utcPtr(r.LastTickAt), LastRunID: r.LastRunID,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type scheduleTickRow struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	TenantID   string    `gorm:"<-:create"`
	ScheduleID uuid.UUID
	TickAt     time.Time
	Status     string
	RunID      *uuid.UUID
	Reason     string
	CreatedAt  time.Time
}

func (scheduleTickRow) TableName() string { return "schedule_ticks" }

func (r *scheduleTickRow) toDomain() domain.ScheduleTick {
	return domain.ScheduleTick{
		ID: r.ID, TenantID: r.TenantID, ScheduleID: r.ScheduleID, TickAt: r.TickAt.UTC(),
		Status: domain.TickStatus(r.Status), RunID: r.RunID, Reason: r.Reason, CreatedAt: r.CreatedAt.UTC(),
	}
}

// ScheduleCreate implements domain.ScheduleRepository. The tenant is stamped
// from the scope; a name the tenant already uses is ErrConflict.
func (s *Store) ScheduleCreate(ctx context.Context, sc *domain.Schedule) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := scheduleRowFrom(sc)
		row.ID, row.TenantID = newID(), ""
		t := now()
		row.CreatedAt, row.UpdatedAt = t, t
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*sc = row.toDomain()
		return nil
	})
}

// ScheduleGet implements domain.ScheduleRepository.
func (s *Store) ScheduleGet(ctx context.Context, id uuid.UUID) (*domain.Schedule, error) {
	var row scheduleRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("id = ?", id).Take(&row).Error, "schedule")
	})
	if err != nil {
		return nil, err
	}
	out := row.toDomain()
	return &out, nil
}

// ScheduleGetByName implements domain.ScheduleRepository.
func (s *Store) ScheduleGetByName(ctx context.Context, name string) (*domain.Schedule, error) {
	var row scheduleRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("name = ?", name).Take(&row).Error, "schedule")
	})
	if err != nil {
		return nil, err
	}
	out := row.toDomain()
	return &out, nil
}

// ScheduleList implements domain.ScheduleRepository, newest first.
func (s *Store) ScheduleList(ctx context.Context, p domain.Page) (domain.List[domain.Schedule], error) {
	var rows []scheduleRow
	var total listTotal
	var next *domain.Cursor
	err := s.read(ctx, func(tx *gorm.DB) error {
		var err error
		total, next, err = page(s, tx.Model(&scheduleRow{}), listKey("schedules", nil), p, &rows)
		return err
	})
	if err != nil {
		return domain.List[domain.Schedule]{}, err
	}
	items := make([]domain.Schedule, len(rows))
	for i := range rows {
		items[i] = rows[i].toDomain()
	}
	return domain.List[domain.Schedule]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset, NextCursor: next}, nil
}

// ScheduleUpdate implements domain.ScheduleRepository.
func (s *Store) ScheduleUpdate(ctx context.Context, id uuid.UUID, fn func(*domain.Schedule) error) (*domain.Schedule, error) {
	return updateByID[scheduleRow](s, ctx, id, "schedule", fn, func(sc *domain.Schedule) map[string]any {
		next := scheduleRowFrom(sc)
		return map[string]any{
			"name": next.Name, "workflow_name": next.WorkflowName, "workflow_version": next.WorkflowVersion,
			"cron": next.Cron, "timezone": next.Timezone, "enabled": next.Enabled,
			"catchup": next.Catchup, "max_catchup": next.MaxCatchup, "overlap": next.Overlap, "partition": next.Partition,
			"next_tick_at": next.NextTickAt, "last_tick_at": next.LastTickAt, "last_run_id": next.LastRunID,
			"updated_at": now(),
		}
	})
}

// ScheduleDelete implements domain.ScheduleRepository; its ticks go with it.
func (s *Store) ScheduleDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[scheduleRow](tx, id, "schedule") })
}

// ScheduleClaimDue implements domain.ScheduleRepository (see claimDue).
func (s *Store) ScheduleClaimDue(ctx context.Context, at time.Time, limit int, fn func(ctx context.Context, sc *domain.Schedule) error, onError func(sc *domain.Schedule, err error)) (int, error) {
	q := "SELECT * FROM schedules WHERE enabled AND next_tick_at IS NOT NULL AND next_tick_at <= ? ORDER BY next_tick_at, tenant_id, id LIMIT ?"
	return claimDue(ctx, s, q, at, limit, func(tctx context.Context, r *scheduleRow) error {
		sc := r.toDomain()
		if err := fn(tctx, &sc); err != nil {
			onError(&sc, err)
			return err
		}
		return nil
	}, func(r *scheduleRow) string { return r.TenantID })
}

// claimDue claims the rows query selects (its arguments: now and a limit),
// in one transaction of the system scope, which ctx must carry. On
// PostgreSQL the rows are read with FOR UPDATE SKIP LOCKED, so that
// concurrent claimers split them, and the transaction then switches
// app.tenant_id to each row's tenant before work runs: row-level security
// holds work to that tenant's rows, as the context's scope holds the
// application's callbacks. SQLite has one writer and takes the rows as they
// are. Each row's work runs under a savepoint: an error undoes that row's
// writes only.
func claimDue[R any](ctx context.Context, s *Store, query string, at time.Time, limit int, work func(ctx context.Context, r *R) error, tenantOf func(*R) string) (int, error) {
	scope, err := domain.ScopeFrom(ctx)
	if err != nil {
		return 0, err
	}
	if !scope.IsSystem() {
		return 0, fmt.Errorf("%w: claiming due work needs the system scope", domain.ErrForbidden)
	}
	if s.dialect == Postgres {
		query += " FOR UPDATE SKIP LOCKED"
	}
	claimed := 0
	err = s.InTx(ctx, func(ctx context.Context) error {
		tx := ctx.Value(txKey{}).(*txState).tx
		var rows []R
		if err := tx.WithContext(ctx).Raw(query, at.UTC(), limit).Scan(&rows).Error; err != nil {
			return fmt.Errorf("claim due rows: %w", err)
		}
		claimed = len(rows)
		current := ""
		for i := range rows {
			tenant := tenantOf(&rows[i])
			tctx := domain.WithTenant(ctx, tenant)
			tctx = context.WithValue(tctx, txKey{}, &txState{tx: tx, scope: domain.TenantScope(tenant)})
			ttx := tx.WithContext(tctx)
			if tenant != current {
				if err := s.setScope(ttx, domain.TenantScope(tenant)); err != nil {
					return err
				}
				current = tenant
			}
			if err := ttx.SavePoint("servo_claim").Error; err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if werr := work(tctx, &rows[i]); werr != nil {
				if err := ttx.RollbackTo("servo_claim").Error; err != nil {
					return fmt.Errorf("roll back to savepoint: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return claimed, nil
}

// ScheduleAdvance implements domain.ScheduleRepository.
func (s *Store) ScheduleAdvance(ctx context.Context, id uuid.UUID, next, lastTick *time.Time, lastRun *uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		set := map[string]any{"next_tick_at": utcPtr(next), "updated_at": now()}
		if lastTick != nil {
			set["last_tick_at"] = utcPtr(lastTick)
		}
		if lastRun != nil {
			set["last_run_id"] = lastRun
		}
		res := tx.Model(&scheduleRow{}).Where("id = ?", id).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotFound("schedule")
		}
		return nil
	})
}

// ScheduleTickCreate implements domain.ScheduleRepository. A tick already
// recorded for the same schedule and time is ErrConflict.
func (s *Store) ScheduleTickCreate(ctx context.Context, t *domain.ScheduleTick) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := scheduleTickRow{
			ID: newID(), ScheduleID: t.ScheduleID, TickAt: t.TickAt.UTC(), Status: string(t.Status),
			RunID: t.RunID, Reason: t.Reason, CreatedAt: now(),
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*t = row.toDomain()
		return nil
	})
}

// ScheduleTickList implements domain.ScheduleRepository.
func (s *Store) ScheduleTickList(ctx context.Context, scheduleID uuid.UUID, limit int) ([]domain.ScheduleTick, error) {
	var rows []scheduleTickRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("schedule_id = ?", scheduleID).Order("tick_at DESC").Limit(limit).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.ScheduleTick, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// ScheduleTickTrim implements domain.ScheduleRepository, in one statement.
func (s *Store) ScheduleTickTrim(ctx context.Context, scheduleID uuid.UUID, keep int) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Where("schedule_id = ? AND tick_at < (SELECT t.tick_at FROM schedule_ticks t WHERE t.schedule_id = ? ORDER BY t.tick_at DESC LIMIT 1 OFFSET ?)",
			scheduleID, scheduleID, keep-1).Delete(&scheduleTickRow{}).Error
	})
}

var _ domain.ScheduleRepository = (*Store)(nil)
