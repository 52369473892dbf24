package repository

import (
	"context"
	"fmt"
	"strings"

	"github.com/servo-data/servo/migrations"
)

// TenantTables lists every table that holds tenant data and must have
// row-level security forced.
var TenantTables = []string{"tenants", "assets", "asset_dependencies", "workflows", "workflow_assets", "executions", "api_keys", "run_events", "run_logs", "lineage_events", "asset_versions", "column_edges", "checks", "check_results", "asset_partition_keys", "backfills", "backfill_partitions", "schedules", "schedule_ticks", "asset_freshness", "asset_partitions", "automations", "automation_assets", "automation_evaluations", "run_leases", "asset_tags"}

// CheckSafety refuses a PostgreSQL connection that could bypass row-level
// security (a superuser, a BYPASSRLS role, or a role with the table owner's
// privileges), a tenant table without forced row-level security, and a
// schema behind this binary's migrations. SQLite passes trivially.
func (s *Store) CheckSafety(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	var user string
	var super, bypass bool
	err := s.sqlDB.QueryRowContext(ctx,
		`SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &bypass)
	if err != nil {
		return fmt.Errorf("read role attributes: %w", err)
	}
	if super || bypass {
		return fmt.Errorf("refusing to serve as role %q: it is a superuser or has BYPASSRLS, which bypasses row-level security; connect as the application role (see README, migrations)", user)
	}
	rows, err := s.sqlDB.QueryContext(ctx, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_has_role(current_user, c.relowner, 'MEMBER')
		FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY($1)`,
		"{"+strings.Join(TenantTables, ",")+"}")
	if err != nil {
		return fmt.Errorf("read table security: %w", err)
	}
	defer func() { _ = rows.Close() }()
	seen := map[string]bool{}
	for rows.Next() {
		var name string
		var rls, force, owner bool
		if err := rows.Scan(&name, &rls, &force, &owner); err != nil {
			return fmt.Errorf("read table security: %w", err)
		}
		seen[name] = true
		if owner {
			return fmt.Errorf("refusing to serve as role %q: it has the privileges of the owner of table %s and could disable row-level security", user, name)
		}
		if !rls || !force {
			return fmt.Errorf("refusing to serve: row-level security is not enabled and forced on table %s", name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read table security: %w", err)
	}
	return s.checkMigrations(ctx, seen)
}

// checkMigrations refuses a schema that lacks any of this binary's
// migrations.
func (s *Store) checkMigrations(ctx context.Context, tables map[string]bool) error {
	want, err := migrations.IDs(string(s.dialect))
	if err != nil {
		return err
	}
	for _, t := range TenantTables {
		if !tables[t] {
			return fmt.Errorf("refusing to serve: table %s is missing; run `servo migrate up` first", t)
		}
	}
	rows, err := s.sqlDB.QueryContext(ctx, "SELECT id FROM "+migrations.Table)
	if err != nil {
		return fmt.Errorf("read applied migrations (run `servo migrate up` first): %w", err)
	}
	defer func() { _ = rows.Close() }()
	applied := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
		applied[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	for _, id := range want {
		if !applied[id] {
			return fmt.Errorf("refusing to serve: migration %s is not applied; run `servo migrate up` first", id)
		}
	}
	return nil
}
