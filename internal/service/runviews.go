package service

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// RunView is a run with the names a client shows next to it.
type RunView struct {
	domain.Run
	AssetName       string
	WorkflowName    string
	WorkflowVersion int
}

// RunQuery filters a run listing by names, as clients know them. An
// unknown name matches no run.
type RunQuery struct {
	AssetName    string
	WorkflowName string
	Status       domain.Status
	State        domain.State
	// PartitionKey, when set, keeps runs of that partition key only.
	PartitionKey *string
}

// describeRuns adds asset and workflow names to runs in two reads.
func (s *Service) describeRuns(ctx context.Context, runs []domain.Run) ([]RunView, error) {
	var assetIDs, workflowIDs []uuid.UUID
	for _, r := range runs {
		if r.AssetID != nil {
			assetIDs = append(assetIDs, *r.AssetID)
		}
		if r.WorkflowID != nil {
			workflowIDs = append(workflowIDs, *r.WorkflowID)
		}
	}
	assets, err := s.store.AssetGetMany(ctx, assetIDs)
	if err != nil {
		return nil, err
	}
	workflows, err := s.store.WorkflowRefs(ctx, workflowIDs)
	if err != nil {
		return nil, err
	}
	names := make(map[uuid.UUID]string, len(assets))
	for _, a := range assets {
		names[a.ID] = a.Name
	}
	refs := make(map[uuid.UUID]domain.WorkflowRef, len(workflows))
	for _, w := range workflows {
		refs[w.ID] = w
	}
	out := make([]RunView, len(runs))
	for i, r := range runs {
		out[i] = RunView{Run: r}
		if r.AssetID != nil {
			out[i].AssetName = names[*r.AssetID]
		}
		if r.WorkflowID != nil {
			out[i].WorkflowName = refs[*r.WorkflowID].Name
			out[i].WorkflowVersion = refs[*r.WorkflowID].Version
		}
	}
	return out, nil
}

// GetRunView returns one run with its names.
func (s *Service) GetRunView(ctx context.Context, id uuid.UUID) (*RunView, error) {
	var out *RunView
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		r, err := s.store.RunGet(ctx, id)
		if err != nil {
			return err
		}
		views, err := s.describeRuns(ctx, []domain.Run{*r})
		if err != nil {
			return err
		}
		out = &views[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListRunViews lists runs matching q, newest first, with their names.
func (s *Service) ListRunViews(ctx context.Context, q RunQuery, p domain.Page) (domain.List[RunView], error) {
	var out domain.List[RunView]
	if err := p.Normalize(); err != nil {
		return out, err
	}
	f := domain.RunFilter{State: q.State, Status: q.Status, PartitionKey: q.PartitionKey}
	if f.State != "" && !f.State.Valid() {
		return out, domain.Invalid("state", "unknown state %q", f.State)
	}
	if f.Status != "" && !f.Status.Valid() {
		return out, domain.Invalid("status", "must be one of pending, running, success, failed, skipped, upstream_failed, cancelled")
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if q.AssetName != "" {
			a, err := s.ResolveAsset(ctx, q.AssetName)
			if errors.Is(err, domain.ErrNotFound) {
				out = domain.List[RunView]{Items: []RunView{}, Limit: p.Limit, Offset: p.Offset}
				return nil
			}
			if err != nil {
				return err
			}
			f.AssetID = &a.ID
		}
		if q.WorkflowName != "" {
			ids, err := s.store.WorkflowIDsByName(ctx, q.WorkflowName)
			if err != nil {
				return err
			}
			f.WorkflowIDs = ids
		}
		runs, err := s.store.RunList(ctx, f, p)
		if err != nil {
			return err
		}
		views, err := s.describeRuns(ctx, runs.Items)
		if err != nil {
			return err
		}
		out = domain.List[RunView]{Items: views, Total: runs.Total, TotalIsEstimate: runs.TotalIsEstimate, Limit: runs.Limit, Offset: runs.Offset, NextCursor: runs.NextCursor}
		return nil
	})
	return out, err
}
