package repository

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository/tenantconn"
)

// The lineage walk is the service's (internal/service/lineage.go); the
// repository answers its two questions, each in one round trip: the edges
// of one level for a whole frontier, and the rows of the nodes reached.
//
// On PostgreSQL outside a transaction both are read with pgx itself in the
// tenant pipeline (tenantconn): one statement text per shape, so pgx
// prepares it once per connection, the ids sent as one uuid[] parameter,
// binary rows decoded straight into Go values. Edges and assets are
// filtered by tenant here as well as by row-level security: this is raw
// SQL, which the tenancy callbacks do not rewrite. Elsewhere (SQLite, or
// inside a transaction) the same questions go through GORM.

// lineageEdgeCols are the columns of an edge the walk reads, in the order
// decodeEdge expects them.
const lineageEdgeCols = "SELECT id, upstream_asset_id, downstream_asset_id, dependency_type, partition_mapping, created_at FROM asset_dependencies WHERE tenant_id = $1 AND "

// lineageEdgeSQL returns the statement for a shape of EdgeQuery: edges
// leaving $2 (down), entering the next parameter (up), of the types in the
// last (typed); $1 is the tenant.
func lineageEdgeSQL(down, up, typed bool) string {
	where, n := "", 1
	next := func() string { n++; return fmt.Sprintf("$%d", n) }
	switch {
	case down && up:
		where = "(upstream_asset_id = ANY(" + next() + "::uuid[]) OR downstream_asset_id = ANY(" + next() + "::uuid[]))"
	case down:
		where = "upstream_asset_id = ANY(" + next() + "::uuid[])"
	default:
		where = "downstream_asset_id = ANY(" + next() + "::uuid[])"
	}
	if typed {
		where += " AND dependency_type = ANY(" + next() + "::text[])"
	}
	return lineageEdgeCols + where
}

// lineageEdgeSQLs holds lineageEdgeSQL for each shape, indexed
// [down][up][typed], built once: a constant text is prepared once per
// connection.
var lineageEdgeSQLs = func() (out [2][2][2]string) {
	for _, down := range []bool{false, true} {
		for _, up := range []bool{false, true} {
			for _, typed := range []bool{false, true} {
				out[b2i(down)][b2i(up)][b2i(typed)] = lineageEdgeSQL(down, up, typed)
			}
		}
	}
	return out
}()

// lineageAssetSQL reads the rows of $2 that tenant $1 can see: its own and
// the global ones.
const lineageAssetSQL = "SELECT " + assetCols + " FROM assets WHERE id = ANY($2::uuid[]) AND (tenant_id = $1 OR tenant_id IS NULL)"

// pgxReads reports whether a read of ctx goes through pgxRead.
func (s *Store) pgxReads(ctx context.Context) bool {
	_, inTx := ctx.Value(txKey{}).(*txState)
	return !inTx && s.dialect == Postgres && s.plainReads
}

// LineageEdges implements domain.LineageRepository.
func (s *Store) LineageEdges(ctx context.Context, q domain.EdgeQuery, dst []domain.AssetDependency) ([]domain.AssetDependency, error) {
	scope, err := domain.ScopeFrom(ctx)
	if err != nil {
		return dst, err
	}
	if scope.IsSystem() || (len(q.DownstreamOf) == 0 && len(q.UpstreamOf) == 0) {
		return dst, nil
	}
	if !s.pgxReads(ctx) {
		edges, err := s.DependencyEdges(ctx, q)
		return append(dst, edges...), err
	}
	tenant := scope.TenantID()
	var types []string
	if len(q.Types) > 0 {
		types = make([]string, len(q.Types))
		for i, t := range q.Types {
			types[i] = string(t)
		}
	}
	sqlText := lineageEdgeSQLs[b2i(len(q.DownstreamOf) > 0)][b2i(len(q.UpstreamOf) > 0)][b2i(types != nil)]
	args := make([]any, 1, 4)
	args[0] = tenant
	if len(q.DownstreamOf) > 0 {
		args = append(args, uuidArray(q.DownstreamOf))
	}
	if len(q.UpstreamOf) > 0 {
		args = append(args, uuidArray(q.UpstreamOf))
	}
	if types != nil {
		args = append(args, types)
	}
	countRead(ctx)
	err = s.pgxRead(ctx, tenantconn.Scope{Tenant: tenant}, sqlText, args, func(rows pgx.Rows) error {
		jsonbBinary, err := edgeFormats(rows)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := decodeEdge(rows.RawValues(), tenant, jsonbBinary)
			if err != nil {
				return err
			}
			dst = push(dst, e)
		}
		return rows.Err()
	})
	if err != nil {
		return dst, translate(fmt.Errorf("lineage edges: %w", err))
	}
	return dst, nil
}

// LineageAssets implements domain.LineageRepository.
func (s *Store) LineageAssets(ctx context.Context, ids []uuid.UUID, dst []domain.Asset) ([]domain.Asset, error) {
	scope, err := domain.ScopeFrom(ctx)
	if err != nil {
		return dst, err
	}
	if len(ids) == 0 {
		return dst, nil
	}
	if !s.pgxReads(ctx) || scope.IsSystem() {
		assets, err := s.AssetGetMany(ctx, ids)
		return append(dst, assets...), err
	}
	tenant := scope.TenantID()
	countRead(ctx)
	err = s.pgxRead(ctx, tenantconn.Scope{Tenant: tenant}, lineageAssetSQL, []any{tenant, uuidArray(ids)}, func(rows pgx.Rows) error {
		sc := newAssetScan(tenant)
		for rows.Next() {
			a, err := sc.scan(rows)
			if err != nil {
				return err
			}
			dst = push(dst, a)
		}
		return rows.Err()
	})
	if err != nil {
		return dst, translate(fmt.Errorf("lineage assets: %w", err))
	}
	return dst, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// uuidArray returns ids as pgx encodes a uuid[] parameter without a
// conversion per element (uuid.UUID would go through its text form).
func uuidArray(ids []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// lineageEdgeColumns is the number of columns of lineageEdgeSQL.
const lineageEdgeColumns = 6

// edgeFormats checks the columns of an edge statement and returns whether
// partition_mapping (jsonb) came in the binary format. The uuid and
// timestamp columns must be binary (pgx asks for it); text and jsonb may
// come in either.
func edgeFormats(rows pgx.Rows) (jsonbBinary bool, err error) {
	fields := rows.FieldDescriptions()
	if len(fields) != lineageEdgeColumns {
		return false, fmt.Errorf("%d columns, want %d", len(fields), lineageEdgeColumns)
	}
	for _, i := range []int{0, 1, 2, 5} {
		if fields[i].Format != pgx.BinaryFormatCode {
			return false, fmt.Errorf("column %s not in binary format", fields[i].Name)
		}
	}
	return fields[4].Format == pgx.BinaryFormatCode, nil
}

// pgEpoch is the zero of PostgreSQL's binary timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// decodeEdge decodes one row of lineageEdgeSQL. The dependency type is one
// of three constants, so it costs no allocation; the tenant is the scope's.
func decodeEdge(raw [][]byte, tenant string, jsonbBinary bool) (domain.AssetDependency, error) {
	var e domain.AssetDependency
	if len(raw[0]) != 16 || len(raw[1]) != 16 || len(raw[2]) != 16 || len(raw[5]) != 8 {
		return e, errors.New("malformed row")
	}
	e.ID, e.UpstreamAssetID, e.DownstreamAssetID = uuid.UUID(raw[0]), uuid.UUID(raw[1]), uuid.UUID(raw[2])
	e.TenantID = tenant
	switch domain.DependencyType(raw[3]) {
	case domain.DependencyData:
		e.DependencyType = domain.DependencyData
	case domain.DependencyMetadata:
		e.DependencyType = domain.DependencyMetadata
	case domain.DependencyControl:
		e.DependencyType = domain.DependencyControl
	default:
		e.DependencyType = domain.DependencyType(string(raw[3]))
	}
	if pm := raw[4]; pm != nil {
		if jsonbBinary {
			// jsonb's binary form is a version byte and the text.
			if len(pm) < 1 || pm[0] != 1 {
				return e, errors.New("malformed partition_mapping")
			}
			pm = pm[1:]
		}
		var m jsonObject[domain.PartitionMapping]
		if err := m.Scan(pm); err != nil {
			return e, err
		}
		e.PartitionMapping = m.V
	}
	us := int64(binary.BigEndian.Uint64(raw[5]))
	e.CreatedAt = pgEpoch.Add(time.Duration(us) * time.Microsecond)
	return e, nil
}

// sharedText scans a nullable text column and hands back one shared
// pointer for the value it is told to expect (the scope's tenant), so that
// thousands of rows of one tenant do not each allocate a string.
type sharedText struct {
	shared string
	ptrTo  *string // &shared's copy, made on first use
	v      *string
}

// ScanBytes implements pgtype.BytesScanner; a NULL comes as nil.
func (t *sharedText) ScanBytes(b []byte) error {
	switch {
	case b == nil:
		t.v = nil
	case string(b) == t.shared:
		if t.ptrTo == nil {
			s := t.shared
			t.ptrTo = &s
		}
		t.v = t.ptrTo
	default:
		s := string(b)
		t.v = &s
	}
	return nil
}

// ptr returns the value scanned last, nil for NULL.
func (t *sharedText) ptr() *string { return t.v }

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

// rowScanner is what a scan of a walk's rows needs of *sql.Rows and of
// pgx.Rows.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}
