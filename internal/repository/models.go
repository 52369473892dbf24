package repository

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// stringList is a list of strings stored as a JSON array (jsonb on
// PostgreSQL, text on SQLite).
type stringList []string

// Value implements driver.Valuer.
func (l stringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (l *stringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = stringList{}
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("stringList: cannot scan %T", src)
	}
	if len(b) == 2 && b[0] == '[' && b[1] == ']' {
		*l = stringList{}
		return nil
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("stringList: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	*l = out
	return nil
}

// jsonObject stores an optional value as JSON (jsonb on PostgreSQL, text on
// SQLite); nil is NULL.
type jsonObject[T any] struct{ V *T }

// Value implements driver.Valuer.
func (j jsonObject[T]) Value() (driver.Value, error) {
	if j.V == nil {
		return nil, nil
	}
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (j *jsonObject[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		j.V = nil
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("jsonObject: cannot scan %T", src)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("jsonObject: %w", err)
	}
	j.V = &out
	return nil
}

type tenantRow struct {
	ID        string `gorm:"primaryKey"`
	Name      string
	CreatedAt time.Time
}

func (tenantRow) TableName() string { return "tenants" }
func (tenantRow) systemTable()      {}

func (r *tenantRow) toDomain() domain.Tenant {
	return domain.Tenant{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt}
}

type assetRow struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	TenantID    *string   `gorm:"<-:create"`
	Name        string
	Description string
	AssetType   string
	Owner       string
	Tags        stringList
	Compute     jsonObject[domain.ComputeSpec]
	Partitions  jsonObject[domain.PartitionsDef]
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (assetRow) TableName() string { return "assets" }
func (assetRow) allowsGlobalRows() {}

func assetRowFrom(a *domain.Asset) assetRow {
	return assetRow{
		ID: a.ID, TenantID: a.TenantID, Name: a.Name, Description: a.Description,
		AssetType: a.AssetType, Owner: a.Owner, Tags: stringList(a.Tags),
		Compute:    jsonObject[domain.ComputeSpec]{V: a.Compute},
		Partitions: jsonObject[domain.PartitionsDef]{V: a.Partitions},
		CreatedAt:  a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

func (r *assetRow) toDomain() domain.Asset {
	tags := []string(r.Tags)
	if tags == nil {
		tags = []string{}
	}
	return domain.Asset{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, Description: r.Description,
		AssetType: r.AssetType, Owner: r.Owner, Tags: tags, Compute: r.Compute.V, Partitions: r.Partitions.V,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type dependencyRow struct {
	ID                uuid.UUID `gorm:"primaryKey"`
	TenantID          string    `gorm:"<-:create"`
	UpstreamAssetID   uuid.UUID
	DownstreamAssetID uuid.UUID
	DependencyType    string
	PartitionMapping  jsonObject[domain.PartitionMapping]
	CreatedAt         time.Time
}

func (dependencyRow) TableName() string { return "asset_dependencies" }

func (r *dependencyRow) toDomain() domain.AssetDependency {
	return domain.AssetDependency{
		ID: r.ID, TenantID: r.TenantID, UpstreamAssetID: r.UpstreamAssetID,
		DownstreamAssetID: r.DownstreamAssetID, DependencyType: domain.DependencyType(r.DependencyType),
		PartitionMapping: r.PartitionMapping.V, CreatedAt: r.CreatedAt.UTC(),
	}
}

type workflowRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	TenantID      string    `gorm:"<-:create"`
	Name          string
	Version       int
	Description   string
	Owner         string
	Tags          stringList
	Retry         jsonObject[domain.RetryPolicy]
	MaxActiveRuns int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (workflowRow) TableName() string { return "workflows" }

func (r *workflowRow) toDomain(assets []uuid.UUID) domain.Workflow {
	tags := []string(r.Tags)
	if tags == nil {
		tags = []string{}
	}
	if assets == nil {
		assets = []uuid.UUID{}
	}
	return domain.Workflow{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, Version: r.Version,
		Description: r.Description, Owner: r.Owner, Tags: tags, AssetIDs: assets, Retry: r.Retry.V, MaxActiveRuns: r.MaxActiveRuns,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type workflowAssetRow struct {
	TenantID   string    `gorm:"<-:create"`
	WorkflowID uuid.UUID `gorm:"primaryKey"`
	Position   int       `gorm:"primaryKey;autoIncrement:false"`
	AssetID    uuid.UUID
}

func (workflowAssetRow) TableName() string { return "workflow_assets" }

type runRow struct {
	ID             uuid.UUID `gorm:"primaryKey"`
	TenantID       string    `gorm:"<-:create"`
	WorkflowID     *uuid.UUID
	AssetID        *uuid.UUID
	ParentID       *uuid.UUID
	State          string
	Trigger        string
	PartitionKey   string
	Attempt        int
	IdempotencyKey *string
	StartedAt      *time.Time
	CompletedAt    *time.Time
	ErrorMessage   string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (runRow) TableName() string { return "executions" }

func runRowFrom(e *domain.Run) runRow {
	return runRow{
		ID: e.ID, TenantID: e.TenantID, WorkflowID: e.WorkflowID, AssetID: e.AssetID, ParentID: e.ParentID,
		State: string(e.State), Trigger: string(e.Trigger), PartitionKey: e.PartitionKey,
		Attempt: e.Attempt, IdempotencyKey: e.IdempotencyKey, StartedAt: e.StartedAt,
		CompletedAt: e.CompletedAt, ErrorMessage: e.ErrorMessage,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r *runRow) toDomain() domain.Run {
	return domain.Run{
		ID: r.ID, TenantID: r.TenantID, WorkflowID: r.WorkflowID, AssetID: r.AssetID, ParentID: r.ParentID,
		State: domain.State(r.State), Trigger: domain.Trigger(r.Trigger), PartitionKey: r.PartitionKey,
		Attempt: r.Attempt, IdempotencyKey: r.IdempotencyKey, StartedAt: utcPtr(r.StartedAt),
		CompletedAt: utcPtr(r.CompletedAt), ErrorMessage: r.ErrorMessage,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// newID returns a time-ordered UUID (version 7), which keeps primary-key
// indexes append-mostly.
func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

type runEventRow struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	TenantID  string    `gorm:"<-:create"`
	RunID     uuid.UUID `gorm:"column:execution_id"`
	FromState string
	ToState   string
	At        time.Time
	Attempt   int
	Reason    string
}

func (runEventRow) TableName() string { return "run_events" }

type runLogRow struct {
	RunID     uuid.UUID `gorm:"column:execution_id;primaryKey"`
	TenantID  string    `gorm:"<-:create"`
	Content   string
	Truncated bool
	UpdatedAt time.Time
}

func (runLogRow) TableName() string { return "run_logs" }

type runLeaseRow struct {
	RunID       uuid.UUID `gorm:"column:execution_id;primaryKey"`
	TenantID    string    `gorm:"<-:create"`
	Attempt     int
	WorkerID    string
	HeartbeatAt time.Time
}

func (runLeaseRow) TableName() string { return "run_leases" }
