package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// The lineage walk is one statement. Two recursive CTEs walk the tenant's
// edges down from the root and up from it; each emits its rows level by
// level, so a prefix of either is a breadth-first prefix, and each is read
// only up to a bound (a recursive CTE is evaluated as far as it is read).
// A node keeps its shortest depth, upstream on a tie (which only a cycle can
// make): the key depth*2+(1 if downstream) orders both at once. The nodes
// kept are the first maxNodes+1 by that key and id. The answer is the root
// and the kept nodes joined with their asset rows, followed by the edges
// leaving (downstream) or entering (upstream) the root and every kept node
// short of the depth limit.
//
// Every part is driven by the kept nodes through an index, never by a scan
// of a tenant's edges or assets: CROSS JOIN makes SQLite keep the left side
// as the outer loop (PostgreSQL plans it as the inner join it is). Edges,
// nodes and assets are filtered by tenant here as well as by row-level
// security: this is raw SQL, which the tenancy callbacks do not rewrite.
// Columns a row kind does not use hold an empty string or the nil UUID
// rather than NULL, so that pgx decodes them straight into Go values.
const lineageSQL = `WITH RECURSIVE
down(id, depth) AS (
	SELECT {uuid}, 0 WHERE ?
	UNION
	SELECT d.downstream_asset_id, w.depth + 1
	FROM down w JOIN asset_dependencies d ON d.upstream_asset_id = w.id
	WHERE w.depth < ? AND {noindex}d.tenant_id = ?{types}
),
up(id, depth) AS (
	SELECT {uuid}, 0 WHERE ?
	UNION
	SELECT d.upstream_asset_id, w.depth + 1
	FROM up w JOIN asset_dependencies d ON d.downstream_asset_id = w.id
	WHERE w.depth < ? AND {noindex}d.tenant_id = ?{types}
),
kept(id, depth, dir) AS MATERIALIZED (
	SELECT id, min(k) / 2, CASE min(k) % 2 WHEN 1 THEN 'downstream' ELSE 'upstream' END
	FROM (
		SELECT id, depth * 2 + 1 AS k FROM (SELECT id, depth FROM down LIMIT ?) x
		UNION ALL
		SELECT id, depth * 2 FROM (SELECT id, depth FROM up LIMIT ?) y
	) w
	GROUP BY id HAVING min(k) > 1
	ORDER BY min(k), id LIMIT ?
)
SELECT 'n' AS kind, k.depth, k.dir, a.id, a.tenant_id, a.name, a.description, a.asset_type, a.owner,
	a.tags, a.compute, a.created_at, a.updated_at, {nil} AS up, {nil} AS down, '' AS dep_type
FROM (SELECT id, depth, dir FROM kept UNION ALL SELECT {uuid}, 0, '') k CROSS JOIN assets a
WHERE a.id = k.id AND (a.tenant_id = ? OR a.tenant_id IS NULL)
UNION ALL
SELECT 'e', 0, '', e.id, e.tenant_id, '', '', '', '',
	NULL, NULL, e.created_at, e.created_at, e.upstream_asset_id, e.downstream_asset_id, e.dependency_type
FROM (SELECT id, depth FROM kept WHERE dir = 'downstream' UNION ALL SELECT {uuid}, 0 WHERE ?) f
CROSS JOIN asset_dependencies e
WHERE e.upstream_asset_id = f.id AND f.depth < ? AND {noindex}e.tenant_id = ?{typesE}
UNION ALL
SELECT 'e', 0, '', e.id, e.tenant_id, '', '', '', '',
	NULL, NULL, e.created_at, e.created_at, e.upstream_asset_id, e.downstream_asset_id, e.dependency_type
FROM (SELECT id, depth FROM kept WHERE dir = 'upstream' UNION ALL SELECT {uuid}, 0 WHERE ?) f
CROSS JOIN asset_dependencies e
WHERE e.downstream_asset_id = f.id AND f.depth < ? AND {noindex}e.tenant_id = ?{typesE}`

// lineageStatement returns lineageSQL for the dialect and the number of
// edge types, with its arguments.
func (s *Store) lineageStatement(tenant string, q domain.LineageQuery, maxNodes int) (string, []any) {
	// SQLite, without statistics, would look edges up by their tenant
	// (every edge of the tenant, for each node) rather than by their end;
	// a unary + keeps it off the tenant index.
	uuidParam, nilUUID, noIndex := "CAST(? AS uuid)", "CAST('"+uuid.Nil.String()+"' AS uuid)", ""
	if s.dialect != Postgres {
		uuidParam, nilUUID, noIndex = "?", "'"+uuid.Nil.String()+"'", "+"
	}
	types, typesE := "", ""
	var typeArgs []any
	if len(q.Types) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(q.Types)), ", ")
		types = " AND d.dependency_type IN (" + marks + ")"
		typesE = " AND e.dependency_type IN (" + marks + ")"
		for _, t := range q.Types {
			typeArgs = append(typeArgs, string(t))
		}
	}
	sqlText := strings.NewReplacer("{uuid}", uuidParam, "{nil}", nilUUID, "{noindex}", noIndex, "{types}", types, "{typesE}", typesE).Replace(lineageSQL)

	root := q.Root.String()
	down := q.Direction != domain.Upstream
	up := q.Direction != domain.Downstream
	// A walk reads at most this many (node, depth) rows in each direction:
	// enough to hold more than maxNodes distinct nodes even if every one
	// were reached at every depth, so the bound can only cut a walk that
	// the node cap cuts anyway.
	bound := (q.MaxDepth + 1) * (maxNodes + 1)
	args := []any{root, down, q.MaxDepth, tenant}
	args = append(args, typeArgs...)
	args = append(args, root, up, q.MaxDepth, tenant)
	args = append(args, typeArgs...)
	args = append(args, bound, bound, maxNodes+1, root, tenant)
	args = append(args, root, down, q.MaxDepth, tenant)
	args = append(args, typeArgs...)
	args = append(args, root, up, q.MaxDepth, tenant)
	args = append(args, typeArgs...)
	return sqlText, args
}

// LineageWalk implements domain.DependencyRepository.
func (s *Store) LineageWalk(ctx context.Context, q domain.LineageQuery, maxNodes int) (*domain.Lineage, error) {
	scope, err := domain.ScopeFrom(ctx)
	if err != nil {
		return nil, err
	}
	if scope.IsSystem() {
		// Edges are tenant rows: in the system scope a (global) asset is
		// its own whole lineage.
		root, err := s.AssetGet(ctx, q.Root)
		if err != nil {
			return nil, err
		}
		return &domain.Lineage{Root: *root, Nodes: []domain.LineageNode{}, Edges: []domain.AssetDependency{}}, nil
	}
	sqlText, args := s.lineageStatement(scope.TenantID(), q, maxNodes)
	var out *domain.Lineage
	if _, inTx := ctx.Value(txKey{}).(*txState); !inTx && s.dialect == Postgres && s.plainReads {
		countRead(ctx)
		err = s.pgxRead(ctx, readScope{tenant: scope.TenantID()}, dollarize(sqlText), args, func(rows pgx.Rows) error {
			var err error
			out, err = scanLineage(rows, q.Root, maxNodes)
			return err
		})
		if err != nil {
			return nil, translate(err)
		}
		return out, nil
	}
	err = s.read(ctx, func(db *gorm.DB) error {
		rows, err := db.Raw(sqlText, args...).Rows()
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		out, err = scanLineage(rows, q.Root, maxNodes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rowScanner is what scanLineage needs of *sql.Rows and of pgx.Rows.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanLineage reads lineageSQL's rows into a Lineage whose nodes and edges
// are in no particular order.
func scanLineage(rows rowScanner, root uuid.UUID, maxNodes int) (*domain.Lineage, error) {
	out := &domain.Lineage{Nodes: []domain.LineageNode{}, Edges: []domain.AssetDependency{}}
	foundRoot := false
	var (
		kind, dir                       string
		depth                           int
		id, upID, downID                uuidCol
		tenant                          *string
		name, desc, typ, owner, depType string
		tags                            stringList
		compute                         jsonObject[domain.ComputeSpec]
		created, updated                flexTime
	)
	for rows.Next() {
		if err := rows.Scan(&kind, &depth, &dir, &id, &tenant, &name, &desc, &typ, &owner,
			&tags, &compute, &created, &updated, &upID, &downID, &depType); err != nil {
			return nil, fmt.Errorf("scan lineage: %w", err)
		}
		if kind == "e" {
			t := ""
			if tenant != nil {
				t = *tenant
			}
			out.Edges = push(out.Edges, domain.AssetDependency{
				ID: id.u, TenantID: t, UpstreamAssetID: upID.u, DownstreamAssetID: downID.u,
				DependencyType: domain.DependencyType(depType), CreatedAt: created.t.UTC(),
			})
			continue
		}
		row := assetRow{ID: id.u, TenantID: tenant, Name: name, Description: desc, AssetType: typ,
			Owner: owner, Tags: tags, Compute: compute, CreatedAt: created.t, UpdatedAt: updated.t}
		a := row.toDomain()
		if id.u == root {
			// The root's own row (depth 0); a walk that came back to the
			// root through a cycle does not list it as a node.
			if depth == 0 {
				out.Root, foundRoot = a, true
			}
			continue
		}
		out.Nodes = push(out.Nodes, domain.LineageNode{Asset: a, Depth: depth, Direction: domain.Direction(dir)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read lineage: %w", err)
	}
	if !foundRoot {
		return nil, errNotFound("asset")
	}
	if len(out.Nodes) > maxNodes {
		// The statement kept one node more than the cap to tell a cut walk
		// from one that ended by itself.
		out.Truncated = true
		out.Nodes = dropLastKept(out.Nodes)
	}
	// An edge whose far end is not in the answer leads past the node cap.
	in := make(map[uuid.UUID]bool, len(out.Nodes)+1)
	in[root] = true
	for _, n := range out.Nodes {
		in[n.Asset.ID] = true
	}
	edges := out.Edges[:0]
	for _, e := range out.Edges {
		if in[e.UpstreamAssetID] && in[e.DownstreamAssetID] {
			edges = append(edges, e)
		}
	}
	out.Edges = edges
	return out, nil
}

// dropLastKept removes the last node in the statement's keep order
// (depth, then upstream before downstream, then id).
func dropLastKept(nodes []domain.LineageNode) []domain.LineageNode {
	last := 0
	for i := range nodes {
		if keptAfter(nodes[i], nodes[last]) {
			last = i
		}
	}
	return append(nodes[:last], nodes[last+1:]...)
}

// keptAfter reports whether a comes after b in the statement's keep order.
func keptAfter(a, b domain.LineageNode) bool {
	if a.Depth != b.Depth {
		return a.Depth > b.Depth
	}
	if a.Direction != b.Direction {
		return a.Direction == domain.Downstream
	}
	return bytes.Compare(a.Asset.ID[:], b.Asset.ID[:]) > 0
}

// push appends v to s, doubling its capacity when full: append grows a
// large slice by a quarter at a time, which for an answer of tens of
// thousands of rows means copying it over and over.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		grown := make([]T, len(s), max(64, 2*cap(s)))
		copy(grown, s)
		s = grown
	}
	return append(s, v)
}

// uuidCol scans a uuid column: pgx hands it the 16 bytes (ScanUUID),
// database/sql the text (Scan). uuid.UUID alone would take database/sql's
// path under pgx too, through its text form.
type uuidCol struct{ u uuid.UUID }

// ScanUUID implements pgtype.UUIDScanner.
func (c *uuidCol) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		return errors.New("uuid: unexpected NULL")
	}
	c.u = v.Bytes
	return nil
}

// Scan implements sql.Scanner.
func (c *uuidCol) Scan(src any) error { return c.u.Scan(src) }

// flexTime scans a timestamp that comes back as a time, or as text where
// SQLite has lost the column's declared type in a compound statement.
type flexTime struct{ t time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner, pgx's direct path.
func (f *flexTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	f.t = v.Time
	return nil
}

// Scan implements sql.Scanner.
func (f *flexTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		f.t = time.Time{}
		return nil
	case time.Time:
		f.t = v
		return nil
	case string:
		return f.parse(v)
	case []byte:
		return f.parse(string(v))
	}
	return fmt.Errorf("timestamp: cannot scan %T", src)
}

func (f *flexTime) parse(s string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			f.t = t
			return nil
		}
	}
	return fmt.Errorf("timestamp: cannot parse %q", s)
}
