package service

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// TriggerRun records a run and, when the service has a dispatcher, queues it
// in the same transaction: the run is queued and its job exists, or
// neither. A repeated idempotency key returns the first run untouched.
func (s *Service) TriggerRun(ctx context.Context, in CreateRunInput) (*domain.Run, bool, error) {
	if in.Trigger == domain.TriggerOpenLineage {
		return nil, false, domain.Invalid("trigger", "openlineage marks runs recorded from OpenLineage events; send those to the lineage routes")
	}
	if in.ID != nil {
		return nil, false, domain.Invalid("id", "a run Servo starts gets an id of its own")
	}
	var run *domain.Run
	var created bool
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		run, created, err = s.CreateRun(ctx, in)
		if err != nil || !created || s.dispatcher == nil {
			return err
		}
		run, err = s.engine.Queue(ctx, run, "triggered")
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return run, created, nil
}

// RunLog returns a run's kept output; a run without output has an empty
// log.
func (s *Service) RunLog(ctx context.Context, id uuid.UUID) (*domain.RunLog, error) {
	var out *domain.RunLog
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.RunGet(ctx, id); err != nil {
			return err
		}
		l, err := s.store.RunLogGet(ctx, id)
		if errors.Is(err, domain.ErrNotFound) {
			out = &domain.RunLog{RunID: id}
			return nil
		}
		out = l
		return err
	})
	return out, err
}

// RunEvents returns a run's transition history, oldest first.
func (s *Service) RunEvents(ctx context.Context, id uuid.UUID) ([]domain.RunEvent, error) {
	var out []domain.RunEvent
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.RunGet(ctx, id); err != nil {
			return err
		}
		var err error
		out, err = s.store.RunEventList(ctx, id)
		return err
	})
	return out, err
}

// RunSteps returns the steps of a workflow run with their names.
func (s *Service) RunSteps(ctx context.Context, id uuid.UUID) ([]RunView, error) {
	var out []RunView
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		children, err := s.store.RunChildren(ctx, id)
		if err != nil {
			return err
		}
		out, err = s.describeRuns(ctx, children)
		return err
	})
	return out, err
}

// RunPlan is what a worker needs to run one materialization.
type RunPlan struct {
	Run      domain.Run
	Asset    domain.Asset
	Workflow *domain.WorkflowRef
	// Retry is the effective policy: the asset's, else the workflow's, else
	// one attempt.
	Retry domain.RetryPolicy
	// Partition describes the run's partition; nil without one.
	Partition *PartitionContext
}

// PlanRun loads a materialization's asset and effective retry policy.
func (s *Service) PlanRun(ctx context.Context, run *domain.Run) (*RunPlan, error) {
	if run.AssetID == nil {
		return nil, domain.Invalid("run", "a workflow run has no asset to materialize")
	}
	plan := &RunPlan{Run: *run, Retry: domain.DefaultRetryPolicy}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		a, err := s.store.AssetGet(ctx, *run.AssetID)
		if err != nil {
			return err
		}
		plan.Asset = *a
		if run.WorkflowID != nil {
			w, err := s.store.WorkflowGet(ctx, *run.WorkflowID)
			if err != nil {
				return err
			}
			plan.Workflow = &domain.WorkflowRef{ID: w.ID, Name: w.Name, Version: w.Version}
			if w.Retry != nil {
				plan.Retry = *w.Retry
			}
		}
		if a.Compute != nil && a.Compute.Retry != nil {
			plan.Retry = *a.Compute.Retry
		}
		if a.Partitions != nil || run.PartitionKey != "" {
			plan.Partition, err = s.partitionContext(ctx, a, run.PartitionKey)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return plan, nil
}
