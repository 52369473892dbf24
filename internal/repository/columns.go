package repository

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// fieldList is a dataset version's fields, stored as a JSON array.
type fieldList []domain.Field

// Value implements driver.Valuer.
func (l fieldList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]domain.Field(l))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (l *fieldList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("fieldList: cannot scan %T", src)
	}
	var out []domain.Field
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("fieldList: %w", err)
	}
	*l = out
	return nil
}

type assetVersionRow struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	TenantID   string    `gorm:"<-:create"`
	AssetID    uuid.UUID
	Version    int
	Fields     fieldList
	FieldsHash string
	RunID      *uuid.UUID `gorm:"column:execution_id"`
	CreatedAt  time.Time
}

func (assetVersionRow) TableName() string { return "asset_versions" }

func (r *assetVersionRow) toDomain() domain.AssetVersion {
	fields := []domain.Field(r.Fields)
	if fields == nil {
		fields = []domain.Field{}
	}
	return domain.AssetVersion{
		ID: r.ID, TenantID: r.TenantID, AssetID: r.AssetID, Version: r.Version, Fields: fields,
		FieldsHash: r.FieldsHash, RunID: r.RunID, CreatedAt: r.CreatedAt.UTC(),
	}
}

type columnEdgeRow struct {
	ID                    uuid.UUID `gorm:"primaryKey"`
	TenantID              string    `gorm:"<-:create"`
	UpstreamAssetID       uuid.UUID
	UpstreamColumn        string
	DownstreamAssetID     uuid.UUID
	DownstreamColumn      string
	TransformationType    string
	TransformationSubtype string
	Description           string
	Masking               bool
	Source                string
	CreatedAt             time.Time
}

func (columnEdgeRow) TableName() string { return "column_edges" }

func (r *columnEdgeRow) toDomain() domain.ColumnEdge {
	return domain.ColumnEdge{
		ID: r.ID, TenantID: r.TenantID, UpstreamAssetID: r.UpstreamAssetID, UpstreamColumn: r.UpstreamColumn,
		DownstreamAssetID: r.DownstreamAssetID, DownstreamColumn: r.DownstreamColumn,
		TransformationType: r.TransformationType, TransformationSubtype: r.TransformationSubtype,
		Description: r.Description, Masking: r.Masking, Source: r.Source, CreatedAt: r.CreatedAt.UTC(),
	}
}

// AssetVersionRecord implements domain.ColumnRepository. Two writers
// racing for the same next version meet the unique key: one gets
// ErrConflict and retries.
func (s *Store) AssetVersionRecord(ctx context.Context, v *domain.AssetVersion) (bool, error) {
	created := false
	err := s.run(ctx, func(tx *gorm.DB) error {
		var rows []assetVersionRow
		if err := tx.Where("asset_id = ? AND fields_hash = ?", v.AssetID, v.FieldsHash).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 1 {
			*v = rows[0].toDomain()
			return nil
		}
		var last []assetVersionRow
		if err := tx.Select("version").Where("asset_id = ?", v.AssetID).Order("version DESC").Limit(1).Find(&last).Error; err != nil {
			return err
		}
		row := assetVersionRow{ID: newID(), AssetID: v.AssetID, Version: 1, Fields: fieldList(v.Fields),
			FieldsHash: v.FieldsHash, RunID: v.RunID, CreatedAt: now()}
		if len(last) == 1 {
			row.Version = last[0].Version + 1
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*v, created = row.toDomain(), true
		return nil
	})
	return created, err
}

// AssetVersionList implements domain.ColumnRepository.
func (s *Store) AssetVersionList(ctx context.Context, assetID uuid.UUID) ([]domain.AssetVersion, error) {
	var rows []assetVersionRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("asset_id = ?", assetID).Order("version DESC").Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.AssetVersion, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// AssetVersionGet implements domain.ColumnRepository.
func (s *Store) AssetVersionGet(ctx context.Context, assetID uuid.UUID, version int) (*domain.AssetVersion, error) {
	var row assetVersionRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("asset_id = ? AND version = ?", assetID, version).Take(&row).Error, "version")
	})
	if err != nil {
		return nil, err
	}
	v := row.toDomain()
	return &v, nil
}

// ColumnEdgeCreate implements domain.ColumnRepository.
func (s *Store) ColumnEdgeCreate(ctx context.Context, e *domain.ColumnEdge) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := columnEdgeRow{
			ID: newID(), UpstreamAssetID: e.UpstreamAssetID, UpstreamColumn: e.UpstreamColumn,
			DownstreamAssetID: e.DownstreamAssetID, DownstreamColumn: e.DownstreamColumn,
			TransformationType: e.TransformationType, TransformationSubtype: e.TransformationSubtype,
			Description: e.Description, Masking: e.Masking, Source: e.Source, CreatedAt: now(),
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*e = row.toDomain()
		return nil
	})
}

// ColumnEdgeFind implements domain.ColumnRepository.
func (s *Store) ColumnEdgeFind(ctx context.Context, e *domain.ColumnEdge) (*domain.ColumnEdge, error) {
	var row columnEdgeRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("upstream_asset_id = ? AND upstream_column = ? AND downstream_asset_id = ? AND downstream_column = ? AND transformation_type = ? AND transformation_subtype = ?",
			e.UpstreamAssetID, e.UpstreamColumn, e.DownstreamAssetID, e.DownstreamColumn, e.TransformationType, e.TransformationSubtype).Take(&row).Error, "column dependency")
	})
	if err != nil {
		return nil, err
	}
	out := row.toDomain()
	return &out, nil
}

// ColumnEdgeGet implements domain.ColumnRepository.
func (s *Store) ColumnEdgeGet(ctx context.Context, id uuid.UUID) (*domain.ColumnEdge, error) {
	var row columnEdgeRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("id = ?", id).Take(&row).Error, "column dependency")
	})
	if err != nil {
		return nil, err
	}
	out := row.toDomain()
	return &out, nil
}

// ColumnEdgeDelete implements domain.ColumnRepository.
func (s *Store) ColumnEdgeDelete(ctx context.Context, id uuid.UUID) error {
	return s.run(ctx, func(tx *gorm.DB) error { return deleteByID[columnEdgeRow](tx, id, "column dependency") })
}

// ColumnHasEdges implements domain.ColumnRepository.
func (s *Store) ColumnHasEdges(ctx context.Context, assetID uuid.UUID, column string) (bool, error) {
	var rows []columnEdgeRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Select("id").Where("(upstream_asset_id = ? AND upstream_column = ?) OR (downstream_asset_id = ? AND downstream_column = ?)",
			assetID, column, assetID, column).Limit(1).Find(&rows).Error
	})
	return len(rows) > 0, err
}

// columnLineageSQL walks column edges in one statement: two recursive CTEs, down from the root column and up to it,
// each read only up to a bound; a column keeps its shortest depth, upstream
// on a tie; the kept columns are joined with their assets, followed by the
// edges leaving (downstream) or entering (upstream) the root and every kept
// column short of the depth limit. Edges and assets are filtered by tenant
// here as well as by row-level security (raw SQL is not rewritten by the
// tenancy callbacks).
const columnLineageSQL = `WITH RECURSIVE
down(asset_id, col, depth) AS (
	SELECT {uuid}, {text}, 0 WHERE ?
	UNION
	SELECT e.downstream_asset_id, e.downstream_column, w.depth + 1
	FROM down w JOIN column_edges e ON e.upstream_asset_id = w.asset_id AND e.upstream_column = w.col
	WHERE w.depth < ? AND e.tenant_id = ?
),
up(asset_id, col, depth) AS (
	SELECT {uuid}, {text}, 0 WHERE ?
	UNION
	SELECT e.upstream_asset_id, e.upstream_column, w.depth + 1
	FROM up w JOIN column_edges e ON e.downstream_asset_id = w.asset_id AND e.downstream_column = w.col
	WHERE w.depth < ? AND e.tenant_id = ?
),
kept(asset_id, col, depth, dir) AS (
	SELECT asset_id, col, min(k) / 2, CASE min(k) % 2 WHEN 1 THEN 'downstream' ELSE 'upstream' END
	FROM (
		SELECT asset_id, col, depth * 2 + 1 AS k FROM (SELECT asset_id, col, depth FROM down LIMIT ?) x
		UNION ALL
		SELECT asset_id, col, depth * 2 FROM (SELECT asset_id, col, depth FROM up LIMIT ?) y
	) w
	GROUP BY asset_id, col HAVING min(k) > 1
	ORDER BY min(k), asset_id, col LIMIT ?
)
SELECT 'n' AS kind, k.depth, k.dir, k.asset_id AS id, k.col, a.name, {nil} AS up, '' AS upcol, {nil} AS down, '' AS downcol,
	'' AS ttype, '' AS tsub, '' AS descr, {false} AS masking, '' AS source, a.created_at
FROM (SELECT asset_id, col, depth, dir FROM kept UNION ALL SELECT {uuid}, {text}, 0, '') k
JOIN assets a ON a.id = k.asset_id
WHERE a.tenant_id = ?
UNION ALL
SELECT 'e', 0, '', e.id, '', '', e.upstream_asset_id, e.upstream_column, e.downstream_asset_id, e.downstream_column,
	e.transformation_type, e.transformation_subtype, e.description, e.masking, e.source, e.created_at
FROM (SELECT asset_id, col, depth FROM kept WHERE dir = 'downstream' UNION ALL SELECT {uuid}, {text}, 0 WHERE ?) f
JOIN column_edges e ON e.upstream_asset_id = f.asset_id AND e.upstream_column = f.col
WHERE f.depth < ? AND e.tenant_id = ?
UNION ALL
SELECT 'e', 0, '', e.id, '', '', e.upstream_asset_id, e.upstream_column, e.downstream_asset_id, e.downstream_column,
	e.transformation_type, e.transformation_subtype, e.description, e.masking, e.source, e.created_at
FROM (SELECT asset_id, col, depth FROM kept WHERE dir = 'upstream' UNION ALL SELECT {uuid}, {text}, 0 WHERE ?) f
JOIN column_edges e ON e.downstream_asset_id = f.asset_id AND e.downstream_column = f.col
WHERE f.depth < ? AND e.tenant_id = ?`

// ColumnLineageWalk implements domain.ColumnRepository. The root's asset
// must be the tenant's (ErrNotFound otherwise).
func (s *Store) ColumnLineageWalk(ctx context.Context, q domain.ColumnLineageQuery, maxNodes int) (*domain.ColumnLineage, error) {
	scope, err := domain.ScopeFrom(ctx)
	if err != nil {
		return nil, err
	}
	if scope.IsSystem() {
		return nil, errNotFound("asset")
	}
	uuidParam, textParam, nilUUID, falseLit := "CAST(? AS uuid)", "CAST(? AS text)", "CAST('"+uuid.Nil.String()+"' AS uuid)", "false"
	if s.dialect != Postgres {
		uuidParam, textParam, nilUUID, falseLit = "?", "?", "'"+uuid.Nil.String()+"'", "0"
	}
	sqlText := strings.NewReplacer("{uuid}", uuidParam, "{text}", textParam, "{nil}", nilUUID, "{false}", falseLit).Replace(columnLineageSQL)
	tenant, root := scope.TenantID(), q.Asset.String()
	down, up := q.Direction != domain.Upstream, q.Direction != domain.Downstream
	bound := (q.MaxDepth + 1) * (maxNodes + 1)
	args := []any{root, q.Column, down, q.MaxDepth, tenant,
		root, q.Column, up, q.MaxDepth, tenant,
		bound, bound, maxNodes + 1,
		root, q.Column, tenant,
		root, q.Column, down, q.MaxDepth, tenant,
		root, q.Column, up, q.MaxDepth, tenant}
	var out *domain.ColumnLineage
	err = s.read(ctx, func(db *gorm.DB) error {
		rows, err := db.Raw(sqlText, args...).Rows()
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		out, err = scanColumnLineage(rows, q, maxNodes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanColumnLineage reads columnLineageSQL's rows.
func scanColumnLineage(rows rowScanner, q domain.ColumnLineageQuery, maxNodes int) (*domain.ColumnLineage, error) {
	out := &domain.ColumnLineage{Nodes: []domain.ColumnNode{}, Edges: []domain.ColumnEdge{}}
	foundRoot := false
	var (
		kind, dir, col, name, upCol, downCol, ttype, tsub, descr, source string
		depth                                                            int
		id, upID, downID                                                 uuidCol
		masking                                                          bool
		created                                                          flexTime
	)
	for rows.Next() {
		if err := rows.Scan(&kind, &depth, &dir, &id, &col, &name, &upID, &upCol, &downID, &downCol,
			&ttype, &tsub, &descr, &masking, &source, &created); err != nil {
			return nil, fmt.Errorf("scan column lineage: %w", err)
		}
		if kind == "e" {
			out.Edges = push(out.Edges, domain.ColumnEdge{
				ID: id.u, UpstreamAssetID: upID.u, UpstreamColumn: upCol, DownstreamAssetID: downID.u, DownstreamColumn: downCol,
				TransformationType: ttype, TransformationSubtype: tsub, Description: descr, Masking: masking, Source: source,
				CreatedAt: created.t.UTC(),
			})
			continue
		}
		ref := domain.ColumnRef{AssetID: id.u, AssetName: name, Column: col}
		if id.u == q.Asset && col == q.Column {
			if depth == 0 {
				out.Root, foundRoot = ref, true
			}
			continue
		}
		out.Nodes = push(out.Nodes, domain.ColumnNode{ColumnRef: ref, Depth: depth, Direction: domain.Direction(dir)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read column lineage: %w", err)
	}
	if !foundRoot {
		return nil, errNotFound("asset")
	}
	if len(out.Nodes) > maxNodes {
		out.Truncated = true
		last := 0
		for i, n := range out.Nodes {
			l := out.Nodes[last]
			if n.Depth > l.Depth || (n.Depth == l.Depth && n.Direction == domain.Downstream && l.Direction == domain.Upstream) {
				last = i
			}
		}
		out.Nodes = append(out.Nodes[:last], out.Nodes[last+1:]...)
	}
	type key struct {
		a uuid.UUID
		c string
	}
	in := map[key]bool{{q.Asset, q.Column}: true}
	for _, n := range out.Nodes {
		in[key{n.AssetID, n.Column}] = true
	}
	edges := out.Edges[:0]
	seen := map[uuid.UUID]bool{}
	for _, e := range out.Edges {
		if in[key{e.UpstreamAssetID, e.UpstreamColumn}] && in[key{e.DownstreamAssetID, e.DownstreamColumn}] && !seen[e.ID] {
			seen[e.ID] = true
			edges = append(edges, e)
		}
	}
	out.Edges = edges
	return out, nil
}
