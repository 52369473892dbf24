package service

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/partition"
)

// CreateDependency adds the edge upstream -> downstream of the given type.
// Both assets must be visible, non-global rows of the caller's tenant; an
// edge that would close a cycle, or that exists already, is ErrConflict.
// The check and the insert run under a per-tenant graph lock, so the graph
// stays acyclic under concurrent inserts.
func (s *Service) CreateDependency(ctx context.Context, upstream, downstream uuid.UUID, typ domain.DependencyType) (*domain.AssetDependency, error) {
	return s.CreateMappedDependency(ctx, upstream, downstream, typ, nil)
}

// CreateMappedDependency is CreateDependency with a partition mapping on
// the edge (nil: the default mapping).
func (s *Service) CreateMappedDependency(ctx context.Context, upstream, downstream uuid.UUID, typ domain.DependencyType, m *domain.PartitionMapping) (*domain.AssetDependency, error) {
	if typ == "" {
		typ = domain.DependencyData
	}
	d := domain.AssetDependency{UpstreamAssetID: upstream, DownstreamAssetID: downstream, DependencyType: typ, PartitionMapping: m}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := partition.ValidateMapping(m); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		sc, err := scope(ctx)
		if err != nil {
			return err
		}
		if sc.IsSystem() {
			return fmt.Errorf("%w: dependencies belong to tenants", domain.ErrForbidden)
		}
		for _, id := range []uuid.UUID{upstream, downstream} {
			a, err := s.store.AssetGet(ctx, id)
			if err != nil {
				return err
			}
			if a.IsGlobal() {
				return fmt.Errorf("%w: global assets cannot take part in a tenant's dependencies", domain.ErrForbidden)
			}
		}
		if err := s.store.DependencyLockGraph(ctx); err != nil {
			return err
		}
		cycle, err := s.store.DependencyPathExists(ctx, downstream, upstream)
		if err != nil {
			return err
		}
		if cycle {
			return fmt.Errorf("%w: the edge would close a cycle", domain.ErrConflict)
		}
		return s.store.DependencyCreate(ctx, &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// GetDependency returns one edge.
func (s *Service) GetDependency(ctx context.Context, id uuid.UUID) (*domain.AssetDependency, error) {
	d, err := s.store.DependencyGet(ctx, id)
	return d, notFound(err, "dependency", id)
}

// AssetDependencies returns the edges entering (upstream) and leaving
// (downstream) an asset.
func (s *Service) AssetDependencies(ctx context.Context, assetID uuid.UUID) (upstream, downstream []domain.AssetDependency, err error) {
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.AssetGet(ctx, assetID); err != nil {
			return err
		}
		all, err := s.store.DependencyListForAsset(ctx, assetID, domain.Both)
		if err != nil {
			return err
		}
		upstream, downstream = []domain.AssetDependency{}, []domain.AssetDependency{}
		for _, d := range all {
			if d.DownstreamAssetID == assetID {
				upstream = append(upstream, d)
			} else {
				downstream = append(downstream, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return upstream, downstream, nil
}

// AssetDependenciesIn returns the edges of an asset in one direction:
// Upstream gives the edges entering it, Downstream those leaving it.
func (s *Service) AssetDependenciesIn(ctx context.Context, assetID uuid.UUID, dir domain.Direction) ([]domain.AssetDependency, error) {
	if dir != domain.Upstream && dir != domain.Downstream {
		return nil, domain.Invalid("direction", "must be upstream or downstream")
	}
	var out []domain.AssetDependency
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.AssetGet(ctx, assetID); err != nil {
			return err
		}
		var err error
		out, err = s.store.DependencyListForAsset(ctx, assetID, dir)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDependency removes one edge.
func (s *Service) DeleteDependency(ctx context.Context, id uuid.UUID) error {
	return notFound(s.store.DependencyDelete(ctx, id), "dependency", id)
}

// DeleteAssetDependencies removes every edge touching an asset and reports
// how many went.
func (s *Service) DeleteAssetDependencies(ctx context.Context, assetID uuid.UUID) (int64, error) {
	var n int64
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.writableAsset(ctx, assetID); err != nil {
			return err
		}
		var err error
		n, err = s.store.DependencyDeleteForAsset(ctx, assetID)
		return err
	})
	return n, err
}
