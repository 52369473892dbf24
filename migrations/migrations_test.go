package migrations_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/migrations"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// appOpts grants the test application role, which testdb.Open logs in as.
var appOpts = migrations.Options{AppRole: testdb.AppRole}

// openMigrator opens an unscoped handle as the schema owner (PostgreSQL URL
// or SQLite path), closed when the test ends.
func openMigrator(t *testing.T, url string) *gorm.DB {
	t.Helper()
	gdb, err := repository.OpenMigrator(context.Background(), url, repository.PoolConfig{MaxOpen: 2, ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatalf("open migrator: %v", err)
	}
	t.Cleanup(func() {
		if db, err := gdb.DB(); err == nil {
			_ = db.Close()
		}
	})
	return gdb
}

func dialect(gdb *gorm.DB) string {
	if gdb.Dialector.Name() == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// tables lists the schema's tables.
func tables(t *testing.T, gdb *gorm.DB) []string {
	t.Helper()
	q := "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
	if dialect(gdb) == "sqlite" {
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
	}
	var names []string
	if err := gdb.Raw(q).Scan(&names).Error; err != nil {
		t.Fatalf("list tables: %v", err)
	}
	return names
}

// wantStatus checks that exactly the first n migrations are applied.
func wantStatus(t *testing.T, gdb *gorm.DB, n int) {
	t.Helper()
	ids, err := migrations.IDs(dialect(gdb))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]migrations.State, len(ids))
	for i, id := range ids {
		want[i] = migrations.State{ID: id, Applied: i < n}
	}
	got, err := migrations.Status(context.Background(), gdb)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("status = %+v, want %+v", got, want)
	}
	var applied []string
	if slices.Contains(tables(t, gdb), migrations.Table) {
		if err := gdb.Raw("SELECT id FROM " + migrations.Table + " ORDER BY id").Scan(&applied).Error; err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(applied, ids[:n]) {
		t.Errorf("%s holds %v, want %v", migrations.Table, applied, ids[:n])
	}
}

// seedRows inserts a row into every tenant table, as the owner (outside
// row-level security), and checks that each table got one.
func seedRows(t *testing.T, gdb *gorm.DB) {
	t.Helper()
	now := time.Now().UTC()
	tenant := "mig-" + randomHex()
	up, down, global, dep, wf, run, key := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	check := uuid.NewString()
	backfill := uuid.NewString()
	sched, auto := uuid.NewString(), uuid.NewString()
	hash := make([]byte, 32)
	_, _ = rand.Read(hash)
	stmts := []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", []any{tenant, "seeded", now}},
		{"INSERT INTO assets (id, tenant_id, name, created_at, updated_at) VALUES (?, ?, 'up', ?, ?), (?, ?, 'down', ?, ?), (?, NULL, ?, ?, ?)",
			[]any{up, tenant, now, now, down, tenant, now, now, global, "global-" + tenant, now, now}},
		{"INSERT INTO asset_dependencies (id, tenant_id, upstream_asset_id, downstream_asset_id, dependency_type, created_at) VALUES (?, ?, ?, ?, 'data', ?)",
			[]any{dep, tenant, up, down, now}},
		{"INSERT INTO workflows (id, tenant_id, name, version, created_at, updated_at) VALUES (?, ?, 'wf', 1, ?, ?)", []any{wf, tenant, now, now}},
		{"INSERT INTO workflow_assets (tenant_id, workflow_id, position, asset_id) VALUES (?, ?, 0, ?)", []any{tenant, wf, up}},
		{"INSERT INTO executions (id, tenant_id, workflow_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", []any{run, tenant, wf, now, now}},
		{"INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_at) VALUES (?, ?, 'k', 'svk_', ?, ?)", []any{key, tenant, hash, now}},
		{"INSERT INTO lineage_events (id, tenant_id, execution_id, event_kind, event_type, event_time, event_hash, event, received_at) VALUES (?, ?, ?, 'RunEvent', 'START', ?, ?, '{}', ?)",
			[]any{uuid.NewString(), tenant, run, now, hex.EncodeToString(hash), now}},
		{"INSERT INTO run_events (id, tenant_id, execution_id, from_state, to_state, at, attempt) VALUES (?, ?, ?, 'pending', 'queued', ?, 1)", []any{uuid.NewString(), tenant, run, now}},
		{"INSERT INTO run_logs (execution_id, tenant_id, content, updated_at) VALUES (?, ?, 'output', ?)", []any{run, tenant, now}},
		{"INSERT INTO system_settings (name, value, created_at) VALUES (?, 'v', ?)", []any{"seed-" + tenant, now}},
		{"INSERT INTO asset_versions (id, tenant_id, asset_id, version, fields, fields_hash, execution_id, created_at) VALUES (?, ?, ?, 1, '[]', ?, ?, ?)",
			[]any{uuid.NewString(), tenant, down, hex.EncodeToString(hash), run, now}},
		{"INSERT INTO column_edges (id, tenant_id, upstream_asset_id, upstream_column, downstream_asset_id, downstream_column, source, created_at) VALUES (?, ?, ?, 'a', ?, 'b', 'manual', ?)",
			[]any{uuid.NewString(), tenant, up, down, now}},
		{"INSERT INTO checks (id, tenant_id, asset_id, name, check_type, created_at, updated_at) VALUES (?, ?, ?, 'not-null', '{\"type\": \"not_null\", \"columns\": [\"id\"]}', ?, ?)", []any{check, tenant, up, now, now}},
		{"INSERT INTO check_results (id, tenant_id, execution_id, attempt, check_id, check_name, outcome, severity, blocking, source, executed_at, created_at) VALUES (?, ?, ?, 1, ?, 'not-null', 'failed', 'error', true, 'step', ?, ?)",
			[]any{uuid.NewString(), tenant, run, check, now, now}},
		{"INSERT INTO asset_partition_keys (tenant_id, asset_id, partition_key, created_at) VALUES (?, ?, 'eu', ?)", []any{tenant, up, now}},
		{"INSERT INTO backfills (id, tenant_id, asset_id, state, max_concurrency, total, created_at, updated_at) VALUES (?, ?, ?, 'running', 4, 1, ?, ?)", []any{backfill, tenant, up, now, now}},
		{"INSERT INTO backfill_partitions (tenant_id, backfill_id, position, partition_key, state) VALUES (?, ?, 0, 'eu', 'pending')", []any{tenant, backfill}},
		{"INSERT INTO schedules (id, tenant_id, name, workflow_name, cron, next_tick_at, created_at, updated_at) VALUES (?, ?, 'nightly', 'wf', '0 2 * * *', ?, ?, ?)",
			[]any{sched, tenant, now, now, now}},
		{"INSERT INTO schedule_ticks (id, tenant_id, schedule_id, tick_at, status, created_at) VALUES (?, ?, ?, ?, 'skipped', ?)",
			[]any{uuid.NewString(), tenant, sched, now, now}},
		{"INSERT INTO asset_freshness (asset_id, tenant_id, policy, updated_at) VALUES (?, ?, '{\"max_age\":\"1h\"}', ?)", []any{up, tenant, now}},
		{"INSERT INTO automations (id, tenant_id, name, on_event, asset_id, since, created_at, updated_at) VALUES (?, ?, 'auto', 'upstream_updated', ?, ?, ?, ?)",
			[]any{auto, tenant, down, now, now, now}},
		{"INSERT INTO automation_assets (tenant_id, automation_id, asset_id) VALUES (?, ?, ?)", []any{tenant, auto, up}},
		{"INSERT INTO automation_evaluations (id, tenant_id, automation_id, evaluated_at, result) VALUES (?, ?, ?, ?, 'skipped')",
			[]any{uuid.NewString(), tenant, auto, now}},
		{"INSERT INTO asset_partitions (tenant_id, asset_id, partition_key, last_materialized_at) VALUES (?, ?, '2026-12-01', ?)", []any{tenant, up, now}},
		{"INSERT INTO run_leases (execution_id, tenant_id, attempt, worker_id, heartbeat_at) VALUES (?, ?, 1, 'worker', ?)", []any{run, tenant, now}},
		{"INSERT INTO asset_tags (tenant_id, asset_id, tag) VALUES (?, ?, 'seeded')", []any{tenant, up}},
	}
	have := tables(t, gdb)
	for _, s := range stmts {
		table := strings.Fields(s.sql)[2]
		if !slices.Contains(have, table) {
			continue // a later migration's table, not applied yet
		}
		if err := gdb.Exec(s.sql, s.args...).Error; err != nil {
			t.Fatalf("seed %s: %v", table, err)
		}
	}
	for _, table := range repository.TenantTables {
		if !slices.Contains(have, table) {
			continue
		}
		var n int64
		if err := gdb.Raw("SELECT count(*) FROM " + table).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("seedRows has no row for tenant table %s: extend it", table)
		}
	}
}

var createTable = regexp.MustCompile(`(?im)^\s*CREATE TABLE\s+(?:IF NOT EXISTS\s+)?"?(\w+)"?`)

var dropTable = regexp.MustCompile(`(?im)^\s*DROP TABLE\s+(?:IF EXISTS\s+)?"?(\w+)"?`)

// createdTables returns, sorted, the tables the up file of migration id
// creates, leaving out those it rebuilds (drops and creates anew).
func createdTables(t *testing.T, dialect, id string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dialect, id+".up.sql"))
	if err != nil {
		t.Fatalf("read migration %s: %v", id, err)
	}
	rebuilt := map[string]bool{}
	for _, m := range dropTable.FindAllStringSubmatch(string(b), -1) {
		rebuilt[m[1]] = true
	}
	var out []string
	for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
		if !rebuilt[m[1]] {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

func randomHex() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// upDownUp runs the lifecycle shared by both dialects: up, down one
// migration at a time (optionally with data in every table), then up again.
func upDownUp(t *testing.T, gdb *gorm.DB, opts migrations.Options, withData bool) {
	t.Helper()
	ctx := context.Background()
	ids, err := migrations.IDs(dialect(gdb))
	if err != nil || len(ids) == 0 {
		t.Fatalf("migration ids: %v %v", ids, err)
	}
	wantStatus(t, gdb, 0)
	if got := tables(t, gdb); len(got) != 0 {
		t.Fatalf("fresh database has tables %v", got)
	}

	if err := migrations.Up(ctx, gdb, opts); err != nil {
		t.Fatalf("up: %v", err)
	}
	wantStatus(t, gdb, len(ids))
	full := tables(t, gdb)
	for _, table := range append(slices.Clone(repository.TenantTables), migrations.Table) {
		if !slices.Contains(full, table) {
			t.Errorf("after up, table %s is missing (have %v)", table, full)
		}
	}
	if err := migrations.Up(ctx, gdb, opts); err != nil {
		t.Fatalf("second up (nothing to do): %v", err)
	}
	wantStatus(t, gdb, len(ids))

	// Down, one migration at a time: each drops tables of its own.
	prev := full
	for n := len(ids) - 1; n >= 0; n-- {
		if withData {
			seedRows(t, gdb)
		}
		if err := migrations.Down(ctx, gdb, opts); err != nil {
			t.Fatalf("down from %s: %v", ids[n], err)
		}
		wantStatus(t, gdb, n)
		now := tables(t, gdb)
		var dropped []string
		for _, table := range prev {
			if !slices.Contains(now, table) {
				dropped = append(dropped, table)
			}
		}
		// River's job tables come and go with the migration that grants
		// access to them.
		river := slices.DeleteFunc(slices.Clone(dropped), func(s string) bool { return !strings.HasPrefix(s, "river_") })
		dropped = slices.DeleteFunc(dropped, func(s string) bool { return strings.HasPrefix(s, "river_") })
		if ids[n] == "0004_runtime" && !slices.Contains(river, "river_job") {
			t.Errorf("down of %s left River's tables: dropped %v", ids[n], river)
		}
		if want := createdTables(t, dialect(gdb), ids[n]); !slices.Equal(dropped, want) {
			t.Errorf("down of %s dropped tables %v, want %v (the ones its up creates)", ids[n], dropped, want)
		}
		prev = now
	}
	if got := tables(t, gdb); !slices.Equal(got, []string{migrations.Table}) {
		t.Errorf("after every down the schema holds %v, want only %s", got, migrations.Table)
	}
	err = migrations.Down(ctx, gdb, opts)
	if !errors.Is(err, gormigrate.ErrNoRunMigration) || !strings.Contains(fmt.Sprint(err), "no migration has been applied") {
		t.Errorf("down with nothing applied: err = %v, want gormigrate.ErrNoRunMigration", err)
	}

	if err := migrations.Up(ctx, gdb, opts); err != nil {
		t.Fatalf("up again: %v", err)
	}
	wantStatus(t, gdb, len(ids))
	if got := tables(t, gdb); !slices.Equal(got, full) {
		t.Errorf("after up again the schema holds %v, want %v", got, full)
	}
	if withData {
		seedRows(t, gdb)
	}
}

func TestMigrations_PostgresUpDownUp(t *testing.T) {
	t.Parallel()
	for _, withData := range []bool{false, true} {
		t.Run(fmt.Sprintf("with data %v", withData), func(t *testing.T) {
			t.Parallel()
			d := testdb.Fresh(t)
			gdb := openMigrator(t, d.OwnerURL)
			upDownUp(t, gdb, appOpts, withData)

			// The schema works for the application role again: grants, RLS
			// policies and all.
			st := testdb.Open(t, d)
			ctx := context.Background()
			if err := st.CheckSafety(ctx); err != nil {
				t.Fatalf("CheckSafety after up/down/up: %v", err)
			}
			svc := service.New(st, nil, nil)
			tenant := testdb.TenantID("mig")
			if _, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: tenant}); err != nil {
				t.Fatalf("create tenant as the app role: %v", err)
			}
			tctx := domain.WithTenant(ctx, tenant)
			a, err := svc.CreateAsset(tctx, service.CreateAssetInput{Name: "after-migrations"})
			if err != nil {
				t.Fatalf("create asset as the app role: %v", err)
			}
			got, err := svc.GetAsset(tctx, a.ID)
			if err != nil || got.Name != "after-migrations" || got.TenantID == nil || *got.TenantID != tenant {
				t.Fatalf("read back asset: %+v, %v", got, err)
			}
			if _, err := svc.GetAsset(domain.WithTenant(ctx, testdb.TenantID("other")), a.ID); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("another tenant reads the asset: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestMigrations_PostgresStatusListsUnknownMigrations(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	gdb := openMigrator(t, d.OwnerURL)
	ctx := context.Background()
	if err := migrations.Up(ctx, gdb, appOpts); err != nil {
		t.Fatal(err)
	}
	if err := gdb.Exec("INSERT INTO " + migrations.Table + " (id) VALUES ('9999_from_the_future')").Error; err != nil {
		t.Fatal(err)
	}
	got, err := migrations.Status(ctx, gdb)
	if err != nil {
		t.Fatal(err)
	}
	want := migrations.State{ID: "9999_from_the_future (unknown to this binary)", Applied: true}
	if len(got) == 0 || got[len(got)-1] != want {
		t.Errorf("status = %+v, want it to end with %+v", got, want)
	}
}

func TestMigrations_SQLiteUpDownUp(t *testing.T) {
	t.Parallel()
	for _, withData := range []bool{false, true} {
		t.Run(fmt.Sprintf("with data %v", withData), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "servo.db")
			gdb := openMigrator(t, path)
			upDownUp(t, gdb, migrations.Options{}, withData)
			if db, err := gdb.DB(); err == nil {
				_ = db.Close()
			}

			st, err := repository.Open(context.Background(), path, repository.PoolConfig{}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			svc := service.New(st, nil, nil)
			ctx := context.Background()
			if _, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: "sqlite-tenant"}); err != nil {
				t.Fatalf("create tenant: %v", err)
			}
			tctx := domain.WithTenant(ctx, "sqlite-tenant")
			a, err := svc.CreateAsset(tctx, service.CreateAssetInput{Name: "after-migrations"})
			if err != nil {
				t.Fatalf("create asset: %v", err)
			}
			if got, err := svc.GetAsset(tctx, a.ID); err != nil || got.Name != "after-migrations" {
				t.Fatalf("read back asset: %+v, %v", got, err)
			}
		})
	}
}

func TestMigrations_ConcurrentUpRunsOnce(t *testing.T) {
	t.Parallel()
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			d := testdb.Fresh(t)
			const racers = 3
			handles := make([]*gorm.DB, racers)
			for j := range handles {
				handles[j] = openMigrator(t, d.OwnerURL) // separate pools, as separate servers
			}
			start := make(chan struct{})
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for j, h := range handles {
				wg.Go(func() {
					<-start
					errs[j] = migrations.Up(context.Background(), h, appOpts)
				})
			}
			close(start)
			wg.Wait()
			for j, err := range errs {
				if err != nil {
					t.Errorf("racer %d: %v", j, err)
				}
			}
			ids, err := migrations.IDs("postgres")
			if err != nil {
				t.Fatal(err)
			}
			var rows []struct {
				ID string
				N  int
			}
			if err := handles[0].Raw("SELECT id, count(*) AS n FROM " + migrations.Table + " GROUP BY id ORDER BY id").Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(ids) {
				t.Fatalf("%s holds %+v, want each of %v once", migrations.Table, rows, ids)
			}
			for k, r := range rows {
				if r.ID != ids[k] || r.N != 1 {
					t.Errorf("%s row %d = %+v, want %s once", migrations.Table, k, r, ids[k])
				}
			}
		})
	}
}

func TestMigrations_CreatesAppRoleNologinWithDMLOnly(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	role := "servo_test_role_" + randomHex()
	ident := pgx.Identifier{role}.Sanitize()
	admin, err := sql.Open("pgx", testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Close() })
	// Roles are cluster-wide: drop what the role holds in d, then the role,
	// before testdb.Fresh drops d.
	t.Cleanup(func() {
		ctx := context.Background()
		var exists bool
		_ = admin.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists)
		if !exists {
			return
		}
		if _, err := owner.ExecContext(ctx, "DROP OWNED BY "+ident); err != nil {
			t.Errorf("drop owned by %s: %v", role, err)
		}
		if _, err := admin.ExecContext(ctx, "DROP ROLE "+ident); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	ctx := context.Background()
	roleAttrs := func() (exists, login, super, bypass, createRole, createDB bool) {
		t.Helper()
		err := admin.QueryRowContext(ctx, "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", role).
			Scan(&login, &super, &bypass, &createRole, &createDB)
		if errors.Is(err, sql.ErrNoRows) {
			return false, false, false, false, false, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true, login, super, bypass, createRole, createDB
	}
	if exists, _, _, _, _, _ := roleAttrs(); exists {
		t.Fatalf("role %s exists before the migration", role)
	}

	if err := migrations.Up(ctx, openMigrator(t, d.OwnerURL), migrations.Options{AppRole: role}); err != nil {
		t.Fatalf("up: %v", err)
	}
	exists, login, super, bypass, createRole, createDB := roleAttrs()
	if !exists || login || super || bypass || createRole || createDB {
		t.Fatalf("role %s: exists %v, login %v, superuser %v, bypassrls %v, createrole %v, createdb %v; want it to exist with none of them",
			role, exists, login, super, bypass, createRole, createDB)
	}

	// Exactly DML on the tenant tables and SELECT on the bookkeeping table:
	// no TRUNCATE, REFERENCES or TRIGGER, and nothing owned.
	var want []string
	for _, table := range repository.TenantTables {
		for _, p := range []string{"DELETE", "INSERT", "SELECT", "UPDATE"} {
			want = append(want, table+" "+p)
		}
	}
	want = append(want, migrations.Table+" SELECT")
	// System settings: read and insert, never update or delete.
	for _, table := range repository.SystemTables {
		want = append(want, table+" INSERT", table+" SELECT")
	}
	// River's job queue tables: DML, and its sequences for inserts.
	riverRows, err := owner.QueryContext(ctx, `SELECT relname, relkind FROM pg_class
		WHERE relnamespace = current_schema()::regnamespace AND relname LIKE 'river\_%' AND relkind IN ('r', 'S')`)
	if err != nil {
		t.Fatal(err)
	}
	for riverRows.Next() {
		var name, kind string
		if err := riverRows.Scan(&name, &kind); err != nil {
			t.Fatal(err)
		}
		privs := []string{"DELETE", "INSERT", "SELECT", "UPDATE"}
		if kind == "S" {
			privs = []string{"SELECT", "USAGE"}
		}
		for _, p := range privs {
			want = append(want, name+" "+p)
		}
	}
	if err := riverRows.Close(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	rows, err := owner.QueryContext(ctx, `
		SELECT c.relname || ' ' || a.privilege_type
		FROM pg_class c, aclexplode(c.relacl) a
		WHERE c.relnamespace = current_schema()::regnamespace AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1)
		ORDER BY 1`, role)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("role %s holds table privileges\n%v\nwant\n%v", role, got, want)
	}
	for _, table := range repository.TenantTables {
		for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"} {
			var has bool
			if err := owner.QueryRowContext(ctx, "SELECT has_table_privilege($1, $2, $3)", role, table, p).Scan(&has); err != nil {
				t.Fatal(err)
			}
			if wantHas := slices.Contains(want, table+" "+p); has != wantHas {
				t.Errorf("has_table_privilege(%s, %s, %s) = %v, want %v", role, table, p, has, wantHas)
			}
		}
	}
	var owns int
	var usage, create bool
	if err := owner.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)),
		       has_schema_privilege($1, current_schema(), 'USAGE'), has_schema_privilege($1, current_schema(), 'CREATE')`, role).
		Scan(&owns, &usage, &create); err != nil {
		t.Fatal(err)
	}
	if owns != 0 || !usage || create {
		t.Errorf("role %s: owns %d relations, schema USAGE %v, CREATE %v; want 0, true, false", role, owns, usage, create)
	}

	// An existing role keeps its attributes: the migration only creates a
	// missing one.
	if _, err := admin.ExecContext(ctx, "ALTER ROLE "+ident+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	gdb := openMigrator(t, d.OwnerURL)
	if err := migrations.Down(ctx, gdb, migrations.Options{AppRole: role}); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := migrations.Up(ctx, gdb, migrations.Options{AppRole: role}); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if _, login, _, _, _, _ := roleAttrs(); !login {
		t.Errorf("re-running the migration took LOGIN from the existing role %s", role)
	}
}

// sqlRecorder is a GORM logger that records every statement run.
type sqlRecorder struct {
	mu   sync.Mutex
	sqls []string
}

func (r *sqlRecorder) LogMode(logger.LogLevel) logger.Interface { return r }
func (r *sqlRecorder) Info(context.Context, string, ...any)     {}
func (r *sqlRecorder) Warn(context.Context, string, ...any)     {}
func (r *sqlRecorder) Error(context.Context, string, ...any)    {}
func (r *sqlRecorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	r.mu.Lock()
	r.sqls = append(r.sqls, s)
	r.mu.Unlock()
}

func (r *sqlRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sqls)
}

func TestMigrations_RejectsInvalidRoleBeforeAnySQL(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	rec := &sqlRecorder{}
	gdb := openMigrator(t, d.OwnerURL).Session(&gorm.Session{Logger: rec})
	ctx := context.Background()

	invalid := []string{
		"Servo_App",                    // uppercase
		"1servo",                       // leading digit
		"servo-app",                    // dash
		"servo app",                    // space
		`servo"; DROP TABLE x; --`,     // identifier injection
		"servo' OR '1'='1",             // literal injection
		"servo_app;",                   // statement separator
		strings.Repeat("a", 64),        // longer than PostgreSQL's 63 bytes
		"sérvo",                        // non-ASCII
		"servo_app\n",                  // trailing newline
		"$servo",                       // leading dollar
		"servo_app " + string(rune(0)), // NUL
	}
	for _, role := range invalid {
		for _, op := range []struct {
			name string
			fn   func(context.Context, *gorm.DB, migrations.Options) error
		}{{"up", migrations.Up}, {"down", migrations.Down}} {
			t.Run(op.name+"/"+role, func(t *testing.T) {
				err := op.fn(ctx, gdb, migrations.Options{AppRole: role})
				if err == nil || !strings.Contains(err.Error(), "app role") || !strings.Contains(err.Error(), fmt.Sprintf("%q", role)) {
					t.Errorf("err = %v, want a rejection of app role %q", err, role)
				}
			})
		}
	}
	if n := rec.count(); n != 0 {
		t.Errorf("invalid role names ran %d statements, want none: %q", n, rec.sqls)
	}
	if got := tables(t, openMigrator(t, d.OwnerURL)); len(got) != 0 {
		t.Errorf("invalid role names left tables %v", got)
	}

	// Control: the recorder does see the statements of a valid run.
	if err := migrations.Up(ctx, gdb, appOpts); err != nil {
		t.Fatalf("up with a valid role: %v", err)
	}
	if rec.count() == 0 {
		t.Error("the recorder saw no statements of a valid run: it cannot prove the rejection ran none")
	}
}
