package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Transactor runs work in one database transaction in the scope carried by
// ctx. Repository calls made with the context handed to fn join that
// transaction; calls made with any other context do not.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// TenantRepository stores tenants. Every method needs the system scope.
type TenantRepository interface {
	TenantCreate(ctx context.Context, t *Tenant) error
	TenantGet(ctx context.Context, id string) (*Tenant, error)
	TenantList(ctx context.Context) ([]Tenant, error)
}

// AssetRepository stores assets of the scope's tenant, plus global rows.
type AssetRepository interface {
	AssetCreate(ctx context.Context, a *Asset) error
	AssetGet(ctx context.Context, id uuid.UUID) (*Asset, error)
	// AssetGetByName prefers the tenant's own asset over a global one of the
	// same name.
	AssetGetByName(ctx context.Context, name string) (*Asset, error)
	AssetGetMany(ctx context.Context, ids []uuid.UUID) ([]Asset, error)
	AssetList(ctx context.Context, f AssetFilter, p Page) (List[Asset], error)
	AssetCount(ctx context.Context, f AssetFilter) (int64, error)
	// AssetUpdate locks the row, lets fn change it and stores the result.
	AssetUpdate(ctx context.Context, id uuid.UUID, fn func(*Asset) error) (*Asset, error)
	AssetDelete(ctx context.Context, id uuid.UUID) error
}

// EdgeQuery selects edges in one query: those leaving any of DownstreamOf
// towards their downstream ends, and those entering any of UpstreamOf from
// their upstream ends, restricted to Types when set.
type EdgeQuery struct {
	DownstreamOf []uuid.UUID
	UpstreamOf   []uuid.UUID
	Types        []DependencyType
}

// DependencyRepository stores the edges of the scope's tenant.
type DependencyRepository interface {
	// DependencyLockGraph serialises graph changes of the scope's tenant for
	// the rest of the transaction.
	DependencyLockGraph(ctx context.Context) error
	// DependencyPathExists reports whether a directed path leads from one
	// asset to another through any edges.
	DependencyPathExists(ctx context.Context, from, to uuid.UUID) (bool, error)
	DependencyCreate(ctx context.Context, d *AssetDependency) error
	DependencyGet(ctx context.Context, id uuid.UUID) (*AssetDependency, error)
	// DependencyListForAsset returns the edges entering the asset (Upstream),
	// leaving it (Downstream) or both, oldest first.
	DependencyListForAsset(ctx context.Context, assetID uuid.UUID, dir Direction) ([]AssetDependency, error)
	// DependencyEdges returns the edges selected by q in one query.
	DependencyEdges(ctx context.Context, q EdgeQuery) ([]AssetDependency, error)
	DependencyDelete(ctx context.Context, id uuid.UUID) error
	// DependencyDeleteForAsset removes every edge touching the asset and
	// reports how many went.
	DependencyDeleteForAsset(ctx context.Context, assetID uuid.UUID) (int64, error)
}

// LineageRepository reads what the service's lineage walk needs, each call
// in one round trip whatever the number of ids: one level's edges for a
// whole frontier, then the rows of the nodes reached. The walk itself
// (frontier, visited set, depth, cap) is the service's.
type LineageRepository interface {
	// LineageEdges appends to dst the scope tenant's edges that leave any
	// of q.DownstreamOf or enter any of q.UpstreamOf, of q.Types when set,
	// each once and in no order. Edges are tenant rows: the system scope
	// has none.
	LineageEdges(ctx context.Context, q EdgeQuery, dst []AssetDependency) ([]AssetDependency, error)
	// LineageAssets appends to dst the rows of those of ids the scope can
	// see, in no order; the others are skipped.
	LineageAssets(ctx context.Context, ids []uuid.UUID, dst []Asset) ([]Asset, error)
}

// WorkflowRepository stores workflow versions of the scope's tenant.
type WorkflowRepository interface {
	// WorkflowLockName serialises version creation of one workflow name in
	// the scope's tenant for the rest of the transaction.
	WorkflowLockName(ctx context.Context, name string) error
	WorkflowCreate(ctx context.Context, w *Workflow) error
	WorkflowGet(ctx context.Context, id uuid.UUID) (*Workflow, error)
	// WorkflowGetByName returns the given version, or the latest when
	// version is 0.
	WorkflowGetByName(ctx context.Context, name string, version int) (*Workflow, error)
	// WorkflowIDsByName returns the ids of every version of name.
	WorkflowIDsByName(ctx context.Context, name string) ([]uuid.UUID, error)
	// WorkflowRefs names the given versions; missing ids are skipped.
	WorkflowRefs(ctx context.Context, ids []uuid.UUID) ([]WorkflowRef, error)
	// WorkflowLatestVersion returns the highest version of name, or 0.
	WorkflowLatestVersion(ctx context.Context, name string) (int, error)
	// WorkflowList lists the latest version of every workflow.
	WorkflowList(ctx context.Context, p Page) (List[Workflow], error)
	// WorkflowListVersions lists every version of one workflow, newest first.
	WorkflowListVersions(ctx context.Context, name string, p Page) (List[Workflow], error)
	WorkflowUpdate(ctx context.Context, id uuid.UUID, fn func(*Workflow) error) (*Workflow, error)
	WorkflowDelete(ctx context.Context, id uuid.UUID) error
}

// RunRepository stores runs of the scope's tenant.
type RunRepository interface {
	RunCreate(ctx context.Context, e *Run) error
	RunGet(ctx context.Context, id uuid.UUID) (*Run, error)
	RunGetByIdempotencyKey(ctx context.Context, key string) (*Run, error)
	RunList(ctx context.Context, f RunFilter, p Page) (List[Run], error)
	RunCount(ctx context.Context, f RunFilter) (int64, error)
	// RunTransition moves a run from t.From to t.To only if it is still
	// in t.From (compare-and-swap). A run in another state is ErrConflict.
	RunTransition(ctx context.Context, t Transition) (*Run, error)
	RunDelete(ctx context.Context, id uuid.UUID) error
	// RunLock reads a run and locks it for the rest of the transaction.
	RunLock(ctx context.Context, id uuid.UUID) (*Run, error)
	// RunChildren lists the steps of a workflow run, oldest first.
	RunChildren(ctx context.Context, parentID uuid.UUID) ([]Run, error)
	// RunSetParent links a run without a parent to parentID; a run
	// that has one is left as it is (false).
	RunSetParent(ctx context.Context, id, parentID uuid.UUID) (bool, error)
	// RunCountRunning counts the tenant's running materializations
	// and steps (runs with an asset).
	RunCountRunning(ctx context.Context) (int64, error)
	// RunOldestQueued returns the ids of the tenant's n oldest queued
	// materializations and steps.
	RunOldestQueued(ctx context.Context, n int) ([]uuid.UUID, error)
	// RunQueuedHeads returns the tenant's n oldest queued
	// materializations and steps, each marked when it runs nothing.
	RunQueuedHeads(ctx context.Context, n int) ([]RunHead, error)
	// RunTransitionMany moves the runs ids that are in t.From to t.To in
	// one compare-and-swap and returns those it moved.
	RunTransitionMany(ctx context.Context, ids []uuid.UUID, t Transition) ([]Run, error)
	// RunCountStartedSince counts runs with an asset started after t.
	RunCountStartedSince(ctx context.Context, t time.Time) (int64, error)
	// RunWorkflowSlots counts the running workflow runs of any of the
	// given workflow versions and returns the ids of the n oldest queued ones.
	RunWorkflowSlots(ctx context.Context, workflowIDs []uuid.UUID, n int) (running int64, oldestQueued []uuid.UUID, err error)
	// RunLockTenantSlots serialises slot accounting of the scope's
	// tenant for the rest of the transaction.
	RunLockTenantSlots(ctx context.Context) error
}

// RunHistoryRepository keeps each run's transitions and output.
type RunHistoryRepository interface {
	RunEventCreate(ctx context.Context, e *RunEvent) error
	// RunEventCreateMany appends several transitions in one write.
	RunEventCreateMany(ctx context.Context, es []RunEvent) error
	RunEventList(ctx context.Context, runID uuid.UUID) ([]RunEvent, error)
	// RunLogPut replaces the kept output of a run.
	RunLogPut(ctx context.Context, l *RunLog) error
	// RunLogPutMany replaces the kept output of several runs.
	RunLogPutMany(ctx context.Context, ls []RunLog) error
	RunLogGet(ctx context.Context, runID uuid.UUID) (*RunLog, error)
}

// SettingRepository keeps server settings in the system scope.
type SettingRepository interface {
	// SettingGetOrCreate stores value under name unless one is there, and
	// returns the stored value.
	SettingGetOrCreate(ctx context.Context, name, value string) (string, error)
}

// RunLeaseRepository keeps the leases of running attempts.
type RunLeaseRepository interface {
	// RunLeaseTake records that worker runs the attempt, replacing an older
	// lease of the run.
	RunLeaseTake(ctx context.Context, l *RunLease) error
	// RunLeaseGet returns a run's lease.
	RunLeaseGet(ctx context.Context, runID uuid.UUID) (*RunLease, error)
	// RunLeaseDelete removes a run's lease, if any.
	RunLeaseDelete(ctx context.Context, runID uuid.UUID) error
	// RunLeaseDeleteAttempt removes a run's lease if it is the lease of
	// that attempt, and leaves the lease of a later attempt alone.
	RunLeaseDeleteAttempt(ctx context.Context, runID uuid.UUID, attempt int) error
	// RunLeaseRenew sets to at the heartbeat of worker's leases of the given
	// runs, across tenants (system scope).
	RunLeaseRenew(ctx context.Context, worker string, runIDs []uuid.UUID, at time.Time) (int64, error)
	// RunLeaseListStale returns up to limit leases, of any tenant, last
	// renewed before the given time (system scope).
	RunLeaseListStale(ctx context.Context, before time.Time, limit int) ([]RunLease, error)
}

// Store is everything the service layer needs from storage.
type Store interface {
	Transactor
	TenantRepository
	AssetRepository
	DependencyRepository
	LineageRepository
	WorkflowRepository
	RunRepository
	APIKeyRepository
	RunHistoryRepository
	SettingRepository
	ColumnRepository
	CheckRepository
	BackfillRepository
	RunLeaseRepository
}
