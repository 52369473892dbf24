package repository

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/servo-data/servo/internal/domain"
)

// AssetCreate implements domain.AssetRepository. The tenant is stamped from
// the scope: a tenant's own asset, or a global one in the system scope.
func (s *Store) AssetCreate(ctx context.Context, a *domain.Asset) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := assetRowFrom(a)
		row.ID, row.TenantID = newID(), nil
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*a = row.toDomain()
		return nil
	})
}

// AssetGet implements domain.AssetRepository.
func (s *Store) AssetGet(ctx context.Context, id uuid.UUID) (*domain.Asset, error) {
	if tenant, ok := s.tenantPgxRead(ctx); ok {
		return s.assetGetPgx(ctx, tenant, id)
	}
	var row assetRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("id = ?", id).Take(&row).Error, "asset")
	})
	if err != nil {
		return nil, err
	}
	a := row.toDomain()
	return &a, nil
}

// AssetGetByName implements domain.AssetRepository.
func (s *Store) AssetGetByName(ctx context.Context, name string) (*domain.Asset, error) {
	var row assetRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		// NULLs sort last ascending on PostgreSQL and first on SQLite; order
		// on "is global" instead so the tenant's own row wins on both.
		q := tx.Where("name = ?", name).
			Order("CASE WHEN tenant_id IS NULL THEN 1 ELSE 0 END").
			Limit(1)
		return firstOrNotFound(q.Take(&row).Error, "asset")
	})
	if err != nil {
		return nil, err
	}
	a := row.toDomain()
	return &a, nil
}

// AssetGetMany implements domain.AssetRepository. Missing ids are skipped.
func (s *Store) AssetGetMany(ctx context.Context, ids []uuid.UUID) ([]domain.Asset, error) {
	if len(ids) == 0 {
		return []domain.Asset{}, nil
	}
	var rows []assetRow
	if err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where(s.idsIn("id", ids)).Find(&rows).Error
	}); err != nil {
		return nil, err
	}
	out := make([]domain.Asset, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// assetFilter applies f to q.
func (s *Store) assetFilter(q *gorm.DB, f domain.AssetFilter) *gorm.DB {
	if f.AssetType != "" {
		q = q.Where("asset_type = ?", f.AssetType)
	}
	if f.Owner != "" {
		q = q.Where("owner = ?", f.Owner)
	}
	if f.NamePrefix != "" {
		if s.dialect == Postgres {
			// starts_with is leakproof, so under row-level security it
			// can be a range of assets_name_prefix_idx; LIKE is not, and
			// was a filter over every row of the tenant (23 ms for a
			// prefix no name has, at 50,050 assets).
			q = q.Where("starts_with(name, ?)", f.NamePrefix)
		} else {
			q = q.Where(`name LIKE ? ESCAPE '\'`, escapeLike(f.NamePrefix)+"%")
		}
	}
	if f.Tag != "" {
		if s.dialect == Postgres {
			q = q.Where("tags @> ?::jsonb", stringList{f.Tag})
		} else {
			q = q.Where("EXISTS (SELECT 1 FROM json_each(assets.tags) WHERE json_each.value = ?)", f.Tag)
		}
	}
	return q
}

// escapeLike escapes LIKE's wildcards so a prefix matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AssetList implements domain.AssetRepository.
func (s *Store) AssetList(ctx context.Context, f domain.AssetFilter, p domain.Page) (domain.List[domain.Asset], error) {
	var rows []assetRow
	var total listTotal
	var next *domain.Cursor
	err := s.read(ctx, func(tx *gorm.DB) error {
		var err error
		if sc, _ := domain.ScopeFrom(ctx); !sc.IsSystem() && p.Offset == 0 {
			total, next, err = s.assetPageMerged(tx, f, p, &rows)
			return err
		}
		total, next, err = page(s, s.assetFilter(tx.Model(&assetRow{}), f), listKey("assets", f), p, &rows)
		return err
	})
	if err != nil {
		return domain.List[domain.Asset]{}, err
	}
	items := make([]domain.Asset, len(rows))
	for i := range rows {
		items[i] = rows[i].toDomain()
	}
	return domain.List[domain.Asset]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit, Offset: p.Offset, NextCursor: next}, nil
}

// AssetCount implements domain.AssetRepository.
func (s *Store) AssetCount(ctx context.Context, f domain.AssetFilter) (int64, error) {
	var n int64
	err := s.read(ctx, func(tx *gorm.DB) error {
		return s.assetFilter(tx.Model(&assetRow{}), f).Count(&n).Error
	})
	return n, err
}

// lockForUpdate adds FOR UPDATE where the dialect has it; SQLite has one
// writer and needs none.
func (s *Store) lockForUpdate(q *gorm.DB) *gorm.DB {
	if s.dialect == Postgres {
		return q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return q
}

// AssetUpdate implements domain.AssetRepository. Only rows the scope may
// write are locked: a tenant updating a global asset gets ErrNotFound from
// the lock, which the service turns into ErrForbidden when it can read it.
func (s *Store) AssetUpdate(ctx context.Context, id uuid.UUID, fn func(*domain.Asset) error) (*domain.Asset, error) {
	return updateByID[assetRow](s, ctx, id, "asset", fn, func(a *domain.Asset) map[string]any {
		return map[string]any{
			"name":        a.Name,
			"description": a.Description,
			"asset_type":  a.AssetType,
			"owner":       a.Owner,
			"tags":        stringList(a.Tags),
			"compute":     jsonObject[domain.ComputeSpec]{V: a.Compute},
			"partitions":  jsonObject[domain.PartitionsDef]{V: a.Partitions},
			"updated_at":  now(),
		}
	})
}

// AssetDelete implements domain.AssetRepository. Its edges and workflow
// links go with it (ON DELETE CASCADE).
func (s *Store) AssetDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[assetRow](tx, id, "asset") })
}

// assetPageMerged is a tenant's first or keyset page of assets: its own rows
// and the global rows are read apart, each a range scan on the
// (tenant_id, created_at DESC, id DESC) index, and merged, in one
// statement. One query over both (tenant_id = ? OR tenant_id IS NULL)
// cannot use that index and sorts every visible row instead (measured: 430
// ms for a page of a tenant with 50,000 assets, see BENCHMARKS.md). Each
// part is counted apart (total), so that a page that proves a part's count
// costs no count of it.
func (s *Store) assetPageMerged(tx *gorm.DB, f domain.AssetFilter, p domain.Page, dest *[]assetRow) (listTotal, *domain.Cursor, error) {
	part := func(rs rowSet) *gorm.DB {
		return s.assetFilter(tx.WithContext(withRowSet(tx.Statement.Context, rs)).Model(&assetRow{}), f)
	}
	own, global := part(rowsOwn), part(rowsGlobal)
	pp := domain.Page{Limit: p.Limit, Cursor: p.Cursor, Count: p.Count}
	var rows []assetRow
	// Only the union is raw: GORM builds both parts with the tenant
	// callbacks, and row-level security covers the whole.
	err := tx.Raw("SELECT * FROM (?) AS own_rows UNION ALL SELECT * FROM (?) AS global_rows ORDER BY created_at DESC, id DESC",
		keyset(own, pp), keyset(global, pp)).Scan(&rows).Error
	if err != nil {
		return listTotal{}, nil, err
	}
	var got [2]int
	for _, r := range rows {
		if r.TenantID == nil {
			got[1]++
		} else {
			got[0]++
		}
	}
	var total listTotal
	for i, q := range []*gorm.DB{own, global} {
		n := min(got[i], p.Limit)
		t, err := s.total(q, listKey("assets", f), pp, n, got[i] > p.Limit)
		if err != nil {
			return listTotal{}, nil, err
		}
		total.n += t.n
		total.estimate = total.estimate || t.estimate
	}
	if len(rows) <= p.Limit {
		*dest = rows
		return total, nil, nil
	}
	*dest = rows[:p.Limit]
	k := rows[p.Limit-1].pageKey()
	return total, &k, nil
}
