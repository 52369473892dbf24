package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/partition"
)

// CreateAssetInput describes a new asset. Global asks for a global row,
// which only the system scope may create; in the system scope every asset
// is global.
type CreateAssetInput struct {
	Name        string
	Description string
	AssetType   string
	Owner       string
	Tags        []string
	Global      bool
	Compute     *domain.ComputeSpec
	Partitions  *domain.PartitionsDef
}

// CreateAsset validates and stores a new asset. A duplicate name is
// ErrConflict.
func (s *Service) CreateAsset(ctx context.Context, in CreateAssetInput) (*domain.Asset, error) {
	sc, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	if in.Global && !sc.IsSystem() {
		return nil, forbiddenGlobal("assets")
	}
	a := domain.Asset{
		Name: in.Name, Description: in.Description, AssetType: in.AssetType,
		Owner: in.Owner, Tags: in.Tags, Compute: in.Compute, Partitions: in.Partitions,
	}
	a.Normalize()
	if err := s.validateAsset(&a); err != nil {
		return nil, err
	}
	if err := s.store.AssetCreate(ctx, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// GetAsset returns an asset by id.
func (s *Service) GetAsset(ctx context.Context, id uuid.UUID) (*domain.Asset, error) {
	a, err := s.store.AssetGet(ctx, id)
	return a, notFound(err, "asset", id)
}

// ResolveAsset finds an asset by UUID or by name; the tenant's own asset
// wins over a global one of the same name.
func (s *Service) ResolveAsset(ctx context.Context, ref string) (*domain.Asset, error) {
	if id, ok := domain.ParseRef(ref); ok {
		return s.GetAsset(ctx, id)
	}
	if ref == "" {
		return nil, domain.Invalid("asset", "is required")
	}
	a, err := s.store.AssetGetByName(ctx, ref)
	return a, notFound(err, "asset", ref)
}

// ListAssets returns one page of assets matching f.
func (s *Service) ListAssets(ctx context.Context, f domain.AssetFilter, p domain.Page) (domain.List[domain.Asset], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Asset]{}, err
	}
	return s.store.AssetList(ctx, f, p)
}

// CountAssets counts the assets matching f.
func (s *Service) CountAssets(ctx context.Context, f domain.AssetFilter) (int64, error) {
	return s.store.AssetCount(ctx, f)
}

// writableAsset loads an asset for a change, refusing a tenant's change to
// a global row with ErrForbidden.
func (s *Service) writableAsset(ctx context.Context, id uuid.UUID) (*domain.Asset, error) {
	sc, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.GetAsset(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.IsGlobal() && !sc.IsSystem() {
		return nil, forbiddenGlobal("assets")
	}
	return a, nil
}

// UpdateAsset applies a partial update. Renaming onto a taken name is
// ErrConflict.
func (s *Service) UpdateAsset(ctx context.Context, id uuid.UUID, patch domain.AssetPatch) (*domain.Asset, error) {
	return s.UpdateAssetIf(ctx, id, patch, nil)
}

// UpdateAssetIf is UpdateAsset with a precondition: check, when not nil,
// sees the current row, locked for the update, before the patch applies,
// and an error from it (such as domain.ErrPreconditionFailed) aborts the
// update. Two writers checking the same version cannot both pass.
func (s *Service) UpdateAssetIf(ctx context.Context, id uuid.UUID, patch domain.AssetPatch, check func(current *domain.Asset) error) (*domain.Asset, error) {
	var out *domain.Asset
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.writableAsset(ctx, id); err != nil {
			return err
		}
		var err error
		out, err = s.store.AssetUpdate(ctx, id, func(a *domain.Asset) error {
			if check != nil {
				if err := check(a); err != nil {
					return err
				}
			}
			patch.Apply(a)
			a.Normalize()
			return s.validateAsset(a)
		})
		return notFound(err, "asset", id)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAsset deletes an asset with its edges and workflow links.
func (s *Service) DeleteAsset(ctx context.Context, id uuid.UUID) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.writableAsset(ctx, id); err != nil {
			return err
		}
		return notFound(s.store.AssetDelete(ctx, id), "asset", id)
	})
}

// GetAssets returns the visible assets among ids; missing ones are skipped.
func (s *Service) GetAssets(ctx context.Context, ids []uuid.UUID) ([]domain.Asset, error) {
	return s.store.AssetGetMany(ctx, ids)
}

// validateAsset checks an asset and, when it has a compute spec, the
// operator's policy for it (refused at write time, 422).
func (s *Service) validateAsset(a *domain.Asset) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Partitions != nil {
		if err := partition.Validate(a.Partitions); err != nil {
			return err
		}
	}
	if a.Compute == nil {
		return nil
	}
	if s.policy == nil {
		return domain.Invalid("compute", "this server runs no compute: its runtime is not configured")
	}
	return s.policy.Allow(a.Compute)
}
