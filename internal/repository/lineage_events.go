package repository

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// rawJSON is a JSON document stored as is (jsonb on PostgreSQL, text on
// SQLite).
type rawJSON json.RawMessage

// Value implements driver.Valuer.
func (j rawJSON) Value() (driver.Value, error) {
	if len(j) == 0 {
		return nil, errors.New("rawJSON: empty document")
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *rawJSON) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		*j = append(rawJSON(nil), v...)
	case string:
		*j = rawJSON(v)
	default:
		return fmt.Errorf("rawJSON: cannot scan %T", src)
	}
	return nil
}

type lineageEventRow struct {
	ID         uuid.UUID  `gorm:"primaryKey"`
	TenantID   string     `gorm:"<-:create"`
	RunID      *uuid.UUID `gorm:"column:execution_id"`
	EventKind  string
	EventType  string
	EventTime  time.Time
	EventHash  string
	Event      rawJSON
	Warnings   stringList
	ReceivedAt time.Time
}

func (lineageEventRow) TableName() string { return "lineage_events" }

func (r *lineageEventRow) toDomain() domain.LineageEvent {
	warnings := []string(r.Warnings)
	if warnings == nil {
		warnings = []string{}
	}
	return domain.LineageEvent{
		ID: r.ID, TenantID: r.TenantID, RunID: r.RunID, Kind: r.EventKind,
		EventType: r.EventType, EventTime: r.EventTime.UTC(), Hash: r.EventHash,
		Body: json.RawMessage(r.Event), Warnings: warnings, ReceivedAt: r.ReceivedAt.UTC(),
	}
}

// LineageEventCreate implements domain.LineageEventRepository. The tenant is
// stamped from the scope; a hash the tenant already holds is ErrConflict.
func (s *Store) LineageEventCreate(ctx context.Context, e *domain.LineageEvent) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := lineageEventRow{
			ID: newID(), RunID: e.RunID, EventKind: e.Kind, EventType: e.EventType,
			EventTime: e.EventTime.UTC().Truncate(time.Microsecond), EventHash: e.Hash,
			Event: rawJSON(e.Body), Warnings: stringList(e.Warnings), ReceivedAt: now(),
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*e = row.toDomain()
		return nil
	})
}

// LineageEventGetByHash implements domain.LineageEventRepository.
func (s *Store) LineageEventGetByHash(ctx context.Context, hash string) (*domain.LineageEvent, error) {
	var row lineageEventRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("event_hash = ?", hash).Take(&row).Error, "lineage event")
	})
	if err != nil {
		return nil, err
	}
	e := row.toDomain()
	return &e, nil
}

// LineageEventListForRun implements domain.LineageEventRepository.
func (s *Store) LineageEventListForRun(ctx context.Context, executionID uuid.UUID, p domain.Page) ([]domain.LineageEvent, error) {
	var rows []lineageEventRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("execution_id = ?", executionID).
			Order("event_time").Order("id").
			Limit(p.Limit).Offset(p.Offset).
			Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.LineageEvent, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// LineageEventLatestTime implements domain.LineageEventRepository.
func (s *Store) LineageEventLatestTime(ctx context.Context, executionID uuid.UUID, eventType string) (time.Time, bool, error) {
	var rows []lineageEventRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Select("id", "event_time").
			Where("execution_id = ? AND event_type = ?", executionID, eventType).
			Order("event_time DESC").Limit(1).
			Find(&rows).Error
	})
	if err != nil || len(rows) == 0 {
		return time.Time{}, false, err
	}
	return rows[0].EventTime.UTC(), true, nil
}

// LineageEventDeleteReceivedBefore implements domain.LineageEventRepository.
func (s *Store) LineageEventDeleteReceivedBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Where("received_at < ?", t.UTC()).Delete(&lineageEventRow{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

var _ domain.LineageEventRepository = (*Store)(nil)
