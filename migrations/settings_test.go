package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/migrations"
)

// TestMigration0007_SigningKeyInSystemScope checks the system_settings
// table on both backends: the signing key is generated once and then kept
// (a second start, or a second process, gets the same one); only the system
// scope reaches it (row-level security on PostgreSQL, as the application
// role); and the migration's down drops the table, its up brings it back.
func TestMigration0007_SigningKeyInSystemScope(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			sys := domain.WithSystem(ctx)
			var svc, again *service.Service
			if backend == "postgres" {
				d := testdb.Fresh(t)
				if err := migrations.Up(ctx, openMigrator(t, d.OwnerURL), appOpts); err != nil {
					t.Fatal(err)
				}
				svc, again = service.New(testdb.Open(t, d), nil, nil), service.New(testdb.Open(t, d), nil, nil)
			} else {
				st := testdb.OpenSQLite(t)
				svc, again = service.New(st, nil, nil), service.New(st, nil, nil)
			}
			k1, err := svc.SigningKey(sys)
			if err != nil || len(k1) != 64 {
				t.Fatalf("first signing key = %q, %v; want 64 hex digits", k1, err)
			}
			k2, err := again.SigningKey(sys)
			if err != nil || string(k2) != string(k1) {
				t.Fatalf("second start's key = %q, %v; want the stored %q", k2, err, k1)
			}
			if _, err := svc.SigningKey(domain.WithTenant(ctx, testdb.TenantID("settings"))); !errors.Is(err, domain.ErrForbidden) {
				t.Fatalf("signing key in a tenant scope: %v, want forbidden", err)
			}
		})
	}
	t.Run("postgres rls", func(t *testing.T) {
		t.Parallel()
		d := testdb.Fresh(t)
		ctx := context.Background()
		gdb := openMigrator(t, d.OwnerURL)
		if err := migrations.Up(ctx, gdb, appOpts); err != nil {
			t.Fatal(err)
		}
		if _, err := service.New(testdb.Open(t, d), nil, nil).SigningKey(domain.WithSystem(ctx)); err != nil {
			t.Fatal(err)
		}
		app, err := sql.Open("pgx", d.AppURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = app.Close() })
		for _, setting := range []string{"", "a-tenant"} {
			var n int
			if err := app.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT set_config('app.tenant_id', $1, false)) s, system_settings`, setting).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("the application role outside the system scope (tenant %q) sees %d settings", setting, n)
			}
		}
		if _, err := app.ExecContext(ctx, `UPDATE system_settings SET value = 'forged'`); err == nil {
			t.Error("the application role may update a setting")
		}
		// Roll back the migrations after 0007, then 0007 itself.
		ids, err := migrations.IDs("postgres")
		if err != nil {
			t.Fatal(err)
		}
		for i := len(ids) - 1; i >= 0 && !strings.HasPrefix(ids[i], "0006"); i-- {
			if err := migrations.Down(ctx, gdb, appOpts); err != nil {
				t.Fatalf("down of %s: %v", ids[i], err)
			}
		}
		if got := tables(t, gdb); contains(got, "system_settings") {
			t.Errorf("down of 0007 left system_settings")
		}
		if err := migrations.Up(ctx, gdb, appOpts); err != nil {
			t.Fatal(err)
		}
		if got := tables(t, gdb); !contains(got, "system_settings") {
			t.Errorf("up again did not bring system_settings back")
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
