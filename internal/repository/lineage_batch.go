package repository

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// The reads and the write of a chunk of OpenLineage events (the port
// domain.LineageBatchRepository): one statement per kind of row for the
// whole chunk. Every statement goes through the tenancy callbacks but the
// lock and the recursive walk, which are raw SQL that name the context's
// tenant themselves and pass row-level security.

// batchRows caps the rows of one multi-row INSERT, well within both
// databases' limits on bind parameters.
const batchRows = 500

// LineageEventsByHash implements domain.LineageBatchRepository. The
// events come without their bodies.
func (s *Store) LineageEventsByHash(ctx context.Context, hashes []string) ([]domain.LineageEvent, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	var rows []lineageEventRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Select("id", "execution_id", "event_kind", "event_type", "event_time", "event_hash", "warnings", "received_at").
			Where("event_hash IN ?", hashes).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.LineageEvent, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// AssetsOwnByName implements domain.LineageBatchRepository.
func (s *Store) AssetsOwnByName(ctx context.Context, names []string) ([]domain.Asset, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var rows []assetRow
	err := s.read(withRowSet(ctx, rowsOwn), func(tx *gorm.DB) error {
		return tx.Where("name IN ?", names).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.Asset, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// WorkflowsLatestLocked implements domain.LineageBatchRepository. The
// locks are taken in name order, so that two chunks naming the same
// workflows cannot wait for each other.
func (s *Store) WorkflowsLatestLocked(ctx context.Context, names []string) ([]domain.Workflow, error) {
	if len(names) == 0 {
		return nil, nil
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var out []domain.Workflow
	err := s.run(ctx, func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			values := strings.TrimSuffix(strings.Repeat("(?),", len(sorted)), ",")
			args := make([]any, len(sorted))
			for i, n := range sorted {
				args[i] = n
			}
			q := "SELECT pg_advisory_xact_lock(hashtextextended('servo.workflow:' || current_setting('app.tenant_id', true) || ':' || n, 0)) FROM (SELECT n FROM (VALUES " + values + ") AS v(n) ORDER BY n) AS s"
			if err := tx.Exec(q, args...).Error; err != nil {
				return err
			}
		}
		var rows []workflowRow
		err := tx.Where("name IN ?", names).
			Where("version = (SELECT MAX(w2.version) FROM workflows w2 WHERE w2.tenant_id = workflows.tenant_id AND w2.name = workflows.name)").
			Find(&rows).Error
		if err != nil {
			return err
		}
		out, err = workflowAssets(tx, rows)
		return err
	})
	return out, err
}

// RunsByIDOrKey implements domain.LineageBatchRepository.
func (s *Store) RunsByIDOrKey(ctx context.Context, ids []uuid.UUID, keys []string) ([]domain.Run, error) {
	if len(ids) == 0 && len(keys) == 0 {
		return nil, nil
	}
	var rows []runRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&runRow{})
		switch {
		case len(keys) == 0:
			q = q.Where(s.idsIn("id", ids))
		case len(ids) == 0:
			q = q.Where("idempotency_key IN ?", keys)
		default:
			q = q.Where(tx.Where(s.idsIn("id", ids)).Or("idempotency_key IN ?", keys))
		}
		return q.Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.Run, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// dependencyReachSQL returns the edges leaving the given assets and every
// asset downstream of them. UNION drops visited nodes, so it ends on a
// cycle too. Each part names the tenant; row-level security applies as
// well.
const dependencyReachSQL = `WITH RECURSIVE reach(id) AS (
	SELECT downstream_asset_id FROM asset_dependencies WHERE tenant_id = ? AND upstream_asset_id IN ?
	UNION
	SELECT d.downstream_asset_id FROM asset_dependencies d JOIN reach r ON d.upstream_asset_id = r.id WHERE d.tenant_id = ?
)
SELECT id, tenant_id, upstream_asset_id, downstream_asset_id, dependency_type, created_at FROM asset_dependencies
WHERE tenant_id = ? AND (upstream_asset_id IN ? OR upstream_asset_id IN (SELECT id FROM reach))`

// DependencyReach implements domain.LineageBatchRepository.
func (s *Store) DependencyReach(ctx context.Context, from []uuid.UUID) ([]domain.AssetDependency, error) {
	sc, err := domain.ScopeFrom(ctx)
	if err != nil {
		return nil, err
	}
	if sc.IsSystem() {
		return nil, fmt.Errorf("%w: dependencies belong to tenants", domain.ErrForbidden)
	}
	if err := s.DependencyLockGraph(ctx); err != nil {
		return nil, err
	}
	if len(from) == 0 {
		return nil, nil
	}
	t := sc.TenantID()
	var rows []dependencyRow
	err = s.run(ctx, func(tx *gorm.DB) error {
		return tx.Raw(dependencyReachSQL, t, from, t, t, from).Scan(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	return dependencies(rows), nil
}

// AssetVersionsOf implements domain.LineageBatchRepository.
func (s *Store) AssetVersionsOf(ctx context.Context, assetIDs []uuid.UUID) ([]domain.AssetVersion, error) {
	if len(assetIDs) == 0 {
		return nil, nil
	}
	var rows []assetVersionRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Select("id", "tenant_id", "asset_id", "version", "fields_hash", "execution_id", "created_at").
			Where(s.idsIn("asset_id", assetIDs)).Find(&rows).Error
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

// ColumnEdgesInto implements domain.LineageBatchRepository.
func (s *Store) ColumnEdgesInto(ctx context.Context, assetIDs []uuid.UUID) ([]domain.ColumnEdge, error) {
	if len(assetIDs) == 0 {
		return nil, nil
	}
	var rows []columnEdgeRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where(s.idsIn("downstream_asset_id", assetIDs)).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.ColumnEdge, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// createRows inserts rows with multi-row INSERTs; the tenancy callback
// stamps each row's tenant.
func createRows[R any](tx *gorm.DB, rows []R) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(&rows, batchRows).Error
}

// LineageBatchWrite implements domain.LineageBatchRepository: one
// multi-row INSERT per table, and one UPDATE for the runs that existed
// before (more past batchRows rows), in the order the keys need.
func (s *Store) LineageBatchWrite(ctx context.Context, b *domain.LineageBatch) error {
	t := now()
	stamp := func(at time.Time) time.Time {
		if at.IsZero() {
			return t
		}
		return at.UTC().Truncate(time.Microsecond)
	}
	return s.run(ctx, func(tx *gorm.DB) error {
		assets := make([]assetRow, len(b.Assets))
		for i := range b.Assets {
			assets[i] = assetRowFrom(&b.Assets[i])
			assets[i].TenantID = nil
			assets[i].CreatedAt, assets[i].UpdatedAt = t, t
		}
		if err := createRows(tx, assets); err != nil {
			return err
		}
		workflows := make([]workflowRow, len(b.Workflows))
		var links []workflowAssetRow
		for i, w := range b.Workflows {
			workflows[i] = workflowRow{
				ID: w.ID, Name: w.Name, Version: w.Version, Description: w.Description, Owner: w.Owner,
				Tags: stringList(w.Tags), Retry: jsonObject[domain.RetryPolicy]{V: w.Retry}, MaxActiveRuns: w.MaxActiveRuns,
				CreatedAt: t, UpdatedAt: t,
			}
			for pos, id := range w.AssetIDs {
				links = append(links, workflowAssetRow{WorkflowID: w.ID, Position: pos, AssetID: id})
			}
		}
		if err := createRows(tx, workflows); err != nil {
			return err
		}
		if err := createRows(tx, links); err != nil {
			return err
		}
		runs := make([]runRow, len(b.Runs))
		for i := range b.Runs {
			runs[i] = runRowFrom(&b.Runs[i])
			runs[i].TenantID = ""
			runs[i].CreatedAt, runs[i].UpdatedAt = stamp(b.Runs[i].CreatedAt), stamp(b.Runs[i].UpdatedAt)
		}
		if err := createRows(tx, runs); err != nil {
			return err
		}
		for rest := b.RunUpdates; len(rest) > 0; {
			n := min(len(rest), batchRows)
			if err := s.updateRuns(ctx, tx, rest[:n], stamp); err != nil {
				return err
			}
			rest = rest[n:]
		}
		events := make([]runEventRow, len(b.RunEvents))
		for i, e := range b.RunEvents {
			events[i] = runEventRow{ID: e.ID, RunID: e.RunID, FromState: string(e.From), ToState: string(e.To),
				At: stamp(e.At), Attempt: e.Attempt, Reason: e.Reason}
		}
		if err := createRows(tx, events); err != nil {
			return err
		}
		deps := make([]dependencyRow, len(b.Dependencies))
		for i, d := range b.Dependencies {
			deps[i] = dependencyRow{ID: d.ID, UpstreamAssetID: d.UpstreamAssetID, DownstreamAssetID: d.DownstreamAssetID,
				DependencyType: string(d.DependencyType), PartitionMapping: jsonObject[domain.PartitionMapping]{V: d.PartitionMapping}, CreatedAt: t}
		}
		if err := createRows(tx, deps); err != nil {
			return err
		}
		versions := make([]assetVersionRow, len(b.Versions))
		for i, v := range b.Versions {
			versions[i] = assetVersionRow{ID: v.ID, AssetID: v.AssetID, Version: v.Version, Fields: fieldList(v.Fields),
				FieldsHash: v.FieldsHash, RunID: v.RunID, CreatedAt: t}
		}
		if err := createRows(tx, versions); err != nil {
			return err
		}
		edges := make([]columnEdgeRow, len(b.ColumnEdges))
		for i, e := range b.ColumnEdges {
			edges[i] = columnEdgeRow{
				ID: e.ID, UpstreamAssetID: e.UpstreamAssetID, UpstreamColumn: e.UpstreamColumn,
				DownstreamAssetID: e.DownstreamAssetID, DownstreamColumn: e.DownstreamColumn,
				TransformationType: e.TransformationType, TransformationSubtype: e.TransformationSubtype,
				Description: e.Description, Masking: e.Masking, Source: e.Source, CreatedAt: t,
			}
		}
		if err := createRows(tx, edges); err != nil {
			return err
		}
		lineage := make([]lineageEventRow, len(b.Events))
		for i, e := range b.Events {
			lineage[i] = lineageEventRow{
				ID: e.ID, RunID: e.RunID, EventKind: e.Kind, EventType: e.EventType,
				EventTime: e.EventTime.UTC().Truncate(time.Microsecond), EventHash: e.Hash,
				Event: rawJSON(e.Body), Warnings: stringList(e.Warnings), ReceivedAt: t,
			}
		}
		return createRows(tx, lineage)
	})
}

// updateRuns moves runs in one UPDATE ... FROM (VALUES ...), each only if
// it is still in its From state (as RunTransition's compare-and-swap);
// a run that is not is ErrConflict. The statement names the context's
// tenant, and row-level security applies as well.
func (s *Store) updateRuns(ctx context.Context, tx *gorm.DB, us []domain.RunUpdate, stamp func(time.Time) time.Time) error {
	sc, err := domain.ScopeFrom(ctx)
	if err != nil {
		return err
	}
	if sc.IsSystem() {
		return fmt.Errorf("%w: runs belong to tenants", domain.ErrForbidden)
	}
	row := "(?, ?, ?, ?, ?, ?, ?, ?)"
	if s.dialect == Postgres {
		row = "(?::uuid, ?::text, ?::text, ?::int, ?::timestamptz, ?::timestamptz, ?::text, ?::timestamptz)"
	}
	var q strings.Builder
	q.WriteString("UPDATE executions AS e SET state = v.column3, attempt = v.column4, started_at = v.column5, completed_at = v.column6, error_message = v.column7, updated_at = v.column8 FROM (VALUES ")
	args := make([]any, 0, len(us)*8+1)
	for i, u := range us {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
		r := u.Run
		args = append(args, r.ID, string(u.From), string(r.State), r.Attempt, utcPtr(r.StartedAt), utcPtr(r.CompletedAt), r.ErrorMessage, stamp(r.UpdatedAt))
	}
	q.WriteString(") AS v WHERE e.tenant_id = ? AND e.id = v.column1 AND e.state = v.column2")
	args = append(args, sc.TenantID())
	res := tx.Exec(q.String(), args...)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != int64(len(us)) {
		return fmt.Errorf("%w: %d of %d runs were no longer in the state the batch read", domain.ErrConflict, int64(len(us))-res.RowsAffected, len(us))
	}
	return nil
}

var _ domain.LineageBatchRepository = (*Store)(nil)
