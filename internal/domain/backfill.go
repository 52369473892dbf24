package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// BackfillState is where a backfill is in its life: pending -> running <->
// paused -> succeeded | failed | cancelled.
type BackfillState string

// Backfill states.
const (
	BackfillPending   BackfillState = "pending"
	BackfillRunning   BackfillState = "running"
	BackfillPaused    BackfillState = "paused"
	BackfillSucceeded BackfillState = "succeeded"
	BackfillFailed    BackfillState = "failed"
	BackfillCancelled BackfillState = "cancelled"
)

// Valid reports whether s is a known backfill state.
func (s BackfillState) Valid() bool {
	switch s {
	case BackfillPending, BackfillRunning, BackfillPaused, BackfillSucceeded, BackfillFailed, BackfillCancelled:
		return true
	}
	return false
}

// IsTerminal reports whether the backfill is over.
func (s BackfillState) IsTerminal() bool {
	return s == BackfillSucceeded || s == BackfillFailed || s == BackfillCancelled
}

// PartitionRunState is where one partition of a backfill is.
type PartitionRunState string

// Backfill partition states.
const (
	PartitionPending         PartitionRunState = "pending"
	PartitionWaitingUpstream PartitionRunState = "waiting_upstream"
	PartitionRunning         PartitionRunState = "running"
	PartitionSucceeded       PartitionRunState = "succeeded"
	PartitionFailed          PartitionRunState = "failed"
	PartitionCancelled       PartitionRunState = "cancelled"
	PartitionSkipped         PartitionRunState = "skipped"
)

// Backfill limits.
const (
	MaxBackfillPartitions  = 10000
	MaxBackfillConcurrency = 100
)

// Backfill runs a set of partitions of one asset or workflow, a few at a
// time, each as an ordinary run.
type Backfill struct {
	ID               uuid.UUID
	TenantID         string
	AssetID          *uuid.UUID
	WorkflowID       *uuid.UUID
	State            BackfillState
	MaxConcurrency   int
	SkipMaterialized bool
	WaitForUpstream  bool
	Total            int
	IdempotencyKey   *string
	Counts           BackfillCounts
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CompletedAt      *time.Time
}

// BackfillCounts counts a backfill's partitions by state.
type BackfillCounts struct {
	Pending         int
	WaitingUpstream int
	Running         int
	Succeeded       int
	Failed          int
	Cancelled       int
	Skipped         int
}

// Add counts n partitions in state s.
func (c *BackfillCounts) Add(s PartitionRunState, n int) {
	switch s {
	case PartitionPending:
		c.Pending += n
	case PartitionWaitingUpstream:
		c.WaitingUpstream += n
	case PartitionRunning:
		c.Running += n
	case PartitionSucceeded:
		c.Succeeded += n
	case PartitionFailed:
		c.Failed += n
	case PartitionCancelled:
		c.Cancelled += n
	case PartitionSkipped:
		c.Skipped += n
	}
}

// BackfillPartition is one partition of a backfill and its run.
type BackfillPartition struct {
	BackfillID   uuid.UUID
	Position     int
	PartitionKey string
	State        PartitionRunState
	RunID        *uuid.UUID
	StartedAt    *time.Time
	CompletedAt  *time.Time
}

// PartitionRun is the latest run of one partition key of an asset, with
// when the key last materialized successfully.
type PartitionRun struct {
	PartitionKey       string
	RunID              uuid.UUID
	State              State
	LastMaterializedAt *time.Time
}

// BackfillRepository stores backfills and their partitions.
type BackfillRepository interface {
	// BackfillCreate stores b and one pending partition per key, in order.
	BackfillCreate(ctx context.Context, b *Backfill, keys []string) error
	BackfillGet(ctx context.Context, id uuid.UUID) (*Backfill, error)
	BackfillGetByIdempotencyKey(ctx context.Context, key string) (*Backfill, error)
	BackfillList(ctx context.Context, state BackfillState, p Page) (List[Backfill], error)
	// BackfillLock locks the backfill for the rest of the transaction; with
	// skipLocked, a backfill another transaction holds is ErrConflict at once.
	BackfillLock(ctx context.Context, id uuid.UUID, skipLocked bool) (*Backfill, error)
	BackfillSetState(ctx context.Context, id uuid.UUID, state BackfillState) error
	// BackfillPartitions lists partitions after position after, in order,
	// restricted to states when any are given.
	BackfillPartitions(ctx context.Context, id uuid.UUID, states []PartitionRunState, after, limit int) ([]BackfillPartition, error)
	BackfillPartitionUpdate(ctx context.Context, p *BackfillPartition) error
	// BackfillPartitionsSetState moves every partition in one of from to
	// state to and reports how many moved.
	BackfillPartitionsSetState(ctx context.Context, id uuid.UUID, from []PartitionRunState, to PartitionRunState) (int64, error)
	// BackfillOverlap returns an active backfill of the same asset or
	// workflow holding any of keys.
	BackfillOverlap(ctx context.Context, assetID, workflowID *uuid.UUID, keys []string) (uuid.UUID, bool, error)
	// PartitionLatestRuns returns the latest run of each of keys of the
	// asset in one statement (all keys with a run when keys is nil).
	PartitionLatestRuns(ctx context.Context, assetID uuid.UUID, keys []string) ([]PartitionRun, error)
	PartitionKeyAdd(ctx context.Context, assetID uuid.UUID, keys []string) error
	PartitionKeyDelete(ctx context.Context, assetID uuid.UUID, key string) error
	PartitionKeyList(ctx context.Context, assetID uuid.UUID) ([]string, error)
	// RunGetMany returns the visible runs among ids.
	RunGetMany(ctx context.Context, ids []uuid.UUID) ([]Run, error)
}
