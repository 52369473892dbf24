package domain

import (
	"context"

	"github.com/google/uuid"
)

// LineageBatch is what a chunk of OpenLineage events writes, planned in
// memory: new rows with their ids set, and the changes of runs that
// existed before. It is written in one transaction, set-based.
type LineageBatch struct {
	// Assets are new assets of the scope's tenant.
	Assets []Asset
	// Workflows are new workflow versions, with their assets.
	Workflows []Workflow
	// Runs are new runs, in the state the chunk leaves them in.
	Runs []Run
	// RunUpdates are runs that existed before the chunk and that it moved.
	RunUpdates []RunUpdate
	// RunEvents are the state transitions, for the runs' history.
	RunEvents []RunEvent
	// Dependencies are new asset edges.
	Dependencies []AssetDependency
	// Versions are new dataset versions.
	Versions []AssetVersion
	// ColumnEdges are new column edges.
	ColumnEdges []ColumnEdge
	// Events are the raw events.
	Events []LineageEvent
}

// RunUpdate is a run's new state, set only if the run is still in From
// (compare-and-swap, as a transition).
type RunUpdate struct {
	Run  Run
	From State
}

// LineageBatchRepository reads, one statement per kind, what a chunk of
// OpenLineage events needs to know, and writes what it planned.
type LineageBatchRepository interface {
	// LineageEventsByHash returns the tenant's events with these hashes.
	LineageEventsByHash(ctx context.Context, hashes []string) ([]LineageEvent, error)
	// AssetsOwnByName returns the tenant's own (not global) assets with
	// these names.
	AssetsOwnByName(ctx context.Context, names []string) ([]Asset, error)
	// WorkflowsLatestLocked takes the per-name workflow locks (as
	// WorkflowLockName) and returns the latest version of each name that
	// exists.
	WorkflowsLatestLocked(ctx context.Context, names []string) ([]Workflow, error)
	// RunsByIDOrKey returns the runs with one of these ids or
	// idempotency keys.
	RunsByIDOrKey(ctx context.Context, ids []uuid.UUID, keys []string) ([]Run, error)
	// DependencyReach returns every edge (of any type) that leaves one of
	// the assets or an asset downstream of them, after taking the graph
	// lock (as DependencyLockGraph).
	DependencyReach(ctx context.Context, from []uuid.UUID) ([]AssetDependency, error)
	// AssetVersionsOf returns the versions of these assets, without their
	// fields.
	AssetVersionsOf(ctx context.Context, assetIDs []uuid.UUID) ([]AssetVersion, error)
	// ColumnEdgesInto returns the column edges into these assets.
	ColumnEdgesInto(ctx context.Context, assetIDs []uuid.UUID) ([]ColumnEdge, error)
	// LineageBatchWrite writes b, in the tenant of ctx: a run that is no
	// longer in its RunUpdate's From, or a row that exists already, is
	// ErrConflict.
	LineageBatchWrite(ctx context.Context, b *LineageBatch) error
}
