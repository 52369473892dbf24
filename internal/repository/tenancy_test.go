package repository

// The application wall alone: the GORM tenancy callbacks, tested on SQLite,
// which has no row-level security to hide behind, and with DryRun sessions
// that show the SQL the callbacks produce.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/migrations"
)

const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
)

// tenancyFixture is a migrated SQLite store holding two tenants and a global
// asset, with a raw handle on the same file that bypasses the callbacks.
type tenancyFixture struct {
	s   *Store
	raw *sql.DB

	sys, a, b context.Context

	aAssets   [2]uuid.UUID // tenant A's assets, "a-secret" and "a-other"
	bAssets   [2]uuid.UUID // tenant B's assets, "b-own" and "b-other"
	global    uuid.UUID    // the global asset "g-shared"
	aWorkflow uuid.UUID
	aRun      uuid.UUID
}

func newTenancyFixture(t *testing.T) *tenancyFixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "servo.db")
	mig, err := OpenMigrator(ctx, path, PoolConfig{}, zap.NewNop())
	if err != nil {
		t.Fatalf("open migrator: %v", err)
	}
	if err := migrations.Up(ctx, mig, migrations.Options{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if db, err := mig.DB(); err == nil {
		_ = db.Close()
	}
	s, err := Open(ctx, path, PoolConfig{}, zap.NewNop())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open raw sqlite: %v", err)
	}
	t.Cleanup(func() { _ = raw.Close() })

	f := &tenancyFixture{
		s: s, raw: raw,
		sys: domain.WithSystem(ctx),
		a:   domain.WithTenant(ctx, tenantA),
		b:   domain.WithTenant(ctx, tenantB),
	}
	for _, id := range []string{tenantA, tenantB} {
		if err := s.TenantCreate(f.sys, &domain.Tenant{ID: id, Name: id}); err != nil {
			t.Fatalf("create tenant %s: %v", id, err)
		}
	}
	asset := func(ctx context.Context, name string) uuid.UUID {
		t.Helper()
		a := domain.Asset{Name: name, AssetType: domain.DefaultAssetType, Tags: []string{}}
		if err := s.AssetCreate(ctx, &a); err != nil {
			t.Fatalf("create asset %s: %v", name, err)
		}
		return a.ID
	}
	f.aAssets = [2]uuid.UUID{asset(f.a, "a-secret"), asset(f.a, "a-other")}
	f.bAssets = [2]uuid.UUID{asset(f.b, "b-own"), asset(f.b, "b-other")}
	f.global = asset(f.sys, "g-shared")

	dep := domain.AssetDependency{UpstreamAssetID: f.aAssets[0], DownstreamAssetID: f.aAssets[1], DependencyType: domain.DependencyData}
	if err := s.DependencyCreate(f.a, &dep); err != nil {
		t.Fatalf("create dependency: %v", err)
	}
	wf := domain.Workflow{Name: "wf-a", Version: 1, Tags: []string{}, AssetIDs: []uuid.UUID{f.aAssets[0], f.aAssets[1]}}
	if err := s.WorkflowCreate(f.a, &wf); err != nil {
		t.Fatalf("create workflow: %v", err)
	}
	f.aWorkflow = wf.ID
	run := domain.Run{AssetID: &f.aAssets[0]}
	run.Normalize()
	if err := s.RunCreate(f.a, &run); err != nil {
		t.Fatalf("create run: %v", err)
	}
	f.aRun = run.ID
	return f
}

// db returns the store's tenant-scoped handle bound to ctx.
func (f *tenancyFixture) db(ctx context.Context) *gorm.DB { return f.s.db.WithContext(ctx) }

// dry returns a DryRun handle bound to ctx: statements are built, not run.
func (f *tenancyFixture) dry(ctx context.Context) *gorm.DB {
	return f.s.db.Session(&gorm.Session{DryRun: true}).WithContext(ctx)
}

// snapshot dumps every row of every table, read around the callbacks.
func (f *tenancyFixture) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, table := range TenantTables {
		fmt.Fprintf(&b, "== %s\n", table)
		for _, r := range f.query(t, "SELECT * FROM "+table+" ORDER BY rowid") {
			fmt.Fprintln(&b, r)
		}
	}
	return b.String()
}

// query runs q on the raw handle and renders each row as text.
func (f *tenancyFixture) query(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := f.raw.Query(q, args...)
	if err != nil {
		t.Fatalf("raw query %q: %v", q, err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts[i] = fmt.Sprintf("%s=%v", cols[i], v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assetTenant returns the stored tenant_id of an asset ("<null>" for a
// global one, "<missing>" when the row does not exist).
func (f *tenancyFixture) assetTenant(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var tenant sql.NullString
	err := f.raw.QueryRow("SELECT tenant_id FROM assets WHERE id = ?", id.String()).Scan(&tenant)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "<missing>"
	case err != nil:
		t.Fatalf("read asset %s: %v", id, err)
	case !tenant.Valid:
		return "<null>"
	}
	return tenant.String
}

func (f *tenancyFixture) assetDescription(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var d string
	if err := f.raw.QueryRow("SELECT description FROM assets WHERE id = ?", id.String()).Scan(&d); err != nil {
		t.Fatalf("read asset %s: %v", id, err)
	}
	return d
}

func TestTenancy_OrConditionsStayInsideTenantCondition(t *testing.T) {
	t.Parallel()
	f := newTenancyFixture(t)

	t.Run("sql", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name     string
			run      func() *gorm.DB
			wantSQL  string
			wantVars []any
		}{
			{
				name: "query tenant-or-global table",
				run: func() *gorm.DB {
					return f.dry(f.b).Where("a = ?", 1).Or("b = ?", 2).Find(&[]assetRow{})
				},
				wantSQL:  "SELECT * FROM `assets` WHERE ((a = ? OR b = ?)) AND (`assets`.`tenant_id` = ? OR `assets`.`tenant_id` IS NULL)",
				wantVars: []any{1, 2, tenantB},
			},
			{
				name: "query tenant-only table",
				run: func() *gorm.DB {
					return f.dry(f.b).Where("a = ?", 1).Or("b = ?", 2).Find(&[]workflowRow{})
				},
				wantSQL:  "SELECT * FROM `workflows` WHERE ((a = ? OR b = ?)) AND `workflows`.`tenant_id` = ?",
				wantVars: []any{1, 2, tenantB},
			},
			{
				name: "count",
				run: func() *gorm.DB {
					var n int64
					return f.dry(f.b).Model(&runRow{}).Where("a = ?", 1).Or("b = ?", 2).Count(&n)
				},
				wantSQL:  "SELECT count(*) FROM `executions` WHERE ((a = ? OR b = ?)) AND `executions`.`tenant_id` = ?",
				wantVars: []any{1, 2, tenantB},
			},
			{
				name: "update",
				run: func() *gorm.DB {
					return f.dry(f.b).Model(&workflowRow{}).Where("a = ?", 1).Or("b = ?", 2).UpdateColumn("description", "x")
				},
				wantSQL:  "UPDATE `workflows` SET `description`=? WHERE ((a = ? OR b = ?)) AND `workflows`.`tenant_id` = ?",
				wantVars: []any{"x", 1, 2, tenantB},
			},
			{
				name: "delete",
				run: func() *gorm.DB {
					return f.dry(f.b).Where("a = ?", 1).Or("b = ?", 2).Delete(&assetRow{})
				},
				wantSQL:  "DELETE FROM `assets` WHERE ((a = ? OR b = ?)) AND `assets`.`tenant_id` = ?",
				wantVars: []any{1, 2, tenantB},
			},
			{
				name: "system scope query",
				run: func() *gorm.DB {
					return f.dry(f.sys).Where("a = ?", 1).Or("b = ?", 2).Find(&[]assetRow{})
				},
				wantSQL:  "SELECT * FROM `assets` WHERE ((a = ? OR b = ?)) AND `assets`.`tenant_id` IS NULL",
				wantVars: []any{1, 2},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := tt.run()
				if res.Error != nil {
					t.Fatalf("build: %v", res.Error)
				}
				if got := res.Statement.SQL.String(); got != tt.wantSQL {
					t.Errorf("SQL\n got: %s\nwant: %s", got, tt.wantSQL)
				}
				if got := fmt.Sprint(res.Statement.Vars); got != fmt.Sprint(tt.wantVars) {
					t.Errorf("vars = %s, want %s", got, fmt.Sprint(tt.wantVars))
				}
			})
		}
	})

	t.Run("rows", func(t *testing.T) {
		t.Parallel()
		// Each subtest needs the fixture as built; give this one its own.
		f := newTenancyFixture(t)

		var rows []assetRow
		if err := f.db(f.b).Where("name = ?", "b-own").Or("name = ?", "a-secret").Or("name = ?", "g-shared").Order("name").Find(&rows).Error; err != nil {
			t.Fatalf("find: %v", err)
		}
		var names []string
		for _, r := range rows {
			names = append(names, r.Name)
		}
		if want := []string{"b-own", "g-shared"}; !slices.Equal(names, want) {
			t.Errorf("tenant B's OR query returned %v, want %v", names, want)
		}

		var n int64
		if err := f.db(f.b).Model(&assetRow{}).Where("id = ?", f.bAssets[0]).Or("id = ?", f.aAssets[0]).Count(&n).Error; err != nil {
			t.Fatalf("count: %v", err)
		}
		if n != 1 {
			t.Errorf("tenant B's OR count = %d, want 1", n)
		}

		res := f.db(f.b).Model(&assetRow{}).Where("id = ?", f.bAssets[0]).Or("id = ?", f.aAssets[0]).Update("description", "or-probe")
		if res.Error != nil || res.RowsAffected != 1 {
			t.Fatalf("OR update: err %v, rows %d; want nil, 1", res.Error, res.RowsAffected)
		}
		if d := f.assetDescription(t, f.aAssets[0]); d != "" {
			t.Errorf("tenant A's asset description = %q after tenant B's OR update, want it untouched", d)
		}
		if d := f.assetDescription(t, f.bAssets[0]); d != "or-probe" {
			t.Errorf("tenant B's asset description = %q, want %q", d, "or-probe")
		}

		res = f.db(f.b).Where("name = ?", "no-such-asset").Or("id = ?", f.aAssets[0]).Delete(&assetRow{})
		if res.Error != nil || res.RowsAffected != 0 {
			t.Fatalf("OR delete: err %v, rows %d; want nil, 0", res.Error, res.RowsAffected)
		}
		if got := f.assetTenant(t, f.aAssets[0]); got != tenantA {
			t.Errorf("tenant A's asset after tenant B's OR delete: tenant %s, want %s", got, tenantA)
		}
	})
}

func TestTenancy_NoScopeFailsClosed(t *testing.T) {
	t.Parallel()
	f := newTenancyFixture(t)
	before := f.snapshot(t)
	bg := context.Background()

	contexts := []struct {
		name string
		ctx  context.Context
	}{
		{"no scope", bg},
		{"zero scope", domain.WithScope(bg, domain.Scope{})},
		{"empty tenant", domain.WithTenant(bg, "")},
		{"uppercase tenant", domain.WithTenant(bg, "Tenant-A")},
		{"tenant with space", domain.WithTenant(bg, "tenant a")},
		{"tenant with quote", domain.WithTenant(bg, "tenant-a' OR '1'='1")},
		{"tenant too long", domain.WithTenant(bg, strings.Repeat("a", 64))},
		{"tenant starting with dash", domain.WithTenant(bg, "-tenant")},
	}
	statements := []struct {
		name string
		run  func(db *gorm.DB) error
	}{
		{"query", func(db *gorm.DB) error { return db.Find(&[]assetRow{}).Error }},
		{"query by id", func(db *gorm.DB) error { return db.Where("id = ?", f.aAssets[0]).Take(&assetRow{}).Error }},
		{"count", func(db *gorm.DB) error { var n int64; return db.Model(&workflowRow{}).Count(&n).Error }},
		{"pluck", func(db *gorm.DB) error { var s []string; return db.Model(&assetRow{}).Pluck("name", &s).Error }},
		{"query system table", func(db *gorm.DB) error { return db.Find(&[]tenantRow{}).Error }},
		{"create", func(db *gorm.DB) error {
			return db.Create(&assetRow{ID: newID(), Name: "no-scope", AssetType: "generic", Tags: stringList{}}).Error
		}},
		{"create tenant", func(db *gorm.DB) error { return db.Create(&tenantRow{ID: "intruder"}).Error }},
		{"update", func(db *gorm.DB) error {
			return db.Model(&assetRow{}).Where("id = ?", f.aAssets[0]).Update("name", "no-scope").Error
		}},
		{"update by primary key", func(db *gorm.DB) error {
			return db.Model(&assetRow{ID: f.aAssets[0]}).Update("name", "no-scope").Error
		}},
		{"delete", func(db *gorm.DB) error { return db.Where("id = ?", f.aAssets[0]).Delete(&assetRow{}).Error }},
		{"delete by primary key", func(db *gorm.DB) error { return db.Delete(&runRow{ID: f.aRun}).Error }},
		{"raw exec", func(db *gorm.DB) error { return db.Exec("UPDATE assets SET name = name || '!'").Error }},
		{"raw scan", func(db *gorm.DB) error { var s []string; return db.Raw("SELECT name FROM assets").Scan(&s).Error }},
		{"raw rows", func(db *gorm.DB) error { return closeRows(db.Raw("SELECT name FROM assets").Rows()) }},
		{"model rows", func(db *gorm.DB) error { return closeRows(db.Model(&assetRow{}).Select("name").Rows()) }},
		{"model scan", func(db *gorm.DB) error { var s []string; return db.Model(&assetRow{}).Select("name").Scan(&s).Error }},
	}
	for _, c := range contexts {
		for _, st := range statements {
			t.Run(c.name+"/"+st.name, func(t *testing.T) {
				err := st.run(f.db(c.ctx))
				if !errors.Is(err, domain.ErrForbidden) {
					t.Errorf("err = %v, want one matching domain.ErrForbidden", err)
				}
			})
		}
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("statements without a valid scope changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func closeRows(rows *sql.Rows, err error) error {
	if rows != nil {
		_ = rows.Close()
	}
	return err
}

func TestTenancy_TableWithoutModelFailsClosed(t *testing.T) {
	t.Parallel()
	f := newTenancyFixture(t)
	before := f.snapshot(t)

	statements := []struct {
		name string
		run  func(db *gorm.DB) error
	}{
		{"find into maps", func(db *gorm.DB) error { return db.Table("assets").Find(&[]map[string]any{}).Error }},
		{"take into map", func(db *gorm.DB) error {
			return db.Table("assets").Where("id = ?", f.aAssets[0]).Take(&map[string]any{}).Error
		}},
		{"count", func(db *gorm.DB) error { var n int64; return db.Table("assets").Count(&n).Error }},
		{"pluck", func(db *gorm.DB) error { var s []string; return db.Table("workflows").Pluck("name", &s).Error }},
		{"rows", func(db *gorm.DB) error { return closeRows(db.Table("assets").Select("name").Rows()) }},
		{"scan", func(db *gorm.DB) error { var s []string; return db.Table("assets").Select("name").Scan(&s).Error }},
		{"update", func(db *gorm.DB) error {
			return db.Table("assets").Where("id = ?", f.aAssets[0]).Update("name", "no-model").Error
		}},
		{"updates map", func(db *gorm.DB) error {
			return db.Table("executions").Where("1 = 1").Updates(map[string]any{"error_message": "no-model"}).Error
		}},
		{"delete", func(db *gorm.DB) error {
			return db.Table("assets").Where("id = ?", f.aAssets[0]).Delete(map[string]any{}).Error
		}},
		{"create map", func(db *gorm.DB) error {
			return db.Table("assets").Create(map[string]any{"id": newID().String(), "tenant_id": tenantA, "name": "no-model"}).Error
		}},
		{"create map with model", func(db *gorm.DB) error {
			return db.Model(&assetRow{}).Create(map[string]any{"id": newID().String(), "tenant_id": tenantA, "name": "no-model"}).Error
		}},
	}
	for _, scope := range []struct {
		name string
		ctx  context.Context
	}{{"tenant", f.b}, {"system", f.sys}} {
		for _, st := range statements {
			t.Run(scope.name+"/"+st.name, func(t *testing.T) {
				err := st.run(f.db(scope.ctx))
				if !errors.Is(err, domain.ErrForbidden) {
					t.Errorf("err = %v, want one matching domain.ErrForbidden", err)
				}
			})
		}
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("statements without a model changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestTenancy_UpdateDeleteWithoutConditionRefused(t *testing.T) {
	t.Parallel()

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		f := newTenancyFixture(t)
		before := f.snapshot(t)
		allowGlobal := func(db *gorm.DB) *gorm.DB { return db.Session(&gorm.Session{AllowGlobalUpdate: true}) }
		statements := []struct {
			name string
			run  func(db *gorm.DB) *gorm.DB
		}{
			{"update column", func(db *gorm.DB) *gorm.DB { return db.Model(&assetRow{}).Update("description", "x") }},
			{"update column on zero-key model", func(db *gorm.DB) *gorm.DB {
				return db.Model(&assetRow{Name: "a-secret"}).Update("description", "x")
			}},
			{"updates map", func(db *gorm.DB) *gorm.DB {
				return db.Model(&assetRow{}).Updates(map[string]any{"description": "x"})
			}},
			{"updates struct", func(db *gorm.DB) *gorm.DB {
				return db.Model(&assetRow{}).Updates(assetRow{Description: "x"})
			}},
			{"updates struct naming a key, model without one", func(db *gorm.DB) *gorm.DB {
				return db.Model(&assetRow{}).Updates(&assetRow{ID: f.aAssets[0], Description: "x"})
			}},
			{"update column with AllowGlobalUpdate", func(db *gorm.DB) *gorm.DB {
				return allowGlobal(db).Model(&assetRow{}).Update("description", "x")
			}},
			{"unscoped update", func(db *gorm.DB) *gorm.DB { return db.Unscoped().Model(&assetRow{}).Update("description", "x") }},
			{"update expression", func(db *gorm.DB) *gorm.DB {
				return db.Model(&assetRow{}).UpdateColumn("name", gorm.Expr("name || ?", "!"))
			}},
			{"delete", func(db *gorm.DB) *gorm.DB { return db.Delete(&assetRow{}) }},
			{"delete empty slice", func(db *gorm.DB) *gorm.DB { return db.Delete(&[]assetRow{}) }},
			{"delete with AllowGlobalUpdate", func(db *gorm.DB) *gorm.DB { return allowGlobal(db).Delete(&assetRow{}) }},
			{"unscoped delete", func(db *gorm.DB) *gorm.DB { return db.Unscoped().Delete(&assetRow{}) }},
			{"empty where string", func(db *gorm.DB) *gorm.DB { return db.Where("").Delete(&assetRow{}) }},
			{"empty where map", func(db *gorm.DB) *gorm.DB { return db.Where(map[string]any{}).Delete(&assetRow{}) }},
			{"zero struct where", func(db *gorm.DB) *gorm.DB { return db.Where(&assetRow{}).Delete(&assetRow{}) }},
		}
		tenantOnly := []struct {
			name string
			run  func(db *gorm.DB) *gorm.DB
		}{
			{"update workflows", func(db *gorm.DB) *gorm.DB { return db.Model(&workflowRow{}).Update("description", "x") }},
			{"update workflow_assets", func(db *gorm.DB) *gorm.DB { return db.Model(&workflowAssetRow{}).Update("position", 7) }},
			{"update executions with AllowGlobalUpdate", func(db *gorm.DB) *gorm.DB {
				return allowGlobal(db).Model(&runRow{}).Update("error_message", "x")
			}},
			{"delete asset_dependencies", func(db *gorm.DB) *gorm.DB { return db.Delete(&dependencyRow{}) }},
			{"delete workflow_assets", func(db *gorm.DB) *gorm.DB { return db.Delete(&workflowAssetRow{}) }},
			{"delete executions", func(db *gorm.DB) *gorm.DB { return db.Delete(&runRow{}) }},
		}
		check := func(t *testing.T, res *gorm.DB) {
			t.Helper()
			if !errors.Is(res.Error, gorm.ErrMissingWhereClause) {
				t.Errorf("err = %v, want gorm.ErrMissingWhereClause", res.Error)
			}
			if res.RowsAffected != 0 {
				t.Errorf("rows affected = %d, want 0", res.RowsAffected)
			}
		}
		for _, st := range statements {
			t.Run("tenant/"+st.name, func(t *testing.T) { check(t, st.run(f.db(f.a))) })
			t.Run("system/"+st.name, func(t *testing.T) { check(t, st.run(f.db(f.sys))) })
		}
		for _, st := range tenantOnly {
			t.Run("tenant/"+st.name, func(t *testing.T) { check(t, st.run(f.db(f.a))) })
		}
		if after := f.snapshot(t); after != before {
			t.Errorf("refused statements changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("own condition is accepted and tenant-scoped", func(t *testing.T) {
		t.Parallel()
		f := newTenancyFixture(t)
		res := f.db(f.a).Model(&assetRow{}).Where("1 = 1").Update("description", "own-where")
		if res.Error != nil || res.RowsAffected != 2 {
			t.Fatalf("update with own WHERE: err %v, rows %d; want nil, 2 (tenant A's assets)", res.Error, res.RowsAffected)
		}
		for _, id := range f.aAssets {
			if d := f.assetDescription(t, id); d != "own-where" {
				t.Errorf("tenant A's asset %s description = %q, want %q", id, d, "own-where")
			}
		}
		for _, id := range []uuid.UUID{f.bAssets[0], f.bAssets[1], f.global} {
			if d := f.assetDescription(t, id); d != "" {
				t.Errorf("asset %s outside tenant A has description %q, want it untouched", id, d)
			}
		}

		res = f.db(f.a).Model(&assetRow{ID: f.aAssets[1]}).Update("description", "by-key")
		if res.Error != nil || res.RowsAffected != 1 {
			t.Fatalf("update by primary key: err %v, rows %d; want nil, 1", res.Error, res.RowsAffected)
		}
		res = f.db(f.b).Model(&assetRow{ID: f.aAssets[1]}).Update("description", "stolen")
		if res.Error != nil || res.RowsAffected != 0 {
			t.Fatalf("tenant B updating A's asset by key: err %v, rows %d; want nil, 0", res.Error, res.RowsAffected)
		}
		if d := f.assetDescription(t, f.aAssets[1]); d != "by-key" {
			t.Errorf("tenant A's asset description = %q, want %q", d, "by-key")
		}
		res = f.db(f.b).Delete(&assetRow{ID: f.aAssets[1]})
		if res.Error != nil || res.RowsAffected != 0 {
			t.Fatalf("tenant B deleting A's asset by key: err %v, rows %d; want nil, 0", res.Error, res.RowsAffected)
		}
		res = f.db(f.b).Where("1 = 1").Delete(&runRow{})
		if res.Error != nil || res.RowsAffected != 0 {
			t.Fatalf("tenant B deleting with its own WHERE: err %v, rows %d; want nil, 0 (it has no runs)", res.Error, res.RowsAffected)
		}
		if got := f.query(t, "SELECT id FROM executions"); len(got) != 1 {
			t.Errorf("executions after tenant B's delete: %v, want tenant A's one run", got)
		}
		if got := f.assetTenant(t, f.aAssets[1]); got != tenantA {
			t.Errorf("tenant A's asset after tenant B's delete: tenant %s, want %s", got, tenantA)
		}
	})
}

func TestTenancy_CreateStampsScopeTenant(t *testing.T) {
	t.Parallel()
	f := newTenancyFixture(t)
	a, b := tenantA, tenantB

	tests := []struct {
		name       string
		ctx        context.Context
		value      func() any // what Create receives
		table      string
		ids        func(v any) []uuid.UUID
		wantErr    error
		wantTenant string // stored tenant_id of every row ("<null>" for NULL)
	}{
		{
			name: "tenant asset without tenant is stamped", ctx: f.b, table: "assets", wantTenant: b,
			value: func() any { return &assetRow{ID: newID(), Name: "stamp-1", AssetType: "generic"} },
		},
		{
			name: "tenant asset naming its own tenant", ctx: f.b, table: "assets", wantTenant: b,
			value: func() any { return &assetRow{ID: newID(), TenantID: &b, Name: "stamp-2", AssetType: "generic"} },
		},
		{
			name: "tenant asset naming another tenant", ctx: f.b, table: "assets", wantErr: domain.ErrForbidden,
			value: func() any { return &assetRow{ID: newID(), TenantID: &a, Name: "stamp-3", AssetType: "generic"} },
		},
		{
			name: "tenant batch with one row naming another tenant", ctx: f.b, table: "assets", wantErr: domain.ErrForbidden,
			value: func() any {
				return &[]assetRow{
					{ID: newID(), Name: "stamp-4", AssetType: "generic"},
					{ID: newID(), TenantID: &a, Name: "stamp-5", AssetType: "generic"},
				}
			},
		},
		{
			name: "tenant batch of pointers is stamped", ctx: f.b, table: "assets", wantTenant: b,
			value: func() any {
				return &[]*assetRow{
					{ID: newID(), Name: "stamp-6", AssetType: "generic"},
					{ID: newID(), Name: "stamp-7", AssetType: "generic"},
				}
			},
		},
		{
			name: "tenant dependency is stamped", ctx: f.b, table: "asset_dependencies", wantTenant: b,
			value: func() any {
				return &dependencyRow{ID: newID(), UpstreamAssetID: f.bAssets[0], DownstreamAssetID: f.bAssets[1], DependencyType: "data"}
			},
		},
		{
			name: "tenant dependency naming another tenant", ctx: f.b, table: "asset_dependencies", wantErr: domain.ErrForbidden,
			value: func() any {
				return &dependencyRow{ID: newID(), TenantID: a, UpstreamAssetID: f.aAssets[1], DownstreamAssetID: f.aAssets[0], DependencyType: "control"}
			},
		},
		{
			name: "tenant workflow naming another tenant", ctx: f.b, table: "workflows", wantErr: domain.ErrForbidden,
			value: func() any { return &workflowRow{ID: newID(), TenantID: a, Name: "wf-injected", Version: 9} },
		},
		{
			name: "tenant workflow asset naming another tenant", ctx: f.b, table: "workflow_assets", wantErr: domain.ErrForbidden,
			value: func() any {
				return &workflowAssetRow{TenantID: a, WorkflowID: f.aWorkflow, Position: 9, AssetID: f.aAssets[0]}
			},
		},
		{
			name: "tenant run naming another tenant", ctx: f.b, table: "executions", wantErr: domain.ErrForbidden,
			value: func() any {
				return &runRow{ID: newID(), TenantID: a, AssetID: &f.aAssets[0], State: "pending", Trigger: "manual", Attempt: 1}
			},
		},
		{
			name: "system asset is global", ctx: f.sys, table: "assets", wantTenant: "<null>",
			value: func() any { return &assetRow{ID: newID(), Name: "stamp-global", AssetType: "generic"} },
		},
		{
			name: "system asset naming a tenant", ctx: f.sys, table: "assets", wantErr: domain.ErrForbidden,
			value: func() any { return &assetRow{ID: newID(), TenantID: &a, Name: "stamp-sys-a", AssetType: "generic"} },
		},
		{
			name: "system dependency", ctx: f.sys, table: "asset_dependencies", wantErr: domain.ErrForbidden,
			value: func() any {
				return &dependencyRow{ID: newID(), UpstreamAssetID: f.aAssets[1], DownstreamAssetID: f.aAssets[0], DependencyType: "metadata"}
			},
		},
		{
			name: "system workflow", ctx: f.sys, table: "workflows", wantErr: domain.ErrForbidden,
			value: func() any { return &workflowRow{ID: newID(), Name: "wf-sys", Version: 1} },
		},
		{
			name: "system workflow asset", ctx: f.sys, table: "workflow_assets", wantErr: domain.ErrForbidden,
			value: func() any { return &workflowAssetRow{WorkflowID: f.aWorkflow, Position: 8, AssetID: f.global} },
		},
		{
			name: "system run", ctx: f.sys, table: "executions", wantErr: domain.ErrForbidden,
			value: func() any {
				return &runRow{ID: newID(), AssetID: &f.global, State: "pending", Trigger: "manual", Attempt: 1}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.snapshot(t)
			v := tt.value()
			err := f.db(tt.ctx).Create(v).Error
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want one matching %v", err, tt.wantErr)
				}
				if after := f.snapshot(t); after != before {
					t.Errorf("refused create changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			for _, id := range createdIDs(v) {
				var got sql.NullString
				if err := f.raw.QueryRow("SELECT tenant_id FROM "+tt.table+" WHERE id = ?", id.String()).Scan(&got); err != nil {
					t.Fatalf("read back %s: %v", id, err)
				}
				stored := "<null>"
				if got.Valid {
					stored = got.String
				}
				if stored != tt.wantTenant {
					t.Errorf("row %s stored with tenant %s, want %s", id, stored, tt.wantTenant)
				}
			}
			if n := len(createdIDs(v)); n == 0 {
				t.Fatal("test case created no rows")
			}
			// The struct is stamped too, so callers see what was stored.
			if r, ok := v.(*assetRow); ok {
				got := "<null>"
				if r.TenantID != nil {
					got = *r.TenantID
				}
				if got != tt.wantTenant {
					t.Errorf("struct tenant after create = %s, want %s", got, tt.wantTenant)
				}
			}
			if r, ok := v.(*dependencyRow); ok && r.TenantID != tt.wantTenant {
				t.Errorf("struct tenant after create = %s, want %s", r.TenantID, tt.wantTenant)
			}
		})
	}
}

// createdIDs returns the primary keys of the rows in v.
func createdIDs(v any) []uuid.UUID {
	switch r := v.(type) {
	case *assetRow:
		return []uuid.UUID{r.ID}
	case *[]assetRow:
		var ids []uuid.UUID
		for _, x := range *r {
			ids = append(ids, x.ID)
		}
		return ids
	case *[]*assetRow:
		var ids []uuid.UUID
		for _, x := range *r {
			ids = append(ids, x.ID)
		}
		return ids
	case *dependencyRow:
		return []uuid.UUID{r.ID}
	case *workflowRow:
		return []uuid.UUID{r.ID}
	case *runRow:
		return []uuid.UUID{r.ID}
	}
	return nil
}

func TestTenancy_SystemTablesRefusedInTenantScope(t *testing.T) {
	t.Parallel()
	f := newTenancyFixture(t)
	before := f.snapshot(t)

	statements := []struct {
		name string
		run  func(db *gorm.DB) error
	}{
		{"find", func(db *gorm.DB) error { return db.Find(&[]tenantRow{}).Error }},
		{"take own tenant", func(db *gorm.DB) error { return db.Where("id = ?", tenantA).Take(&tenantRow{}).Error }},
		{"count", func(db *gorm.DB) error { var n int64; return db.Model(&tenantRow{}).Count(&n).Error }},
		{"rows", func(db *gorm.DB) error { return closeRows(db.Model(&tenantRow{}).Rows()) }},
		{"create", func(db *gorm.DB) error { return db.Create(&tenantRow{ID: "tenant-c"}).Error }},
		{"update", func(db *gorm.DB) error {
			return db.Model(&tenantRow{}).Where("id = ?", tenantB).Update("name", "renamed").Error
		}},
		{"update by key", func(db *gorm.DB) error { return db.Model(&tenantRow{ID: tenantB}).Update("name", "renamed").Error }},
		{"delete", func(db *gorm.DB) error { return db.Where("id = ?", tenantB).Delete(&tenantRow{}).Error }},
		{"unscoped delete", func(db *gorm.DB) error { return db.Unscoped().Delete(&tenantRow{ID: tenantB}).Error }},
		{"find api keys", func(db *gorm.DB) error { return db.Find(&[]apiKeyRow{}).Error }},
		{"find own api keys", func(db *gorm.DB) error { return db.Where("tenant_id = ?", tenantA).Find(&[]apiKeyRow{}).Error }},
		{"create api key", func(db *gorm.DB) error {
			return db.Create(&apiKeyRow{ID: newID(), TenantID: tenantA, Prefix: "svk_", Hash: make([]byte, 32)}).Error
		}},
		{"revoke api keys", func(db *gorm.DB) error {
			return db.Model(&apiKeyRow{}).Where("1 = 1").Update("revoked_at", time.Now()).Error
		}},
	}
	for _, st := range statements {
		t.Run(st.name, func(t *testing.T) {
			err := st.run(f.db(f.a))
			if !errors.Is(err, domain.ErrForbidden) {
				t.Errorf("err = %v, want one matching domain.ErrForbidden", err)
			}
		})
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("refused statements changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The system scope manages tenants, with no tenant condition.
	var rows []tenantRow
	if err := f.db(f.sys).Order("id").Find(&rows).Error; err != nil {
		t.Fatalf("system scope lists tenants: %v", err)
	}
	if len(rows) != 2 || rows[0].ID != tenantA || rows[1].ID != tenantB {
		t.Errorf("system scope sees tenants %+v, want %s and %s", rows, tenantA, tenantB)
	}
}

func TestTenancy_UnscopedKeepsTenantScope(t *testing.T) {
	t.Parallel()
	f := newTenancyFixture(t)

	res := f.dry(f.b).Unscoped().Where("name = ?", "x").Find(&[]assetRow{})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	want := "SELECT * FROM `assets` WHERE (name = ?) AND (`assets`.`tenant_id` = ? OR `assets`.`tenant_id` IS NULL)"
	if got := res.Statement.SQL.String(); got != want {
		t.Errorf("Unscoped query SQL\n got: %s\nwant: %s", got, want)
	}

	var rows []assetRow
	if err := f.db(f.b).Unscoped().Order("name").Find(&rows).Error; err != nil {
		t.Fatalf("unscoped find: %v", err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
	}
	if want := []string{"b-other", "b-own", "g-shared"}; !slices.Equal(names, want) {
		t.Errorf("tenant B's Unscoped find = %v, want %v", names, want)
	}

	before := f.snapshot(t)
	if res := f.db(f.b).Unscoped().Where("id = ?", f.aAssets[0]).Delete(&assetRow{}); res.Error != nil || res.RowsAffected != 0 {
		t.Errorf("Unscoped delete of A's asset: err %v, rows %d; want nil, 0", res.Error, res.RowsAffected)
	}
	if res := f.db(f.b).Unscoped().Model(&assetRow{}).Where("id = ?", f.aAssets[0]).Update("name", "x"); res.Error != nil || res.RowsAffected != 0 {
		t.Errorf("Unscoped update of A's asset: err %v, rows %d; want nil, 0", res.Error, res.RowsAffected)
	}
	if res := f.db(f.b).Unscoped().Where("1 = 1").Delete(&workflowRow{}); res.Error != nil || res.RowsAffected != 0 {
		t.Errorf("Unscoped delete of workflows: err %v, rows %d; want nil, 0", res.Error, res.RowsAffected)
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("Unscoped statements of tenant B changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// leafRows gives tenant A an asset and a workflow that nothing references,
// so no foreign key stands in the way of moving them.
func (f *tenancyFixture) leafRows(t *testing.T) (asset, workflow uuid.UUID) {
	t.Helper()
	a := domain.Asset{Name: "a-leaf-" + newID().String(), AssetType: domain.DefaultAssetType, Tags: []string{}}
	if err := f.s.AssetCreate(f.a, &a); err != nil {
		t.Fatalf("create leaf asset: %v", err)
	}
	w := domain.Workflow{Name: "wf-leaf-" + newID().String(), Version: 1, Tags: []string{}}
	if err := f.s.WorkflowCreate(f.a, &w); err != nil {
		t.Fatalf("create leaf workflow: %v", err)
	}
	return a.ID, w.ID
}

// An UPDATE's SET may not move a row to another tenant or make it global:
// the tenant condition in the WHERE does not cover the new values. Rows with
// children are held by the composite foreign keys; leaf rows only by the
// callbacks.
func TestTenancy_UpdateCannotReassignTenant(t *testing.T) {
	t.Parallel()
	b := tenantB
	statements := []struct {
		name string
		run  func(db *gorm.DB, asset, workflow, run uuid.UUID) error
	}{
		{"asset to another tenant", func(db *gorm.DB, asset, _, _ uuid.UUID) error {
			return db.Model(&assetRow{}).Where("id = ?", asset).Update("tenant_id", tenantB).Error
		}},
		{"asset to global", func(db *gorm.DB, asset, _, _ uuid.UUID) error {
			return db.Model(&assetRow{}).Where("id = ?", asset).Update("tenant_id", nil).Error
		}},
		{"asset by struct", func(db *gorm.DB, asset, _, _ uuid.UUID) error {
			return db.Model(&assetRow{ID: asset}).Updates(assetRow{TenantID: &b}).Error
		}},
		{"workflow to another tenant", func(db *gorm.DB, _, workflow, _ uuid.UUID) error {
			return db.Model(&workflowRow{}).Where("id = ?", workflow).UpdateColumn("tenant_id", tenantB).Error
		}},
		{"run to another tenant", func(db *gorm.DB, _, _, run uuid.UUID) error {
			return db.Model(&runRow{}).Where("id = ?", run).Updates(map[string]any{"tenant_id": tenantB}).Error
		}},
	}
	for _, target := range []string{"referenced rows", "leaf rows"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			f := newTenancyFixture(t)
			for _, st := range statements {
				t.Run(st.name, func(t *testing.T) {
					asset, workflow := f.aAssets[0], f.aWorkflow
					if target == "leaf rows" {
						asset, workflow = f.leafRows(t) // fresh ones: an earlier case may have moved the last
					}
					before := f.snapshot(t)
					err := st.run(f.db(f.a), asset, workflow, f.aRun)
					if err == nil {
						t.Errorf("tenant A's update of tenant_id succeeded, want it refused")
					}
					if after := f.snapshot(t); after != before {
						t.Errorf("tenant A's update moved a row out of its tenant:\nbefore:\n%s\nafter:\n%s", before, after)
					}
				})
			}
		})
	}
}

// Save and an upsert become INSERT ... ON CONFLICT DO UPDATE: the conflict
// target is another tenant's row, which the tenant condition never sees.
func TestTenancy_UpsertCannotTakeOverAnotherTenantsRow(t *testing.T) {
	t.Parallel()
	statements := []struct {
		name   string
		system bool
		run    func(db *gorm.DB, victim uuid.UUID) error
	}{
		{"tenant Save", false, func(db *gorm.DB, victim uuid.UUID) error {
			return db.Save(&assetRow{ID: victim, Name: "hijacked-" + newID().String(), AssetType: "generic"}).Error
		}},
		{"tenant upsert all", false, func(db *gorm.DB, victim uuid.UUID) error {
			return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&assetRow{ID: victim, Name: "hijacked-" + newID().String(), AssetType: "generic"}).Error
		}},
		{"tenant upsert one column", false, func(db *gorm.DB, victim uuid.UUID) error {
			return db.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "id"}},
				DoUpdates: clause.AssignmentColumns([]string{"description"}),
			}).Create(&assetRow{ID: victim, Name: "other-" + newID().String(), AssetType: "generic", Description: "defaced"}).Error
		}},
		{"system Save", true, func(db *gorm.DB, victim uuid.UUID) error {
			return db.Save(&assetRow{ID: victim, Name: "hijacked-" + newID().String(), AssetType: "generic"}).Error
		}},
	}
	for _, target := range []string{"referenced row", "leaf row"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			f := newTenancyFixture(t)
			for _, st := range statements {
				t.Run(st.name, func(t *testing.T) {
					victim := f.aAssets[0]
					if target == "leaf row" {
						victim, _ = f.leafRows(t)
					}
					ctx := f.b
					if st.system {
						ctx = f.sys
					}
					before := f.snapshot(t)
					err := st.run(f.db(ctx), victim)
					if after := f.snapshot(t); after != before {
						t.Errorf("%s of tenant A's asset id (err %v) changed the database:\nbefore:\n%s\nafter:\n%s", st.name, err, before, after)
					}
				})
			}
		})
	}
}

// The model decides the tenant condition; a Table() naming another table
// must not carry a system-table model's freedom over to tenant data.
func TestTenancy_TableOverrideCannotEscapeModelScope(t *testing.T) {
	t.Parallel()
	f := newTenancyFixture(t)
	before := f.snapshot(t)

	var names []string
	res := f.db(f.sys).Model(&tenantRow{}).Table("assets").Order("name").Pluck("name", &names)
	if res.Error == nil && !slices.Equal(names, []string{"g-shared"}) {
		t.Errorf("system scope read assets through the tenants model: %v, want only the global row (or a refusal)", names)
	}
	res = f.db(f.sys).Model(&tenantRow{}).Table("assets").Where("1 = 1").Update("description", "escaped")
	if d := f.assetDescription(t, f.aAssets[0]); d != "" {
		t.Errorf("system scope wrote tenant A's asset through the tenants model (err %v, rows %d): description %q", res.Error, res.RowsAffected, d)
	}
	res = f.db(f.sys).Model(&tenantRow{}).Table("executions").Where("1 = 1").Delete(&tenantRow{})
	if after := f.snapshot(t); after != before {
		t.Errorf("system scope changed tenant data through the tenants model (last err %v, rows %d)", res.Error, res.RowsAffected)
	}
}
