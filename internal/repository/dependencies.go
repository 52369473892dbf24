package repository

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// DependencyLockGraph implements domain.DependencyRepository. On PostgreSQL
// it takes a transaction-scoped advisory lock keyed by the scope's tenant, so
// that concurrent edge inserts check for cycles one at a time and each sees
// the edges committed before it. SQLite has a single writer already.
func (s *Store) DependencyLockGraph(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	return s.run(ctx, func(tx *gorm.DB) error {
		return tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended('servo.graph:' || current_setting('app.tenant_id', true), 0))").Error
	})
}

// pathExistsSQL walks downstream from one asset with a recursive query;
// UNION (not UNION ALL) drops visited nodes, so it ends even on a cycle.
// Row-level security limits it to the scope's tenant, and the schema keeps
// every edge inside one tenant.
const pathExistsSQL = `WITH RECURSIVE reach(id) AS (
	SELECT downstream_asset_id FROM asset_dependencies WHERE upstream_asset_id = ?
	UNION
	SELECT d.downstream_asset_id FROM asset_dependencies d JOIN reach r ON d.upstream_asset_id = r.id
)
SELECT COUNT(*) FROM reach WHERE id = ?`

// DependencyPathExists implements domain.DependencyRepository.
func (s *Store) DependencyPathExists(ctx context.Context, from, to uuid.UUID) (bool, error) {
	var n int64
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Raw(pathExistsSQL, from, to).Scan(&n).Error
	})
	return n > 0, err
}

// DependencyCreate implements domain.DependencyRepository.
func (s *Store) DependencyCreate(ctx context.Context, d *domain.AssetDependency) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := dependencyRow{
			ID:                newID(),
			UpstreamAssetID:   d.UpstreamAssetID,
			DownstreamAssetID: d.DownstreamAssetID,
			DependencyType:    string(d.DependencyType),
			PartitionMapping:  jsonObject[domain.PartitionMapping]{V: d.PartitionMapping},
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*d = row.toDomain()
		return nil
	})
}

// DependencyGet implements domain.DependencyRepository.
func (s *Store) DependencyGet(ctx context.Context, id uuid.UUID) (*domain.AssetDependency, error) {
	var row dependencyRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("id = ?", id).Take(&row).Error, "dependency")
	})
	if err != nil {
		return nil, err
	}
	d := row.toDomain()
	return &d, nil
}

func dependencies(rows []dependencyRow) []domain.AssetDependency {
	out := make([]domain.AssetDependency, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out
}

// DependencyListForAsset implements domain.DependencyRepository.
func (s *Store) DependencyListForAsset(ctx context.Context, assetID uuid.UUID, dir domain.Direction) ([]domain.AssetDependency, error) {
	var rows []dependencyRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&dependencyRow{})
		switch dir {
		case domain.Upstream:
			q = q.Where("downstream_asset_id = ?", assetID)
		case domain.Downstream:
			q = q.Where("upstream_asset_id = ?", assetID)
		default:
			q = q.Where("downstream_asset_id = ? OR upstream_asset_id = ?", assetID, assetID)
		}
		return q.Order("created_at").Order("id").Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	return dependencies(rows), nil
}

// DependencyEdges implements domain.DependencyRepository.
func (s *Store) DependencyEdges(ctx context.Context, q domain.EdgeQuery) ([]domain.AssetDependency, error) {
	if len(q.DownstreamOf) == 0 && len(q.UpstreamOf) == 0 {
		return []domain.AssetDependency{}, nil
	}
	var rows []dependencyRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		var cond *gorm.DB
		if len(q.DownstreamOf) > 0 {
			cond = tx.Where(s.idsIn("upstream_asset_id", q.DownstreamOf))
		}
		if len(q.UpstreamOf) > 0 {
			if cond == nil {
				cond = tx.Where(s.idsIn("downstream_asset_id", q.UpstreamOf))
			} else {
				cond = cond.Or(s.idsIn("downstream_asset_id", q.UpstreamOf))
			}
		}
		stmt := tx.Model(&dependencyRow{}).Where(cond)
		if len(q.Types) > 0 {
			types := make([]string, len(q.Types))
			for i, t := range q.Types {
				types[i] = string(t)
			}
			stmt = stmt.Where("dependency_type IN ?", types)
		}
		return stmt.Order("created_at").Order("id").Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	return dependencies(rows), nil
}

// DependencyDelete implements domain.DependencyRepository.
func (s *Store) DependencyDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[dependencyRow](tx, id, "dependency") })
}

// DependencyDeleteForAsset implements domain.DependencyRepository.
func (s *Store) DependencyDeleteForAsset(ctx context.Context, assetID uuid.UUID) (int64, error) {
	var n int64
	err := s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Where("upstream_asset_id = ? OR downstream_asset_id = ?", assetID, assetID).Delete(&dependencyRow{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}
