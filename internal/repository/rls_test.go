package repository_test

// The database wall alone: raw SQL as the application role, with no GORM
// callbacks in the way, against PostgreSQL's row-level security policies and
// the composite foreign keys.

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/checks"
	"github.com/servo-data/servo/internal/testdb"
)

var (
	rlsDBMu sync.Mutex
	rlsDB   *testdb.Database
)

// rlsDatabase returns a migrated database of this file's own: the tests
// here create global assets, which every tenant of a database sees. It is
// dropped by testdb.Main.
func rlsDatabase(t *testing.T) *testdb.Database {
	t.Helper()
	rlsDBMu.Lock()
	defer rlsDBMu.Unlock()
	if rlsDB == nil {
		ctx := context.Background()
		d, err := testdb.Create(ctx)
		if err == nil {
			err = d.Migrate(ctx)
		}
		if err != nil {
			t.Fatalf("rls database: %v", err)
		}
		rlsDB = d
	}
	return rlsDB
}

// tenantRows are the ids of the rows one tenant holds in every tenant table.
type tenantRows struct {
	id       string
	assets   [2]uuid.UUID // assets[0] -> assets[1] is a dependency
	dep      uuid.UUID
	workflow uuid.UUID // holds both assets
	runs     [2]uuid.UUID
	check    uuid.UUID // on assets[0]
}

// rlsEnv is one database with a service over the application-role store and
// raw handles as the application role and as the owner.
type rlsEnv struct {
	d     *testdb.Database
	svc   *service.Service
	st    *repository.Store
	app   *sql.DB // the application role: RLS applies
	owner *sql.DB // the superuser owner: RLS does not
}

func newRLSEnv(t *testing.T) *rlsEnv {
	t.Helper()
	d := rlsDatabase(t)
	app, err := sql.Open("pgx", d.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Close() })
	st := testdb.Open(t, d)
	return &rlsEnv{d: d, svc: service.New(st, nil, nil), st: st, app: app, owner: owner}
}

// seed creates a tenant with a row in every tenant table, through the
// service as the application role.
func (e *rlsEnv) seed(t *testing.T, prefix string) tenantRows {
	t.Helper()
	bg := context.Background()
	id := testdb.TenantID(prefix)
	if _, err := e.svc.CreateTenant(domain.WithSystem(bg), domain.Tenant{ID: id, Name: prefix}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	ctx := domain.WithTenant(bg, id)
	r := tenantRows{id: id}
	for i, name := range []string{"upstream", "downstream"} {
		a, err := e.svc.CreateAsset(ctx, service.CreateAssetInput{Name: name, Tags: []string{"rls-probe"}})
		if err != nil {
			t.Fatalf("create asset: %v", err)
		}
		r.assets[i] = a.ID
	}
	dep, err := e.svc.CreateDependency(ctx, r.assets[0], r.assets[1], domain.DependencyData)
	if err != nil {
		t.Fatalf("create dependency: %v", err)
	}
	r.dep = dep.ID
	wf, err := e.svc.CreateWorkflow(ctx, service.CreateWorkflowInput{Name: "wf", Assets: []string{r.assets[0].String(), r.assets[1].String()}})
	if err != nil {
		t.Fatalf("create workflow: %v", err)
	}
	r.workflow = wf.ID
	run1, _, err := e.svc.CreateRun(ctx, service.CreateRunInput{WorkflowID: &wf.ID})
	if err != nil {
		t.Fatalf("create workflow run: %v", err)
	}
	run2, _, err := e.svc.CreateRun(ctx, service.CreateRunInput{AssetID: &r.assets[0]})
	if err != nil {
		t.Fatalf("create asset run: %v", err)
	}
	r.runs = [2]uuid.UUID{run1.ID, run2.ID}
	if _, err := e.svc.TransitionRun(ctx, domain.Transition{ID: run1.ID, From: domain.StatePending, To: domain.StateQueued}); err != nil {
		t.Fatalf("transition (a run event): %v", err)
	}
	if err := e.svc.Engine().PutRunLog(ctx, run1.ID, "output", false); err != nil {
		t.Fatalf("run log: %v", err)
	}
	ev := domain.LineageEvent{RunID: &run1.ID, Kind: "RunEvent", EventType: "START", EventTime: time.Now(),
		Hash: strings.Repeat("0", 64), Body: []byte(`{"eventType":"START"}`)}
	if err := e.st.LineageEventCreate(ctx, &ev); err != nil {
		t.Fatalf("create lineage event: %v", err)
	}
	if _, _, err := e.svc.RecordAssetVersion(ctx, r.assets[1], []domain.Field{{Name: "b", Type: "int"}}, &run1.ID); err != nil {
		t.Fatalf("record asset version: %v", err)
	}
	if _, err := e.svc.CreateColumnDependency(ctx, domain.ColumnEdge{UpstreamAssetID: r.assets[0], UpstreamColumn: "a", DownstreamAssetID: r.assets[1], DownstreamColumn: "b"}); err != nil {
		t.Fatalf("create column dependency: %v", err)
	}
	if err := e.st.PartitionKeyAdd(ctx, r.assets[0], []string{"eu"}); err != nil {
		t.Fatalf("add partition key: %v", err)
	}
	bf := domain.Backfill{AssetID: &r.assets[0], MaxConcurrency: 1}
	if err := e.st.BackfillCreate(ctx, &bf, []string{"eu"}); err != nil {
		t.Fatalf("create backfill: %v", err)
	}
	sc := domain.Schedule{Name: "nightly", WorkflowName: "wf", Cron: "0 2 * * *", Timezone: "UTC", Enabled: true,
		Catchup: domain.CatchupNone, MaxCatchup: 1, Overlap: domain.OverlapSkip, Partition: domain.PartitionNone}
	if err := e.st.ScheduleCreate(ctx, &sc); err != nil {
		t.Fatalf("create schedule: %v", err)
	}
	if err := e.st.ScheduleTickCreate(ctx, &domain.ScheduleTick{ScheduleID: sc.ID, TickAt: time.Now(), Status: domain.TickSkipped}); err != nil {
		t.Fatalf("create schedule tick: %v", err)
	}
	if _, err := e.st.FreshnessUpdate(ctx, r.assets[0], func(f *domain.AssetFreshness) error {
		f.Policy = &domain.FreshnessPolicy{MaxAge: "1h"}
		return nil
	}); err != nil {
		t.Fatalf("asset freshness: %v", err)
	}
	if err := e.st.FreshnessPartitionPut(ctx, domain.AssetPartition{AssetID: r.assets[0], PartitionKey: "2026-12-01", LastMaterializedAt: time.Now()}); err != nil {
		t.Fatalf("asset partition: %v", err)
	}
	auto := domain.Automation{Name: "auto", On: domain.OnUpstreamUpdated, Mode: domain.ModeAny, AssetID: &r.assets[1],
		Assets: []uuid.UUID{r.assets[0]}, Enabled: true, Since: time.Now()}
	if err := e.st.AutomationCreate(ctx, &auto); err != nil {
		t.Fatalf("create automation: %v", err)
	}
	if err := e.st.AutomationEvaluationCreate(ctx, &domain.AutomationEvaluation{AutomationID: auto.ID, EvaluatedAt: time.Now(), Result: domain.EvalSkipped}); err != nil {
		t.Fatalf("create automation evaluation: %v", err)
	}
	if err := e.st.RunLeaseTake(ctx, &domain.RunLease{RunID: run2.ID, Attempt: 1, WorkerID: "worker"}); err != nil {
		t.Fatalf("run lease: %v", err)
	}
	if _, _, err := e.svc.CreateAPIKey(domain.WithSystem(bg), service.CreateAPIKeyInput{TenantID: id, Name: "key"}); err != nil {
		t.Fatalf("create api key: %v", err)
	}
	chk, err := e.svc.Checks().Create(ctx, checks.Input{Asset: r.assets[0].String(), Name: "not-null", Type: []byte(`{"type":"not_null","columns":["id"]}`)})
	if err != nil {
		t.Fatalf("create check: %v", err)
	}
	r.check = chk.ID
	if _, err := e.svc.Checks().PostResults(ctx, run2.ID, []checks.Reported{{Name: chk.Name, Outcome: domain.CheckFailed}}); err != nil {
		t.Fatalf("post check result: %v", err)
	}
	return r
}

// seedGlobal creates a global asset in the system scope.
func (e *rlsEnv) seedGlobal(t *testing.T) uuid.UUID {
	t.Helper()
	a, err := e.svc.CreateAsset(domain.WithSystem(context.Background()), service.CreateAssetInput{Name: "global-" + uuid.NewString(), Global: true})
	if err != nil {
		t.Fatalf("create global asset: %v", err)
	}
	if a.TenantID != nil {
		t.Fatalf("asset created in the system scope has tenant %q, want a global row", *a.TenantID)
	}
	return a.ID
}

// rlsTable describes a tenant table for the probes.
type rlsTable struct {
	name string
	col  string // the column naming the row's tenant
	set  string // a SET clause that visibly changes a row
	own  int    // rows a seeded tenant holds
	// reads and writes say whether a tenant's setting reaches its own rows;
	// system tables are managed in the system scope.
	reads, writes, system bool
	// claimed tables are read and locked by the system scope's ticker
	// (SELECT ... FOR UPDATE SKIP LOCKED), which never changes them.
	claimed bool
}

var rlsTables = []rlsTable{
	{name: "tenants", col: "id", set: "name = 'rls-probe'", own: 1, reads: true, system: true},
	{name: "assets", col: "tenant_id", set: "description = 'rls-probe'", own: 2, reads: true, writes: true},
	{name: "asset_dependencies", col: "tenant_id", set: "dependency_type = 'control'", own: 1, reads: true, writes: true},
	{name: "workflows", col: "tenant_id", set: "description = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "workflow_assets", col: "tenant_id", set: "position = position + 1000", own: 2, reads: true, writes: true},
	{name: "executions", col: "tenant_id", set: "error_message = 'rls-probe'", own: 2, reads: true, writes: true},
	{name: "api_keys", col: "tenant_id", set: "name = 'rls-probe'", own: 1, system: true},
	{name: "run_events", col: "tenant_id", set: "reason = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "run_logs", col: "tenant_id", set: "content = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "lineage_events", col: "tenant_id", set: "event_type = 'OTHER'", own: 1, reads: true, writes: true},
	{name: "asset_versions", col: "tenant_id", set: "version = version + 1000", own: 1, reads: true, writes: true},
	{name: "column_edges", col: "tenant_id", set: "description = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "checks", col: "tenant_id", set: "description = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "check_results", col: "tenant_id", set: "message = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "asset_partition_keys", col: "tenant_id", set: "partition_key = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "backfills", col: "tenant_id", set: "max_concurrency = 7", own: 1, reads: true, writes: true},
	{name: "backfill_partitions", col: "tenant_id", set: "state = 'skipped'", own: 1, reads: true, writes: true},
	{name: "schedules", col: "tenant_id", set: "cron = '0 3 * * *'", own: 1, reads: true, writes: true, claimed: true},
	{name: "schedule_ticks", col: "tenant_id", set: "reason = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "asset_freshness", col: "tenant_id", set: "stale_after = now()", own: 1, reads: true, writes: true},
	{name: "asset_partitions", col: "tenant_id", set: "partition_key = 'rls-probe'", own: 1, reads: true, writes: true},
	{name: "automations", col: "tenant_id", set: "mode = 'all'", own: 1, reads: true, writes: true, claimed: true},
	{name: "automation_assets", col: "tenant_id", set: "asset_id = asset_id", own: 1, reads: true, writes: true},
	{name: "automation_evaluations", col: "tenant_id", set: "reason = 'rls-probe'", own: 1, reads: true, writes: true},
	// The system scope reads and renews leases of every tenant (worker
	// liveness); a tenant reaches its own.
	{name: "run_leases", col: "tenant_id", set: "worker_id = 'rls-probe'", own: 1, reads: true, writes: true, system: true},
	{name: "asset_tags", col: "tenant_id", set: "tag = tag || '-rls-probe'", own: 2, reads: true, writes: true},
}

// reach returns how many of a seeded tenant's own rows of tb a setting of
// tenant reaches by reading and by writing.
func (tb rlsTable) reach(tenant *string) (read, write int) {
	if tenant == nil || *tenant == "" {
		return 0, 0
	}
	if tb.reads {
		read = tb.own
	}
	if tb.writes {
		write = tb.own
	}
	return read, write
}

// ownerSnapshot reads, as the owner, every row of tenant in every table,
// and the given extra assets, as JSON text.
func ownerSnapshot(t *testing.T, owner *sql.DB, tenant string, extra ...uuid.UUID) []string {
	t.Helper()
	var out []string
	for _, tb := range rlsTables {
		out = append(out, queryStrings(t, owner,
			"SELECT '"+tb.name+" ' || row_to_json(x)::text FROM "+tb.name+" x WHERE "+tb.col+" = $1 ORDER BY 1", tenant)...)
	}
	for _, id := range extra {
		out = append(out, queryStrings(t, owner, "SELECT 'assets ' || row_to_json(x)::text FROM assets x WHERE id = $1", id)...)
	}
	return out
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryStrings(t *testing.T, q querier, query string, args ...any) []string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return out
}

func count(vals []string, v string) int {
	n := 0
	for _, x := range vals {
		if x == v {
			n++
		}
	}
	return n
}

// sqlState returns the SQLSTATE of a PostgreSQL error, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// setting is how a probe transaction sets app.tenant_id.
type setting struct {
	name   string
	tenant func(b tenantRows) *string // nil: never set on this connection
}

func strPtr(s string) *string { return &s }

var settings = []setting{
	{"tenant B", func(b tenantRows) *string { return &b.id }},
	{"unset", func(tenantRows) *string { return nil }},
	{"empty", func(tenantRows) *string { return strPtr("") }},
}

// probeTx opens a transaction as the application role on a connection that
// has never set app.tenant_id, then applies the setting.
func probeTx(t *testing.T, e *rlsEnv, tenant *string) *sql.Tx {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("pgx", e.d.AppURL) // a new connection: no earlier setting can linger
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	var user string
	var never bool
	if err := tx.QueryRowContext(ctx, "SELECT current_user, current_setting('app.tenant_id', true) IS NULL").Scan(&user, &never); err != nil {
		t.Fatal(err)
	}
	if user != testdb.AppRole || !never {
		t.Fatalf("probe connection: user %q, setting never made %v; want %q, true", user, never, testdb.AppRole)
	}
	if tenant != nil {
		if _, err := tx.ExecContext(ctx, "SELECT set_config('app.tenant_id', $1, true)", *tenant); err != nil {
			t.Fatalf("set tenant: %v", err)
		}
	}
	return tx
}

func TestRLS_TenantTablesIsolateTenants(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a := e.seed(t, "rls-a")
	global := e.seedGlobal(t)
	aBefore := ownerSnapshot(t, e.owner, a.id, global)
	wantRows := 1 // the global asset
	for _, tb := range rlsTables {
		wantRows += tb.own
	}
	if len(aBefore) != wantRows {
		t.Fatalf("tenant A's snapshot has %d rows, want %d:\n%s", len(aBefore), wantRows, strings.Join(aBefore, "\n"))
	}

	for _, s := range settings {
		for _, tb := range rlsTables {
			t.Run(s.name+"/"+tb.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				var b tenantRows
				if s.name == "tenant B" {
					b = e.seed(t, "rls-b") // a B of its own: this subtest deletes its rows
				}
				tenant := s.tenant(b)
				tx := probeTx(t, e, tenant)

				want, wantWrite := tb.reach(tenant)
				visible := queryStrings(t, tx, "SELECT "+tb.col+" FROM "+tb.name)
				if n := count(visible, a.id); n != 0 {
					t.Errorf("SELECT sees %d of tenant A's rows", n)
				}
				switch {
				case want == 0 && len(visible) != 0:
					t.Errorf("SELECT returns %d rows (%v), want none", len(visible), visible)
				case want > 0 && (count(visible, b.id) != want || len(visible)-count(visible, "") != want):
					t.Errorf("SELECT sees tenant rows %v, want exactly tenant B's %d (and global rows)", visible, want)
				}
				if tb.name == "assets" && want > 0 {
					var n int
					if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM assets WHERE id = $1", global).Scan(&n); err != nil || n != 1 {
						t.Errorf("tenant B sees the global asset %d times (err %v), want once", n, err)
					}
				}

				// Writes: a tenant reaches its own rows only, and system
				// tables not at all.
				for _, stmt := range []string{
					"UPDATE " + tb.name + " SET " + tb.set + " RETURNING " + tb.col,
					"DELETE FROM " + tb.name + " RETURNING " + tb.col,
				} {
					touched := queryStrings(t, tx, stmt)
					if len(touched) != wantWrite || count(touched, a.id) != 0 || (wantWrite > 0 && count(touched, b.id) != wantWrite) {
						t.Errorf("%s touched %v, want %d of tenant B's rows and none of A's", stmt, touched, wantWrite)
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatalf("commit: %v", err)
				}
				if after := ownerSnapshot(t, e.owner, a.id, global); !slices.Equal(after, aBefore) {
					t.Errorf("tenant A's rows changed:\nbefore:\n%s\nafter:\n%s", strings.Join(aBefore, "\n"), strings.Join(after, "\n"))
				}
			})
		}
	}
}

// A plain UPDATE/DELETE reports the rows it touched through RowsAffected:
// the count a caller would see must be the same as the RETURNING check.
func TestRLS_RowsAffectedCountsOnlyOwnRows(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a := e.seed(t, "rls-a")
	global := e.seedGlobal(t)
	aBefore := ownerSnapshot(t, e.owner, a.id, global)
	for _, s := range settings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			var b tenantRows
			if s.name == "tenant B" {
				b = e.seed(t, "rls-b")
			}
			tenant := s.tenant(b)
			tx := probeTx(t, e, tenant)
			for _, tb := range rlsTables {
				_, write := tb.reach(tenant)
				want := int64(write)
				res, err := tx.ExecContext(context.Background(), "UPDATE "+tb.name+" SET "+tb.set)
				if err != nil {
					t.Fatalf("update %s: %v", tb.name, err)
				}
				if n, _ := res.RowsAffected(); n != want {
					t.Errorf("UPDATE %s without WHERE: %d rows affected, want %d", tb.name, n, want)
				}
			}
			// Delete leaf tables first, so each count is the table's own.
			for _, tb := range slices.Backward(rlsTables) {
				_, write := tb.reach(tenant)
				want := int64(write)
				res, err := tx.ExecContext(context.Background(), "DELETE FROM "+tb.name)
				if err != nil {
					t.Fatalf("delete %s: %v", tb.name, err)
				}
				if n, _ := res.RowsAffected(); n != want {
					t.Errorf("DELETE FROM %s without WHERE: %d rows affected, want %d", tb.name, n, want)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatalf("commit: %v", err)
			}
			if after := ownerSnapshot(t, e.owner, a.id, global); !slices.Equal(after, aBefore) {
				t.Errorf("tenant A's rows changed:\nbefore:\n%s\nafter:\n%s", strings.Join(aBefore, "\n"), strings.Join(after, "\n"))
			}
		})
	}
}

func TestRLS_GlobalAssetsAreReadOnlyForTenants(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a := e.seed(t, "rls-a")
	b := e.seed(t, "rls-b")
	global := e.seedGlobal(t)
	before := ownerSnapshot(t, e.owner, a.id, global)
	ctx := context.Background()

	t.Run("read, update, delete", func(t *testing.T) {
		tx := probeTx(t, e, &b.id)
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM assets WHERE id = $1", global).Scan(&n); err != nil || n != 1 {
			t.Errorf("tenant B reads the global asset: %d rows (err %v), want 1", n, err)
		}
		for _, stmt := range []string{
			"UPDATE assets SET description = 'defaced' WHERE id = $1",
			"UPDATE assets SET tenant_id = '" + b.id + "' WHERE id = $1",
			"DELETE FROM assets WHERE id = $1",
		} {
			res, err := tx.ExecContext(ctx, stmt, global)
			if err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			if n, _ := res.RowsAffected(); n != 0 {
				t.Errorf("%s: %d rows affected, want 0", stmt, n)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unset tenant does not read it", func(t *testing.T) {
		for _, tenant := range []*string{nil, strPtr("")} {
			tx := probeTx(t, e, tenant)
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM assets WHERE id = $1", global).Scan(&n); err != nil || n != 0 {
				t.Errorf("no tenant reads the global asset: %d rows (err %v), want 0", n, err)
			}
		}
	})

	// Each statement runs in a transaction of its own: an error aborts it.
	insert := "INSERT INTO assets (id, tenant_id, name, created_at, updated_at) VALUES ($1, $2, $3, now(), now())"
	writes := []struct {
		name   string
		tenant *string
		stmt   string
		args   []any
		want   string // SQLSTATE; "" for success
	}{
		{"insert global as tenant B", &b.id, insert, []any{uuid.New(), nil, "global-by-b"}, "42501"},
		{"insert into tenant A as tenant B", &b.id, insert, []any{uuid.New(), a.id, "planted-by-b"}, "42501"},
		{"insert own asset as tenant B", &b.id, insert, []any{uuid.New(), b.id, "own-" + uuid.NewString()}, ""},
		{"insert global without tenant", nil, insert, []any{uuid.New(), nil, "global-by-nobody"}, "42501"},
		{"insert into tenant A without tenant", strPtr(""), insert, []any{uuid.New(), a.id, "planted-by-nobody"}, "42501"},
		{"move own asset to tenant A", &b.id, "UPDATE assets SET tenant_id = $2 WHERE id = $1", []any{b.assets[0], a.id}, "42501|23514"},
		{"make own asset global", &b.id, "UPDATE assets SET tenant_id = NULL WHERE id = $1", []any{b.assets[0]}, "42501|23514"},
		{"move own workflow to tenant A", &b.id, "UPDATE workflows SET tenant_id = $2 WHERE id = $1", []any{b.workflow, a.id}, "42501|23514"},
		{"upsert onto tenant A's asset", &b.id,
			insert + " ON CONFLICT (id) DO UPDATE SET description = 'defaced'", []any{a.assets[0], b.id, "upsert-" + uuid.NewString()}, "42501"},
		{"upsert onto the global asset", &b.id,
			insert + " ON CONFLICT (id) DO UPDATE SET description = 'defaced'", []any{global, b.id, "upsert-" + uuid.NewString()}, "42501"},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			tx := probeTx(t, e, w.tenant)
			_, err := tx.ExecContext(ctx, w.stmt, w.args...)
			// A move of a row's tenant is refused by the immutability trigger
			// (23514) before row-level security's WITH CHECK (42501) would.
			if got := sqlState(err); !slices.Contains(strings.Split(w.want, "|"), got) || (w.want == "" && err != nil) {
				t.Errorf("err = %v (SQLSTATE %q), want SQLSTATE %q", err, got, w.want)
			}
		})
	}
	if after := ownerSnapshot(t, e.owner, a.id, global); !slices.Equal(after, before) {
		t.Errorf("tenant A's rows or the global asset changed:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

// The system scope (app.system = on, no tenant) manages tenants and global
// rows and sees no tenant's data.
func TestRLS_SystemSettingSeesNoTenantData(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a := e.seed(t, "rls-a")
	global := e.seedGlobal(t)
	before := ownerSnapshot(t, e.owner, a.id, global)
	tx := probeTx(t, e, strPtr(""))
	ctx := context.Background()
	if _, err := tx.ExecContext(ctx, "SELECT set_config('app.system', 'on', true)"); err != nil {
		t.Fatal(err)
	}
	for _, tb := range rlsTables {
		if tb.system {
			if got := queryStrings(t, tx, "SELECT "+tb.col+" FROM "+tb.name+" WHERE "+tb.col+" = $1", a.id); len(got) != tb.own {
				t.Errorf("system setting sees %d of tenant A's %s rows, want %d: it manages them", len(got), tb.name, tb.own)
			}
			continue
		}
		if tb.claimed {
			if got := queryStrings(t, tx, "SELECT "+tb.col+" FROM "+tb.name+" WHERE "+tb.col+" = $1 FOR UPDATE SKIP LOCKED", a.id); len(got) != tb.own {
				t.Errorf("system setting claims %d of tenant A's %s rows, want %d", len(got), tb.name, tb.own)
			}
			if _, err := tx.ExecContext(ctx, "SAVEPOINT claimed"); err != nil {
				t.Fatal(err)
			}
			_, err := tx.ExecContext(ctx, "UPDATE "+tb.name+" SET "+tb.set+" WHERE "+tb.col+" = $1", a.id)
			if sqlState(err) != "42501" {
				t.Errorf("system setting updating %s: %v, want a row-level security refusal", tb.name, err)
			}
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT claimed"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got := queryStrings(t, tx, "SELECT coalesce("+tb.col+", '<global>') FROM "+tb.name); count(got, a.id) != 0 || slices.ContainsFunc(got, func(s string) bool { return s != "<global>" }) {
			t.Errorf("system setting sees %s rows %v, want global rows only", tb.name, got)
		}
		res, err := tx.ExecContext(ctx, "UPDATE "+tb.name+" SET "+tb.set+" WHERE "+tb.col+" = $1", a.id)
		if err != nil {
			t.Fatalf("update %s: %v", tb.name, err)
		}
		if n, _ := res.RowsAffected(); n != 0 {
			t.Errorf("system setting updated %d of tenant A's %s rows, want 0", n, tb.name)
		}
	}
	if got := queryStrings(t, tx, "SELECT id::text FROM assets WHERE id = $1", global); len(got) != 1 {
		t.Errorf("system setting sees the global asset %d times, want once", len(got))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if after := ownerSnapshot(t, e.owner, a.id, global); !slices.Equal(after, before) {
		t.Errorf("tenant A's rows changed:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

func TestRLS_TransactionLocalSettingEndsWithTransaction(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	b := e.seed(t, "rls-b")
	ctx := context.Background()

	for _, end := range []string{"COMMIT", "ROLLBACK"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			conn, err := e.app.Conn(ctx) // one pinned connection for the whole test
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			mustExec := func(q string, args ...any) {
				t.Helper()
				if _, err := conn.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			assetCount := func() int {
				t.Helper()
				var n int
				if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM assets WHERE tenant_id = $1", b.id).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}

			mustExec("BEGIN")
			mustExec("SELECT set_config('app.tenant_id', $1, true)", b.id)
			if n := assetCount(); n != 2 {
				t.Fatalf("inside the transaction tenant B sees %d of its assets, want 2", n)
			}
			mustExec(end)

			var setting sql.NullString
			if err := conn.QueryRowContext(ctx, "SELECT current_setting('app.tenant_id', true)").Scan(&setting); err != nil {
				t.Fatal(err)
			}
			if !setting.Valid || setting.String != "" {
				t.Errorf("after %s app.tenant_id reads %v, want ''", end, setting)
			}
			if n := assetCount(); n != 0 {
				t.Errorf("after %s the same connection sees %d of tenant B's assets, want 0", end, n)
			}
			var total int
			if err := conn.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM assets) + (SELECT count(*) FROM workflows) + (SELECT count(*) FROM tenants)").Scan(&total); err != nil {
				t.Fatal(err)
			}
			if total != 0 {
				t.Errorf("after %s the connection sees %d rows, want 0", end, total)
			}
		})
	}
}

func TestRLS_CompositeForeignKeysKeepReferencesInTenant(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a := e.seed(t, "rls-a")
	b := e.seed(t, "rls-b")
	global := e.seedGlobal(t)
	before := ownerSnapshot(t, e.owner, a.id, global)
	missing := uuid.New() // an id that exists nowhere

	depInsert := "INSERT INTO asset_dependencies (id, tenant_id, upstream_asset_id, downstream_asset_id, dependency_type, created_at) VALUES (gen_random_uuid(), $1, $2, $3, 'metadata', now())"
	linkInsert := "INSERT INTO workflow_assets (tenant_id, workflow_id, position, asset_id) VALUES ($1, $2, 7, $3)"
	runInsert := "INSERT INTO executions (id, tenant_id, workflow_id, asset_id, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, now(), now())"
	lineageInsert := "INSERT INTO lineage_events (id, tenant_id, execution_id, event_kind, event_time, event_hash, event, received_at) VALUES (gen_random_uuid(), $1, $2, 'RunEvent', now(), md5(random()::text) || md5(random()::text), '{}', now())"
	columnInsert := "INSERT INTO column_edges (id, tenant_id, upstream_asset_id, upstream_column, downstream_asset_id, downstream_column, source, created_at) VALUES (gen_random_uuid(), $1, $2, 'x', $3, 'y', 'manual', now())"
	versionInsert := "INSERT INTO asset_versions (id, tenant_id, asset_id, version, fields, fields_hash, execution_id, created_at) VALUES (gen_random_uuid(), $1, $2, 99, '[]', md5(random()::text) || md5(random()::text), $3, now())"
	checkInsert := "INSERT INTO checks (id, tenant_id, asset_id, name, check_type, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, md5(random()::text), '{\"type\": \"custom\"}', now(), now())"
	tagInsert := "INSERT INTO asset_tags (tenant_id, asset_id, tag) VALUES ($1, $2, 'rls-fk')"
	resultInsert := "INSERT INTO check_results (id, tenant_id, execution_id, attempt, check_id, check_name, outcome, severity, blocking, source, executed_at, created_at) VALUES (gen_random_uuid(), $1, $2, 1, $3, 'c', 'failed', 'error', true, 'api', now(), now())"
	tests := []struct {
		name string
		stmt string
		args []any
		want string // SQLSTATE; "" for success
	}{
		{"edge between A's assets", depInsert, []any{b.id, a.assets[0], a.assets[1]}, "23503"},
		{"edge from own asset to A's", depInsert, []any{b.id, b.assets[1], a.assets[0]}, "23503"},
		{"edge from A's asset to own", depInsert, []any{b.id, a.assets[1], b.assets[0]}, "23503"},
		{"edge to the global asset", depInsert, []any{b.id, b.assets[1], global}, "23503"},
		{"edge to a missing asset", depInsert, []any{b.id, b.assets[1], missing}, "23503"},
		{"edge between own assets", depInsert, []any{b.id, b.assets[1], b.assets[0]}, ""},
		{"link own workflow to A's asset", linkInsert, []any{b.id, b.workflow, a.assets[0]}, "23503"},
		{"link A's workflow to own asset", linkInsert, []any{b.id, a.workflow, b.assets[0]}, "23503"},
		{"link own workflow to the global asset", linkInsert, []any{b.id, b.workflow, global}, "23503"},
		{"link own workflow to a missing asset", linkInsert, []any{b.id, b.workflow, missing}, "23503"},
		{"link own workflow to own asset", linkInsert, []any{b.id, b.workflow, b.assets[1]}, "23505"}, // already linked: the key, not the tenant, refuses
		{"run of A's workflow", runInsert, []any{b.id, a.workflow, nil}, "23503"},
		{"run of A's asset", runInsert, []any{b.id, nil, a.assets[0]}, "23503"},
		{"run of own workflow and A's asset", runInsert, []any{b.id, b.workflow, a.assets[0]}, "23503"},
		{"run of the global asset", runInsert, []any{b.id, nil, global}, "23503"},
		{"run of a missing workflow", runInsert, []any{b.id, missing, nil}, "23503"},
		{"run of own workflow", runInsert, []any{b.id, b.workflow, nil}, ""},
		{"lineage event of A's run", lineageInsert, []any{b.id, a.runs[0]}, "23503"},
		{"lineage event of a missing run", lineageInsert, []any{b.id, missing}, "23503"},
		{"lineage event of own run", lineageInsert, []any{b.id, b.runs[0]}, ""},
		{"column edge from A's asset", columnInsert, []any{b.id, a.assets[0], b.assets[1]}, "23503"},
		{"column edge to the global asset", columnInsert, []any{b.id, b.assets[0], global}, "23503"},
		{"column edge between own assets", columnInsert, []any{b.id, b.assets[0], b.assets[1]}, ""},
		{"version of A's asset", versionInsert, []any{b.id, a.assets[0], nil}, "23503"},
		{"version produced by A's run", versionInsert, []any{b.id, b.assets[0], a.runs[0]}, "23503"},
		{"version of own asset by own run", versionInsert, []any{b.id, b.assets[0], b.runs[0]}, ""},
		{"check on A's asset", checkInsert, []any{b.id, a.assets[0]}, "23503"},
		{"check on the global asset", checkInsert, []any{b.id, global}, "23503"},
		{"check on a missing asset", checkInsert, []any{b.id, missing}, "23503"},
		{"check on own asset", checkInsert, []any{b.id, b.assets[1]}, ""},
		{"result of A's run", resultInsert, []any{b.id, a.runs[1], b.check}, "23503"},
		{"result of A's check", resultInsert, []any{b.id, b.runs[1], a.check}, "23503"},
		{"result of a missing check", resultInsert, []any{b.id, b.runs[1], missing}, "23503"},
		{"result of own run and check", resultInsert, []any{b.id, b.runs[1], b.check}, ""},
		{"tag on A's asset", tagInsert, []any{b.id, a.assets[0]}, "23503"},
		{"tag on the global asset", tagInsert, []any{b.id, global}, "23503"},
		{"tag on a missing asset", tagInsert, []any{b.id, missing}, "23503"},
		{"tag on own asset", tagInsert, []any{b.id, b.assets[1]}, ""},
	}
	errs := map[string]*pgconn.PgError{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := probeTx(t, e, &b.id)
			_, err := tx.ExecContext(context.Background(), tt.stmt, tt.args...)
			if got := sqlState(err); got != tt.want || (tt.want == "" && err != nil) {
				t.Fatalf("err = %v (SQLSTATE %q), want SQLSTATE %q", err, got, tt.want)
			}
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				errs[tt.name] = pgErr
			}
		})
	}
	// A violation must not tell an existing foreign id from a missing one.
	for _, pair := range [][2]string{
		{"edge from own asset to A's", "edge to a missing asset"},
		{"link own workflow to A's asset", "link own workflow to a missing asset"},
		{"run of A's workflow", "run of a missing workflow"},
		{"lineage event of A's run", "lineage event of a missing run"},
		{"check on A's asset", "check on a missing asset"},
		{"result of A's check", "result of a missing check"},
	} {
		x, y := errs[pair[0]], errs[pair[1]]
		if x == nil || y == nil {
			continue // reported above
		}
		if x.Code != y.Code || x.ConstraintName != y.ConstraintName || x.Message != y.Message {
			t.Errorf("%q and %q fail differently: %s/%s/%q vs %s/%s/%q", pair[0], pair[1],
				x.Code, x.ConstraintName, x.Message, y.Code, y.ConstraintName, y.Message)
		}
	}
	if after := ownerSnapshot(t, e.owner, a.id, global); !slices.Equal(after, before) {
		t.Errorf("tenant A's rows changed:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

func TestRLS_ForcedOnEveryTenantTable(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	ctx := context.Background()

	rows, err := e.app.QueryContext(ctx, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
		FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname = ANY($1)`, repository.TenantTables)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	seen := map[string]bool{}
	for rows.Next() {
		var name string
		var rls, force bool
		if err := rows.Scan(&name, &rls, &force); err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		if !rls || !force {
			t.Errorf("table %s: relrowsecurity %v, relforcerowsecurity %v; want both true", name, rls, force)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range repository.TenantTables {
		if !seen[name] {
			t.Errorf("tenant table %s is missing from pg_class", name)
		}
	}

	// Every table that holds a tenant column is a tenant table, and every
	// tenant table is probed by this file.
	holders := queryStrings(t, e.owner, `
		SELECT table_name::text FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1`)
	for _, h := range holders {
		if !slices.Contains(repository.TenantTables, h) {
			t.Errorf("table %s has a tenant_id column but is not in repository.TenantTables", h)
		}
	}
	var probed []string
	for _, tb := range rlsTables {
		probed = append(probed, tb.name)
	}
	if !slices.Equal(probed, repository.TenantTables) {
		t.Errorf("this file probes %v, repository.TenantTables is %v", probed, repository.TenantTables)
	}
}
