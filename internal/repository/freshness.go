package repository

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

type assetFreshnessRow struct {
	AssetID            uuid.UUID `gorm:"primaryKey"`
	TenantID           string    `gorm:"<-:create"`
	Policy             jsonObject[domain.FreshnessPolicy]
	LastMaterializedAt *time.Time
	StaleAfter         *time.Time
	UpdatedAt          time.Time
}

func (assetFreshnessRow) TableName() string { return "asset_freshness" }

func (r *assetFreshnessRow) toDomain() domain.AssetFreshness {
	return domain.AssetFreshness{
		AssetID: r.AssetID, TenantID: r.TenantID, Policy: r.Policy.V,
		LastMaterializedAt: utcPtr(r.LastMaterializedAt), StaleAfter: utcPtr(r.StaleAfter),
	}
}

type assetPartitionRow struct {
	TenantID           string    `gorm:"<-:create"`
	AssetID            uuid.UUID `gorm:"primaryKey"`
	PartitionKey       string    `gorm:"primaryKey"`
	LastMaterializedAt time.Time
}

func (assetPartitionRow) TableName() string { return "asset_partitions" }

// FreshnessGet implements domain.FreshnessRepository.
func (s *Store) FreshnessGet(ctx context.Context, assetIDs []uuid.UUID) ([]domain.AssetFreshness, error) {
	if len(assetIDs) == 0 {
		return []domain.AssetFreshness{}, nil
	}
	var rows []assetFreshnessRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where(s.idsIn("asset_id", assetIDs)).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.AssetFreshness, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// AssetWithFreshness implements domain.FreshnessRepository. In a tenant's
// scope on PostgreSQL outside a transaction it is one statement (a join);
// elsewhere two reads.
func (s *Store) AssetWithFreshness(ctx context.Context, id uuid.UUID) (*domain.Asset, *domain.AssetFreshness, error) {
	if tenant, ok := s.tenantPgxRead(ctx); ok {
		return s.assetWithFreshnessPgx(ctx, tenant, id)
	}
	a, err := s.AssetGet(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if a.IsGlobal() {
		return a, nil, nil
	}
	if scope, err := domain.ScopeFrom(ctx); err != nil || scope.IsSystem() {
		return a, nil, nil
	}
	fs, err := s.FreshnessGet(ctx, []uuid.UUID{id})
	if err != nil {
		return nil, nil, err
	}
	if len(fs) == 0 {
		return a, nil, nil
	}
	return a, &fs[0], nil
}

// AssetListWithFreshness implements domain.FreshnessRepository. A tenant's
// first or keyset page on PostgreSQL outside a transaction is one statement
// (assetListPgx); elsewhere the page and the freshness are two reads.
func (s *Store) AssetListWithFreshness(ctx context.Context, f domain.AssetFilter, p domain.Page) (domain.List[domain.Asset], []domain.AssetFreshness, error) {
	if tenant, ok := s.tenantPgxRead(ctx); ok && p.Offset == 0 {
		return s.assetListPgx(ctx, tenant, f, p)
	}
	list, err := s.AssetList(ctx, f, p)
	if err != nil {
		return domain.List[domain.Asset]{}, nil, err
	}
	if scope, err := domain.ScopeFrom(ctx); err != nil || scope.IsSystem() {
		return list, []domain.AssetFreshness{}, nil
	}
	ids := make([]uuid.UUID, 0, len(list.Items))
	for i := range list.Items {
		if !list.Items[i].IsGlobal() {
			ids = append(ids, list.Items[i].ID)
		}
	}
	fs, err := s.FreshnessGet(ctx, ids)
	if err != nil {
		return domain.List[domain.Asset]{}, nil, err
	}
	return list, fs, nil
}

// FreshnessUpdate implements domain.FreshnessRepository. The asset's own
// row is locked first, so that two writers of one asset's freshness take
// turns and the first insert never races another.
func (s *Store) FreshnessUpdate(ctx context.Context, assetID uuid.UUID, fn func(*domain.AssetFreshness) error) (*domain.AssetFreshness, error) {
	var out domain.AssetFreshness
	err := s.run(ctx, func(tx *gorm.DB) error {
		var asset assetRow
		own := tx.WithContext(withRowSet(tx.Statement.Context, rowsOwn))
		err := s.lockForUpdate(own.Select("id", "tenant_id").Where("id = ?", assetID)).Take(&asset).Error
		if err := firstOrNotFound(err, "asset"); err != nil {
			return err
		}
		var rows []assetFreshnessRow
		if err := tx.Where("asset_id = ?", assetID).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		cur := domain.AssetFreshness{AssetID: assetID}
		exists := len(rows) == 1
		if exists {
			cur = rows[0].toDomain()
		}
		if err := fn(&cur); err != nil {
			return err
		}
		row := assetFreshnessRow{
			AssetID: assetID, Policy: jsonObject[domain.FreshnessPolicy]{V: cur.Policy},
			LastMaterializedAt: utcPtr(cur.LastMaterializedAt), StaleAfter: utcPtr(cur.StaleAfter), UpdatedAt: now(),
		}
		if !exists {
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		} else {
			res := tx.Model(&assetFreshnessRow{}).Where("asset_id = ?", assetID).Updates(map[string]any{
				"policy": row.Policy, "last_materialized_at": row.LastMaterializedAt, "stale_after": row.StaleAfter, "updated_at": row.UpdatedAt,
			})
			if res.Error != nil {
				return res.Error
			}
		}
		out = row.toDomain()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// FreshnessPartitionPut implements domain.FreshnessRepository; the caller
// holds the asset (FreshnessUpdate in the same transaction).
func (s *Store) FreshnessPartitionPut(ctx context.Context, p domain.AssetPartition) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		at := p.LastMaterializedAt.UTC().Truncate(time.Microsecond)
		res := tx.Model(&assetPartitionRow{}).Where("asset_id = ? AND partition_key = ?", p.AssetID, p.PartitionKey).
			Update("last_materialized_at", at)
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		return tx.Create(&assetPartitionRow{AssetID: p.AssetID, PartitionKey: p.PartitionKey, LastMaterializedAt: at}).Error
	})
}

// FreshnessPartitions implements domain.FreshnessRepository.
func (s *Store) FreshnessPartitions(ctx context.Context, assetID uuid.UUID, limit int) ([]domain.AssetPartition, error) {
	var rows []assetPartitionRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("asset_id = ?", assetID).Order("last_materialized_at DESC").Order("partition_key").Limit(limit).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.AssetPartition, len(rows))
	for i, r := range rows {
		out[i] = domain.AssetPartition{AssetID: r.AssetID, PartitionKey: r.PartitionKey, LastMaterializedAt: r.LastMaterializedAt.UTC()}
	}
	return out, nil
}

// FreshnessStale implements domain.FreshnessRepository.
func (s *Store) FreshnessStale(ctx context.Context, at time.Time, p domain.Page) (domain.List[uuid.UUID], error) {
	if p.Cursor != nil {
		return domain.List[uuid.UUID]{}, domain.Invalid("cursor", "stale listings page by offset")
	}
	var rows []assetFreshnessRow
	var total listTotal
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&assetFreshnessRow{}).Where("stale_after IS NOT NULL AND stale_after <= ?", at.UTC())
		err := q.Session(&gorm.Session{}).Select("asset_id", "stale_after").Order("stale_after").Order("asset_id").
			Limit(p.Limit + 1).Offset(p.Offset).Find(&rows).Error
		if err != nil {
			return err
		}
		more := len(rows) > p.Limit
		if more {
			rows = rows[:p.Limit]
		}
		// The cached count, past the bound, is the count at the time it
		// was taken: the key leaves the instant out.
		total, err = s.total(q, listKey("stale assets", nil), p, len(rows), more)
		return err
	})
	if err != nil {
		return domain.List[uuid.UUID]{}, err
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.AssetID
	}
	return domain.List[uuid.UUID]{Items: ids, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset}, nil
}

var _ domain.FreshnessRepository = (*Store)(nil)
