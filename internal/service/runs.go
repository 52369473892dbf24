package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// CreateRunInput asks for a run of a workflow or of one asset.
type CreateRunInput struct {
	// ID, when set, is the run's id (an OpenLineage runId); otherwise a new
	// UUIDv7 is made. Ids are unique per tenant.
	ID             *uuid.UUID
	WorkflowID     *uuid.UUID
	AssetID        *uuid.UUID
	ParentID       *uuid.UUID
	Trigger        domain.Trigger
	PartitionKey   string
	IdempotencyKey string
}

// CreateRun records a pending run. With an idempotency key, a second call
// with the same key returns the first run (created is false) instead of
// making another.
func (s *Service) CreateRun(ctx context.Context, in CreateRunInput) (run *domain.Run, created bool, err error) {
	e := domain.Run{
		WorkflowID: in.WorkflowID, AssetID: in.AssetID, ParentID: in.ParentID, Trigger: in.Trigger,
		PartitionKey: in.PartitionKey,
	}
	if in.ID != nil {
		if *in.ID == uuid.Nil {
			return nil, false, domain.Invalid("id", "must not be the nil UUID")
		}
		e.ID = *in.ID
	}
	if in.IdempotencyKey != "" {
		key := in.IdempotencyKey
		e.IdempotencyKey = &key
	}
	e.Normalize()
	if err := e.Validate(); err != nil {
		return nil, false, err
	}
	if e.IdempotencyKey != nil {
		if prior, err := s.store.RunGetByIdempotencyKey(ctx, *e.IdempotencyKey); err == nil {
			return prior, false, nil
		} else if !errors.Is(err, domain.ErrNotFound) {
			return nil, false, err
		}
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if e.WorkflowID != nil {
			if _, err := s.store.WorkflowGet(ctx, *e.WorkflowID); err != nil {
				return err
			}
		}
		if e.AssetID != nil {
			a, err := s.store.AssetGet(ctx, *e.AssetID)
			if err != nil {
				return err
			}
			if a.IsGlobal() {
				return forbiddenGlobal("assets")
			}
			if err := s.checkPartitionKey(ctx, a, e.PartitionKey); err != nil {
				return err
			}
		}
		return s.store.RunCreate(ctx, &e)
	})
	if errors.Is(err, domain.ErrConflict) && e.IdempotencyKey != nil {
		// A concurrent request with the same key won the race.
		prior, gerr := s.store.RunGetByIdempotencyKey(ctx, *e.IdempotencyKey)
		if gerr == nil {
			return prior, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return &e, true, nil
}

// GetRun returns one run.
func (s *Service) GetRun(ctx context.Context, id uuid.UUID) (*domain.Run, error) {
	r, err := s.store.RunGet(ctx, id)
	return r, notFound(err, "run", id)
}

// ListRuns returns one page of runs matching f.
func (s *Service) ListRuns(ctx context.Context, f domain.RunFilter, p domain.Page) (domain.List[domain.Run], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Run]{}, err
	}
	if f.State != "" && !f.State.Valid() {
		return domain.List[domain.Run]{}, domain.Invalid("state", "unknown state %q", f.State)
	}
	if f.Status != "" && !f.Status.Valid() {
		return domain.List[domain.Run]{}, domain.Invalid("status", "unknown status %q", f.Status)
	}
	return s.store.RunList(ctx, f, p)
}

// CountRuns counts the runs matching f.
func (s *Service) CountRuns(ctx context.Context, f domain.RunFilter) (int64, error) {
	return s.store.RunCount(ctx, f)
}

// TransitionRun moves a run along the state machine with compare-and-swap
// and appends the move to the run's history, in one transaction: an illegal
// move, or a run no longer in t.From, is ErrConflict and records nothing.
func (s *Service) TransitionRun(ctx context.Context, t domain.Transition) (*domain.Run, error) {
	return s.engine.TransitionRun(ctx, t)
}

// RunSucceeded tells the observers of successful runs that run has
// succeeded, as TransitionRun does, for runs whose transitions were
// written in bulk (OpenLineage batches), in the caller's transaction.
func (s *Service) RunSucceeded(ctx context.Context, run *domain.Run) error {
	return s.engine.RunSucceeded(ctx, run)
}

// CancelRun cancels a run that has not finished, whatever state it is in.
// Cancelling a finished run is ErrConflict.
func (s *Service) CancelRun(ctx context.Context, id uuid.UUID, reason string) (*domain.Run, error) {
	for range 5 {
		cur, err := s.store.RunGet(ctx, id)
		if err != nil {
			return nil, err
		}
		out, err := s.TransitionRun(ctx, domain.Transition{ID: id, From: cur.State, To: domain.StateCancelled, ErrorMessage: reason})
		if err == nil && out.AssetID == nil {
			// A workflow run takes its unfinished steps with it.
			if _, aerr := s.engine.AdvanceWorkflowRun(ctx, id); aerr != nil {
				return nil, aerr
			}
		}
		if err == nil || !errors.Is(err, domain.ErrConflict) {
			return out, err
		}
		if latest, gerr := s.store.RunGet(ctx, id); gerr == nil && latest.State == cur.State {
			return nil, err // illegal from this state, not a race
		}
	}
	return nil, fmt.Errorf("%w: run state kept changing; try again", domain.ErrConflict)
}

// DeleteRun deletes one run.
func (s *Service) DeleteRun(ctx context.Context, id uuid.UUID) error {
	return notFound(s.store.RunDelete(ctx, id), "run", id)
}

// LinkRunParent makes parentID the parent of a run that has none, unless
// the run is parentID or one of its ancestors (a cycle). It reports whether
// the link was made.
func (s *Service) LinkRunParent(ctx context.Context, id, parentID uuid.UUID) (bool, error) {
	if id == parentID {
		return false, nil
	}
	cur := parentID
	for range maxParentDepth {
		p, err := s.store.RunGet(ctx, cur)
		if err != nil {
			return false, err
		}
		if p.ParentID == nil {
			return s.store.RunSetParent(ctx, id, parentID)
		}
		if *p.ParentID == id {
			return false, nil
		}
		cur = *p.ParentID
	}
	return false, nil
}

// maxParentDepth bounds the ancestors LinkRunParent reads.
const maxParentDepth = 32
