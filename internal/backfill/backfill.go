package backfill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/partition"
	"github.com/servo-data/servo/internal/service"
)

// Scheduler makes sure a backfill is advanced in the background until it
// ends: the runtime's periodic job.
type Scheduler interface {
	// ScheduleBackfill enqueues the advancing of a backfill, in the
	// transaction ctx carries; scheduling one already scheduled is a no-op.
	ScheduleBackfill(ctx context.Context, tenantID string, id uuid.UUID) error
}

// Backfills holds the backfill use cases.
type Backfills struct {
	store domain.Store
	svc   *service.Service
	sched Scheduler
	now   func() time.Time
}

// New returns the backfill use cases; sched may be nil (nothing advances
// in the background, as on a server without a runtime).
func New(store domain.Store, svc *service.Service, sched Scheduler) *Backfills {
	return &Backfills{store: store, svc: svc, sched: sched, now: time.Now}
}

// CreateInput asks for a backfill of an asset or a workflow (a name or a
// UUID), over listed keys or a range of keys.
type CreateInput struct {
	Asset            string
	Workflow         string
	PartitionKeys    []string
	RangeStart       string
	RangeEnd         string
	HasRange         bool
	MaxConcurrency   int
	SkipMaterialized bool
	WaitForUpstream  bool
	IdempotencyKey   string
}

// DefaultMaxConcurrency applies when a backfill names none.
const DefaultMaxConcurrency = 4

// Create validates and stores a backfill with its partitions, and
// schedules its advancing in the same transaction. A repeated idempotency
// key returns the first backfill (created false). A backfill overlapping an
// active one on the same target and keys is ErrConflict naming the other.
func (b *Backfills) Create(ctx context.Context, in CreateInput) (*domain.Backfill, bool, error) {
	var v domain.Validator
	v.Check((in.Asset == "") != (in.Workflow == ""), "asset", "give exactly one of asset and workflow")
	v.Check((len(in.PartitionKeys) > 0) != in.HasRange, "partition_keys", "give exactly one of partition_keys and range")
	if in.MaxConcurrency == 0 {
		in.MaxConcurrency = DefaultMaxConcurrency
	}
	v.Check(in.MaxConcurrency >= 1 && in.MaxConcurrency <= domain.MaxBackfillConcurrency, "max_concurrency", "must be 1 to %d", domain.MaxBackfillConcurrency)
	v.Check(len(in.PartitionKeys) <= domain.MaxBackfillPartitions, "partition_keys", "at most %d partitions per backfill", domain.MaxBackfillPartitions)
	if in.HasRange {
		v.Check(in.RangeStart != "", "range.start", "is required")
		v.Check(in.RangeEnd != "", "range.end", "is required")
	}
	if in.IdempotencyKey != "" {
		v.Check(len(in.IdempotencyKey) <= domain.MaxIdempotencyKeyLen && partition.CheckKeyText(in.IdempotencyKey) == nil, "Idempotency-Key", "must be 1 to %d printable characters", domain.MaxIdempotencyKeyLen)
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	if in.IdempotencyKey != "" {
		prior, err := b.store.BackfillGetByIdempotencyKey(ctx, in.IdempotencyKey)
		if err == nil {
			return prior, false, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return nil, false, err
		}
	}
	out := &domain.Backfill{MaxConcurrency: in.MaxConcurrency, SkipMaterialized: in.SkipMaterialized, WaitForUpstream: in.WaitForUpstream}
	if in.IdempotencyKey != "" {
		out.IdempotencyKey = &in.IdempotencyKey
	}
	err := b.store.InTx(ctx, func(ctx context.Context) error {
		def, partitioned, err := b.target(ctx, in, out)
		if err != nil {
			return err
		}
		if !partitioned {
			def = nil
		}
		keys, err := b.keys(in, def)
		if err != nil {
			return err
		}
		other, overlap, err := b.store.BackfillOverlap(ctx, out.AssetID, out.WorkflowID, keys)
		if err != nil {
			return err
		}
		if overlap {
			return &OverlapError{Other: other}
		}
		if err := b.store.BackfillCreate(ctx, out, keys); err != nil {
			return err
		}
		if b.sched != nil {
			return b.sched.ScheduleBackfill(ctx, out.TenantID, out.ID)
		}
		return nil
	})
	if errors.Is(err, domain.ErrConflict) && out.IdempotencyKey != nil {
		if prior, gerr := b.store.BackfillGetByIdempotencyKey(ctx, *out.IdempotencyKey); gerr == nil {
			return prior, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	// Launch the first partitions now rather than at the first poll; a
	// failure here is left to the background job, which retries it.
	if _, err := b.Advance(ctx, out.ID); err == nil {
		if cur, gerr := b.store.BackfillGet(ctx, out.ID); gerr == nil {
			out = cur
		}
	}
	return out, true, nil
}

// OverlapError says an active backfill already covers some of the keys.
// It matches domain.ErrConflict.
type OverlapError struct{ Other uuid.UUID }

// Error implements error.
func (e *OverlapError) Error() string {
	return fmt.Sprintf("an active backfill (%s) already covers some of these partitions", e.Other)
}

// Is reports whether target is domain.ErrConflict.
func (e *OverlapError) Is(target error) bool { return target == domain.ErrConflict }

// target resolves the backfill's asset or workflow into out and returns the
// partition definition its keys follow; partitioned is false when there is
// none and keys are taken as given.
func (b *Backfills) target(ctx context.Context, in CreateInput, out *domain.Backfill) (def *partition.Def, partitioned bool, err error) {
	if in.Asset != "" {
		a, err := b.svc.ResolveAsset(ctx, in.Asset)
		if err != nil {
			return nil, false, err
		}
		if a.IsGlobal() {
			return nil, false, fmt.Errorf("%w: global assets are read-only for tenants", domain.ErrForbidden)
		}
		out.AssetID = &a.ID
		if a.Partitions == nil {
			return nil, false, nil
		}
		def, err := b.svc.PartitionDef(ctx, a)
		return def, err == nil, err
	}
	w, err := b.svc.ResolveWorkflow(ctx, in.Workflow, 0)
	if err != nil {
		return nil, false, err
	}
	out.WorkflowID = &w.ID
	assets, err := b.store.AssetGetMany(ctx, w.AssetIDs)
	if err != nil {
		return nil, false, err
	}
	byID := map[uuid.UUID]*domain.Asset{}
	for i := range assets {
		byID[assets[i].ID] = &assets[i]
	}
	for _, id := range w.AssetIDs {
		if a := byID[id]; a != nil && a.Partitions != nil {
			def, err := b.svc.PartitionDef(ctx, a)
			return def, err == nil, err
		}
	}
	return nil, false, nil
}

// keys returns the backfill's keys in key order, checked against def.
func (b *Backfills) keys(in CreateInput, def *partition.Def) ([]string, error) {
	now := b.now()
	if in.HasRange {
		if def == nil {
			return nil, domain.Invalid("range", "the target is not partitioned: list partition_keys instead")
		}
		keys, err := def.Range(in.RangeStart, in.RangeEnd, domain.MaxBackfillPartitions, now)
		if err != nil {
			return nil, domain.Invalid("range", "%s", err.Error())
		}
		return keys, nil
	}
	seen := make(map[string]bool, len(in.PartitionKeys))
	keys := make([]string, 0, len(in.PartitionKeys))
	for i, k := range in.PartitionKeys {
		if seen[k] {
			return nil, domain.Invalid("partition_keys", "key %q is listed twice", k)
		}
		seen[k] = true
		if def != nil {
			if err := def.Check(k, now); err != nil {
				return nil, domain.Invalid("partition_keys", "key %d: %s", i, err.Error())
			}
		} else if err := partition.CheckKeyText(k); err != nil {
			return nil, domain.Invalid("partition_keys", "key %d: %s", i, err.Error())
		}
		keys = append(keys, k)
	}
	if def != nil {
		// Key order: the definition's order for listed keys.
		ordered := make([]string, 0, len(keys))
		after := ""
		for len(ordered) < len(keys) {
			page, more := def.Keys(after, 5000, now)
			for _, k := range page {
				if seen[k] {
					ordered = append(ordered, k)
				}
			}
			if !more || len(page) == 0 {
				break
			}
			after = page[len(page)-1]
		}
		if len(ordered) == len(keys) {
			return ordered, nil
		}
	}
	return keys, nil
}

// Get returns one backfill with its counts.
func (b *Backfills) Get(ctx context.Context, id uuid.UUID) (*domain.Backfill, error) {
	return b.store.BackfillGet(ctx, id)
}

// List returns one page of backfills, newest first.
func (b *Backfills) List(ctx context.Context, state domain.BackfillState, p domain.Page) (domain.List[domain.Backfill], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Backfill]{}, err
	}
	if state != "" && !state.Valid() {
		return domain.List[domain.Backfill]{}, domain.Invalid("state", "must be one of pending, running, paused, succeeded, failed, cancelled")
	}
	return b.store.BackfillList(ctx, state, p)
}

// Partitions returns up to limit partitions of a backfill after position
// after, in key order.
func (b *Backfills) Partitions(ctx context.Context, id uuid.UUID, after, limit int) ([]domain.BackfillPartition, error) {
	var out []domain.BackfillPartition
	err := b.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := b.store.BackfillGet(ctx, id); err != nil {
			return err
		}
		var err error
		out, err = b.store.BackfillPartitions(ctx, id, nil, after, limit)
		return err
	})
	return out, err
}

// Do applies a person's action to a backfill and returns it afterwards.
// Pause stops new launches (running partitions finish); resume continues;
// cancel cancels the active runs and marks the rest cancelled; retry-failed
// queues the failed partitions again.
func (b *Backfills) Do(ctx context.Context, id uuid.UUID, a Action) (*domain.Backfill, error) {
	err := b.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := b.store.BackfillLock(ctx, id, false)
		if err != nil {
			return err
		}
		to, err := Apply(cur.State, a, cur.Counts.Failed)
		if err != nil {
			return err
		}
		switch a {
		case ActionCancel:
			if err := b.cancelRuns(ctx, id); err != nil {
				return err
			}
			if _, err := b.store.BackfillPartitionsSetState(ctx, id, []domain.PartitionRunState{domain.PartitionPending, domain.PartitionWaitingUpstream, domain.PartitionRunning}, domain.PartitionCancelled); err != nil {
				return err
			}
		case ActionRetryFailed:
			if _, err := b.store.BackfillPartitionsSetState(ctx, id, []domain.PartitionRunState{domain.PartitionFailed}, domain.PartitionPending); err != nil {
				return err
			}
			if cur.State.IsTerminal() && b.sched != nil {
				if err := b.sched.ScheduleBackfill(ctx, cur.TenantID, id); err != nil {
					return err
				}
			}
		}
		if to != cur.State {
			return b.store.BackfillSetState(ctx, id, to)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if a == ActionResume || a == ActionRetryFailed {
		if _, err := b.Advance(ctx, id); err != nil {
			return nil, err
		}
	}
	return b.store.BackfillGet(ctx, id)
}

// cancelRuns cancels the unfinished runs of a backfill's running partitions.
func (b *Backfills) cancelRuns(ctx context.Context, id uuid.UUID) error {
	running, err := b.store.BackfillPartitions(ctx, id, []domain.PartitionRunState{domain.PartitionRunning}, -1, 0)
	if err != nil {
		return err
	}
	for _, p := range running {
		if p.RunID == nil {
			continue
		}
		if _, err := b.svc.CancelRun(ctx, *p.RunID, "the backfill was cancelled"); err != nil && !errors.Is(err, domain.ErrConflict) && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
	}
	return nil
}

// RunBackfill returns the backfill a run belongs to, read from its
// idempotency key, and false for a run no backfill launched.
func RunBackfill(run *domain.Run) (uuid.UUID, bool) {
	if run.Trigger != domain.TriggerBackfill || run.IdempotencyKey == nil {
		return uuid.Nil, false
	}
	rest, ok := strings.CutPrefix(*run.IdempotencyKey, "backfill:")
	if !ok || len(rest) < 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest[:36])
	return id, err == nil
}
