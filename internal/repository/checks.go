package repository

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

var _ domain.CheckRepository = (*Store)(nil)

// optionalJSON is a JSON value stored as is, or NULL when empty.
type optionalJSON json.RawMessage

// Value implements driver.Valuer.
func (j optionalJSON) Value() (driver.Value, error) {
	if len(j) == 0 {
		return nil, nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *optionalJSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append(optionalJSON(nil), v...)
	case string:
		*j = optionalJSON(v)
	default:
		return fmt.Errorf("optionalJSON: cannot scan %T", src)
	}
	return nil
}

type checkRow struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	TenantID    string    `gorm:"<-:create"`
	AssetID     uuid.UUID
	Name        string
	Description string
	CheckType   rawJSON
	Severity    string
	Blocking    bool
	Enabled     bool
	Tags        stringList
	Owner       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (checkRow) TableName() string { return "checks" }

func (r checkRow) pageKey() domain.Cursor { return domain.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} }

func (r *checkRow) toDomain() domain.Check {
	tags := []string(r.Tags)
	if tags == nil {
		tags = []string{}
	}
	var kind struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(r.CheckType, &kind)
	return domain.Check{
		ID: r.ID, TenantID: r.TenantID, AssetID: r.AssetID, Name: r.Name, Description: r.Description,
		Type:     domain.CheckType{Kind: kind.Type, Raw: json.RawMessage(r.CheckType)},
		Severity: domain.Severity(r.Severity), Blocking: r.Blocking, Enabled: r.Enabled,
		Tags: tags, Owner: r.Owner, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type checkResultRow struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	TenantID    string    `gorm:"<-:create"`
	RunID       uuid.UUID `gorm:"column:execution_id"`
	Attempt     int
	CheckID     *uuid.UUID
	CheckName   string
	Outcome     string
	Severity    string
	Blocking    bool
	Blocked     bool
	RowsChecked *int64
	RowsFailed  *int64
	Message     string
	Details     optionalJSON
	DurationMS  *int64 `gorm:"column:duration_ms"`
	Source      string
	ExecutedAt  time.Time
	CreatedAt   time.Time
}

func (checkResultRow) TableName() string { return "check_results" }

func (r *checkResultRow) toDomain() domain.CheckResult {
	return domain.CheckResult{
		ID: r.ID, TenantID: r.TenantID, RunID: r.RunID, Attempt: r.Attempt, CheckID: r.CheckID,
		Name: r.CheckName, Outcome: domain.CheckOutcome(r.Outcome), Severity: domain.Severity(r.Severity),
		Blocking: r.Blocking, Blocked: r.Blocked, RowsChecked: r.RowsChecked, RowsFailed: r.RowsFailed,
		Message: r.Message, Details: json.RawMessage(r.Details), DurationMS: r.DurationMS,
		ExecutedAt: r.ExecutedAt.UTC(), Source: domain.CheckResultSource(r.Source), CreatedAt: r.CreatedAt.UTC(),
	}
}

// CheckCreate implements domain.CheckRepository. An asset the tenant does
// not own is ErrNotFound (the composite foreign key); a name the asset
// already has is ErrConflict.
func (s *Store) CheckCreate(ctx context.Context, c *domain.Check) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		ts := now()
		row := checkRow{
			ID: newID(), AssetID: c.AssetID, Name: c.Name, Description: c.Description,
			CheckType: rawJSON(c.Type.Raw), Severity: string(c.Severity), Blocking: c.Blocking, Enabled: c.Enabled,
			Tags: stringList(c.Tags), Owner: c.Owner, CreatedAt: ts, UpdatedAt: ts,
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		name := c.AssetName
		*c = row.toDomain()
		c.AssetName = name
		return nil
	})
}

// CheckGet implements domain.CheckRepository.
func (s *Store) CheckGet(ctx context.Context, id uuid.UUID) (*domain.Check, error) {
	var row checkRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("id = ?", id).Take(&row).Error, "check")
	})
	if err != nil {
		return nil, err
	}
	c := row.toDomain()
	return &c, nil
}

func checkFilter(q *gorm.DB, f domain.CheckFilter) *gorm.DB {
	if f.AssetID != nil {
		q = q.Where("asset_id = ?", *f.AssetID)
	}
	if f.EnabledOnly {
		q = q.Where("enabled = ?", true)
	}
	if f.Severity != "" {
		q = q.Where("severity = ?", string(f.Severity))
	}
	return q
}

// CheckList implements domain.CheckRepository.
func (s *Store) CheckList(ctx context.Context, f domain.CheckFilter, p domain.Page) (domain.List[domain.Check], error) {
	var rows []checkRow
	var total listTotal
	var next *domain.Cursor
	err := s.read(ctx, func(tx *gorm.DB) error {
		var err error
		total, next, err = page(s, checkFilter(tx.Model(&checkRow{}), f), listKey("checks", f), p, &rows)
		return err
	})
	if err != nil {
		return domain.List[domain.Check]{}, err
	}
	items := make([]domain.Check, len(rows))
	for i := range rows {
		items[i] = rows[i].toDomain()
	}
	return domain.List[domain.Check]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset, NextCursor: next}, nil
}

// CheckListForAsset implements domain.CheckRepository.
func (s *Store) CheckListForAsset(ctx context.Context, assetID uuid.UUID) ([]domain.Check, error) {
	var rows []checkRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("asset_id = ?", assetID).Order("name").Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.Check, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// CheckUpdate implements domain.CheckRepository.
func (s *Store) CheckUpdate(ctx context.Context, id uuid.UUID, fn func(*domain.Check) error) (*domain.Check, error) {
	return updateByID[checkRow](s, ctx, id, "check", fn, func(c *domain.Check) map[string]any {
		return map[string]any{
			"asset_id":    c.AssetID,
			"name":        c.Name,
			"description": c.Description,
			"check_type":  rawJSON(c.Type.Raw),
			"severity":    string(c.Severity),
			"blocking":    c.Blocking,
			"enabled":     c.Enabled,
			"tags":        stringList(c.Tags),
			"owner":       c.Owner,
			"updated_at":  now(),
		}
	})
}

// CheckDelete implements domain.CheckRepository. Its results stay, with no
// check id.
func (s *Store) CheckDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[checkRow](tx, id, "check") })
}

// CheckResultCreate implements domain.CheckRepository. A run or check the
// tenant does not own is ErrNotFound.
func (s *Store) CheckResultCreate(ctx context.Context, r *domain.CheckResult) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := checkResultRow{
			ID: newID(), RunID: r.RunID, Attempt: r.Attempt, CheckID: r.CheckID, CheckName: r.Name,
			Outcome: string(r.Outcome), Severity: string(r.Severity), Blocking: r.Blocking, Blocked: r.Blocked,
			RowsChecked: r.RowsChecked, RowsFailed: r.RowsFailed, Message: r.Message, Details: optionalJSON(r.Details),
			DurationMS: r.DurationMS, Source: string(r.Source), ExecutedAt: r.ExecutedAt.UTC(), CreatedAt: now(),
		}
		if row.ExecutedAt.IsZero() {
			row.ExecutedAt = row.CreatedAt
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*r = row.toDomain()
		return nil
	})
}

// CheckResultList implements domain.CheckRepository.
func (s *Store) CheckResultList(ctx context.Context, f domain.CheckResultFilter) ([]domain.CheckResult, error) {
	if f.RunIDs != nil && len(f.RunIDs) == 0 {
		return []domain.CheckResult{}, nil
	}
	var rows []checkResultRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&checkResultRow{})
		if f.RunIDs != nil {
			q = q.Where(s.idsIn("execution_id", f.RunIDs))
		}
		if f.CheckID != nil {
			q = q.Where("check_id = ?", *f.CheckID)
		}
		if f.Limit > 0 {
			q = q.Limit(f.Limit)
		}
		return q.Order("executed_at DESC").Order("id DESC").Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.CheckResult, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// CheckResultMarkBlocked implements domain.CheckRepository.
func (s *Store) CheckResultMarkBlocked(ctx context.Context, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Model(&checkResultRow{}).Where(s.idsIn("id", ids)).Update("blocked", true).Error
	})
}

// CheckLatest implements domain.CheckRepository: for each check of the
// assets, its newest result, found by one index probe per check (the
// correlated subquery on (tenant_id, check_id, executed_at DESC)) rather
// than by reading a check's whole history.
func (s *Store) CheckLatest(ctx context.Context, assetIDs []uuid.UUID) ([]domain.CheckStatus, error) {
	out := []domain.CheckStatus{}
	if len(assetIDs) == 0 {
		return out, nil
	}
	var heads []struct {
		ID       uuid.UUID
		AssetID  uuid.UUID
		LatestID *uuid.UUID
	}
	var results []checkResultRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		err := tx.Model(&checkRow{}).
			Select("checks.id, checks.asset_id, (SELECT r.id FROM check_results r WHERE r.tenant_id = checks.tenant_id AND r.check_id = checks.id " +
				"ORDER BY r.executed_at DESC, r.id DESC LIMIT 1) AS latest_id").
			Where(s.idsIn("checks.asset_id", assetIDs)).Scan(&heads).Error
		if err != nil {
			return err
		}
		var ids []uuid.UUID
		for _, h := range heads {
			if h.LatestID != nil {
				ids = append(ids, *h.LatestID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		return tx.Select("id", "check_id", "outcome", "executed_at").Where(s.idsIn("id", ids)).Find(&results).Error
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]checkResultRow, len(results))
	for _, r := range results {
		byID[r.ID] = r
	}
	for _, h := range heads {
		if h.LatestID == nil {
			continue
		}
		r, ok := byID[*h.LatestID]
		if !ok {
			continue
		}
		out = append(out, domain.CheckStatus{CheckID: h.ID, AssetID: h.AssetID, Outcome: domain.CheckOutcome(r.Outcome), ExecutedAt: r.ExecutedAt.UTC()})
	}
	return out, nil
}
