package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// CreateWorkflowInput describes a workflow version. Assets are UUIDs or
// names, in order.
type CreateWorkflowInput struct {
	Name          string
	Description   string
	Owner         string
	Tags          []string
	Assets        []string
	Retry         *domain.RetryPolicy
	MaxActiveRuns int
}

// createVersionAttempts bounds retries when concurrent creates race for the
// same next version.
const createVersionAttempts = 5

// CreateWorkflow stores a workflow. When the name exists it becomes the
// next version; earlier versions stay as they were.
func (s *Service) CreateWorkflow(ctx context.Context, in CreateWorkflowInput) (*domain.Workflow, error) {
	w := domain.Workflow{Name: in.Name, Description: in.Description, Owner: in.Owner, Tags: in.Tags, Version: 1, Retry: in.Retry, MaxActiveRuns: in.MaxActiveRuns}
	w.Normalize()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if len(in.Assets) > domain.MaxWorkflowAssets {
		return nil, domain.Invalid("assets", "at most %d assets", domain.MaxWorkflowAssets)
	}
	var lastErr error
	for range createVersionAttempts {
		out := w
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			ids, err := s.resolveWorkflowAssets(ctx, in.Assets)
			if err != nil {
				return err
			}
			out.AssetIDs = ids
			if err := out.Validate(); err != nil {
				return err
			}
			if err := s.store.WorkflowLockName(ctx, in.Name); err != nil {
				return err
			}
			latest, err := s.store.WorkflowLatestVersion(ctx, in.Name)
			if err != nil {
				return err
			}
			out.Version = latest + 1
			return s.store.WorkflowCreate(ctx, &out)
		})
		if err == nil {
			return &out, nil
		}
		if !errors.Is(err, domain.ErrConflict) {
			return nil, err
		}
		lastErr = err // another create took this version; try the next one
	}
	return nil, fmt.Errorf("create workflow %q: %w", in.Name, lastErr)
}

// resolveWorkflowAssets turns asset references into ids of the tenant's
// own assets.
func (s *Service) resolveWorkflowAssets(ctx context.Context, refs []string) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, 0, len(refs))
	for i, ref := range refs {
		a, err := s.ResolveAsset(ctx, ref)
		if errors.Is(err, domain.ErrNotFound) {
			return nil, domain.Invalid("assets", "asset %d not found", i)
		}
		if err != nil {
			return nil, err
		}
		if a.IsGlobal() {
			return nil, domain.Invalid("assets", "asset %d is global; workflows hold the tenant's own assets", i)
		}
		ids = append(ids, a.ID)
	}
	return ids, nil
}

// GetWorkflow returns one workflow version by id.
func (s *Service) GetWorkflow(ctx context.Context, id uuid.UUID) (*domain.Workflow, error) {
	w, err := s.store.WorkflowGet(ctx, id)
	return w, notFound(err, "workflow", id)
}

// ResolveWorkflow finds a workflow by UUID, or by name at a version (0 for
// the latest).
func (s *Service) ResolveWorkflow(ctx context.Context, ref string, version int) (*domain.Workflow, error) {
	if version < 0 {
		return nil, domain.Invalid("version", "must be positive")
	}
	if id, ok := domain.ParseRef(ref); ok {
		w, err := s.GetWorkflow(ctx, id)
		if err != nil {
			return nil, err
		}
		if version > 0 && w.Version != version {
			w, err := s.store.WorkflowGetByName(ctx, w.Name, version)
			return w, notFound(err, "workflow", ref)
		}
		return w, nil
	}
	if ref == "" {
		return nil, domain.Invalid("workflow", "is required")
	}
	w, err := s.store.WorkflowGetByName(ctx, ref, version)
	return w, notFound(err, "workflow", ref)
}

// ListWorkflows lists the latest version of every workflow.
func (s *Service) ListWorkflows(ctx context.Context, p domain.Page) (domain.List[domain.Workflow], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Workflow]{}, err
	}
	return s.store.WorkflowList(ctx, p)
}

// ListWorkflowVersions lists every version of the named workflow, newest
// first; an unknown name is ErrNotFound.
func (s *Service) ListWorkflowVersions(ctx context.Context, name string, p domain.Page) (domain.List[domain.Workflow], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Workflow]{}, err
	}
	out, err := s.store.WorkflowListVersions(ctx, name, p)
	if err != nil {
		return out, err
	}
	if out.Total == 0 {
		return out, errNotFound("workflow")
	}
	return out, nil
}

// UpdateWorkflow changes one version's description, owner or tags.
func (s *Service) UpdateWorkflow(ctx context.Context, id uuid.UUID, patch domain.WorkflowPatch) (*domain.Workflow, error) {
	return s.UpdateWorkflowIf(ctx, id, patch, nil)
}

// UpdateWorkflowIf is UpdateWorkflow with a precondition that sees the
// current row, locked for the update; see UpdateAssetIf.
func (s *Service) UpdateWorkflowIf(ctx context.Context, id uuid.UUID, patch domain.WorkflowPatch, check func(current *domain.Workflow) error) (*domain.Workflow, error) {
	w, err := s.store.WorkflowUpdate(ctx, id, func(w *domain.Workflow) error {
		if check != nil {
			if err := check(w); err != nil {
				return err
			}
		}
		patch.Apply(w)
		w.Normalize()
		return w.Validate()
	})
	return w, notFound(err, "workflow", id)
}

// DeleteWorkflow deletes one workflow version and its runs.
func (s *Service) DeleteWorkflow(ctx context.Context, id uuid.UUID) error {
	return notFound(s.store.WorkflowDelete(ctx, id), "workflow", id)
}

// DeleteWorkflowVersions deletes every version of the named workflow, and
// their runs, and reports how many versions went. An unknown name is
// ErrNotFound.
func (s *Service) DeleteWorkflowVersions(ctx context.Context, name string) (int, error) {
	var n int
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		ids, err := s.store.WorkflowIDsByName(ctx, name)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return errNotFound("workflow")
		}
		for _, id := range ids {
			if err := s.store.WorkflowDelete(ctx, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
