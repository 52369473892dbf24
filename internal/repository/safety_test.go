package repository_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/migrations"
)

// openStore opens a store at url, closed when the test ends.
func openStore(t *testing.T, url string) *repository.Store {
	t.Helper()
	st, err := repository.Open(context.Background(), url, repository.PoolConfig{MaxOpen: 2, ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// ownerExec runs statements on d as its owner.
func ownerExec(t *testing.T, d *testdb.Database, stmts ...string) {
	t.Helper()
	db, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// adminExec runs statements on the administrative connection (cluster-wide
// statements such as CREATE ROLE).
func adminExec(t *testing.T, stmts ...string) error {
	t.Helper()
	db, err := sql.Open("pgx", testdb.AdminURL())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			return err
		}
	}
	return nil
}

func randomHex() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// throwawayRole creates a login role that is neither superuser nor
// BYPASSRLS, and drops it (with everything it owns or was granted in d)
// when the test ends. It returns the role's name and a URL that logs into d
// as the role.
func throwawayRole(t *testing.T, d *testdb.Database, prefix string) (string, string) {
	t.Helper()
	name := prefix + randomHex()
	ident := pgx.Identifier{name}.Sanitize()
	if err := adminExec(t, "CREATE ROLE "+ident+" LOGIN PASSWORD 'throwaway' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"); err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	// Runs before testdb.Fresh's cleanup drops d: privileges in d must go
	// before the role can.
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", d.OwnerURL); err == nil {
			_, _ = db.ExecContext(context.Background(), "DROP OWNED BY "+ident)
			_ = db.Close()
		}
		if err := adminExec(t, "DROP ROLE IF EXISTS "+ident); err != nil {
			t.Errorf("drop role %s: %v", name, err)
		}
	})
	u, err := url.Parse(d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, "throwaway")
	return name, u.String()
}

// migrateFor migrates d with role as the application role.
func migrateFor(t *testing.T, d *testdb.Database, role string) {
	t.Helper()
	ctx := context.Background()
	gdb, err := repository.OpenMigrator(ctx, d.OwnerURL, repository.PoolConfig{MaxOpen: 1}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer func() { _ = sqlDB.Close() }()
	}
	if err := migrations.Up(ctx, gdb, migrations.Options{AppRole: role}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
}

// wantRefusal fails the test unless err is a refusal mentioning every part.
func wantRefusal(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("CheckSafety passed, want a refusal mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("CheckSafety error %q does not mention %q", err, p)
		}
	}
}

func TestCheckSafety_PassesAsAppRoleOnMigratedDatabase(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, testdb.Shared(t))
	if err := st.CheckSafety(context.Background()); err != nil {
		t.Fatalf("CheckSafety as %s on the migrated database: %v", testdb.AppRole, err)
	}
}

func TestCheckSafety_SQLitePasses(t *testing.T) {
	t.Parallel()
	if err := testdb.OpenSQLite(t).CheckSafety(context.Background()); err != nil {
		t.Fatalf("CheckSafety on SQLite: %v", err)
	}
}

func TestCheckSafety_RefusesSuperuser(t *testing.T) {
	t.Parallel()
	d := testdb.Shared(t)
	st := openStore(t, d.OwnerURL)
	var user string
	var super bool
	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	if err := owner.QueryRow("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&user, &super); err != nil {
		t.Fatal(err)
	}
	if !super {
		t.Fatalf("precondition: the owner %q is expected to be a superuser", user)
	}
	wantRefusal(t, st.CheckSafety(context.Background()), `"`+user+`"`, "superuser", "BYPASSRLS")
}

func TestCheckSafety_RefusesUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	// The app role can log in (PUBLIC holds CONNECT on a new database) and is
	// an ordinary role, so the refusal can only come from the schema.
	st := openStore(t, d.AppURL)
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("the app role cannot reach the fresh database: %v", err)
	}
	wantRefusal(t, st.CheckSafety(context.Background()), "table tenants is missing", "migrate up")
}

func TestCheckSafety_RefusesMigrationBehind(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, d.AppURL)
	if err := st.CheckSafety(context.Background()); err != nil {
		t.Fatalf("precondition: CheckSafety on the migrated database: %v", err)
	}
	ids, err := migrations.IDs("postgres")
	if err != nil || len(ids) == 0 {
		t.Fatalf("migration ids: %v %v", ids, err)
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			ownerExec(t, d, "DELETE FROM "+migrations.Table+" WHERE id = '"+id+"'")
			wantRefusal(t, st.CheckSafety(context.Background()), "migration "+id+" is not applied")
			ownerExec(t, d, "INSERT INTO "+migrations.Table+" (id) VALUES ('"+id+"')")
			if err := st.CheckSafety(context.Background()); err != nil {
				t.Fatalf("after restoring %s: %v", id, err)
			}
		})
	}
	t.Run("no bookkeeping table", func(t *testing.T) {
		ownerExec(t, d, "ALTER TABLE "+migrations.Table+" RENAME TO servo_migrations_away")
		wantRefusal(t, st.CheckSafety(context.Background()), "read applied migrations")
		ownerExec(t, d, "ALTER TABLE servo_migrations_away RENAME TO "+migrations.Table)
	})
}

func TestCheckSafety_RefusesTableWithoutForcedRLS(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, d.AppURL)
	for _, table := range repository.TenantTables {
		for _, c := range []struct{ name, weaken, restore string }{
			{"not forced", "NO FORCE ROW LEVEL SECURITY", "FORCE ROW LEVEL SECURITY"},
			{"disabled", "DISABLE ROW LEVEL SECURITY", "ENABLE ROW LEVEL SECURITY"},
		} {
			t.Run(table+"/"+c.name, func(t *testing.T) {
				ownerExec(t, d, "ALTER TABLE "+table+" "+c.weaken)
				wantRefusal(t, st.CheckSafety(context.Background()), "row-level security is not enabled and forced on table "+table)
				ownerExec(t, d, "ALTER TABLE "+table+" "+c.restore)
				if err := st.CheckSafety(context.Background()); err != nil {
					t.Fatalf("after restoring %s: %v", table, err)
				}
			})
		}
	}
}

func TestCheckSafety_RefusesBypassRLSRole(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	role, roleURL := throwawayRole(t, d, "servo_test_bypass_")
	migrateFor(t, d, role) // grants the role exactly what the app role gets
	ownerExec(t, d, "INSERT INTO tenants (id) VALUES ('bypass-probe')")

	st := openStore(t, roleURL)
	ctx := context.Background()
	visibleTenants := func() int {
		t.Helper()
		db, err := sql.Open("pgx", roleURL)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM tenants").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if err := st.CheckSafety(ctx); err != nil {
		t.Fatalf("control: CheckSafety as %s without BYPASSRLS: %v", role, err)
	}
	if n := visibleTenants(); n != 0 {
		t.Fatalf("control: without BYPASSRLS and without a scope the role sees %d tenants, want 0", n)
	}

	if err := adminExec(t, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" BYPASSRLS"); err != nil {
		t.Fatal(err)
	}
	if n := visibleTenants(); n != 1 {
		t.Fatalf("with BYPASSRLS the role sees %d tenants without a scope, want 1: the check guards a real bypass", n)
	}
	wantRefusal(t, st.CheckSafety(ctx), `"`+role+`"`, "BYPASSRLS")
}

func TestCheckSafety_RefusesTableOwnerPrivileges(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	role, roleURL := throwawayRole(t, d, "servo_test_owner_")
	migrateFor(t, d, role)
	st := openStore(t, roleURL)
	ctx := context.Background()
	if err := st.CheckSafety(ctx); err != nil {
		t.Fatalf("control: CheckSafety as %s: %v", role, err)
	}
	ident := pgx.Identifier{role}.Sanitize()

	t.Run("owns a table", func(t *testing.T) {
		ownerExec(t, d, "ALTER TABLE workflows OWNER TO "+ident)
		wantRefusal(t, st.CheckSafety(ctx), `"`+role+`"`, "owner of table workflows")
		ownerExec(t, d, "ALTER TABLE workflows OWNER TO CURRENT_USER")
		if err := st.CheckSafety(ctx); err != nil {
			t.Fatalf("after restoring the owner: %v", err)
		}
	})
	t.Run("member of the owning role", func(t *testing.T) {
		group, _ := throwawayRole(t, d, "servo_test_group_")
		groupIdent := pgx.Identifier{group}.Sanitize()
		ownerExec(t, d, "ALTER TABLE executions OWNER TO "+groupIdent)
		if err := adminExec(t, "GRANT "+groupIdent+" TO "+ident); err != nil {
			t.Fatal(err)
		}
		wantRefusal(t, st.CheckSafety(ctx), `"`+role+`"`, "owner of table executions")
		ownerExec(t, d, "ALTER TABLE executions OWNER TO CURRENT_USER")
		if err := adminExec(t, "REVOKE "+groupIdent+" FROM "+ident); err != nil {
			t.Fatal(err)
		}
	})
	// A NOINHERIT member does not use the owner's privileges by itself but
	// may SET ROLE to the owner at any time, and then switch RLS off.
	t.Run("NOINHERIT member of the owning role", func(t *testing.T) {
		group, _ := throwawayRole(t, d, "servo_test_group_")
		groupIdent := pgx.Identifier{group}.Sanitize()
		ownerExec(t, d, "ALTER TABLE asset_dependencies OWNER TO "+groupIdent)
		t.Cleanup(func() { ownerExec(t, d, "ALTER TABLE asset_dependencies OWNER TO CURRENT_USER") })
		if err := adminExec(t, "ALTER ROLE "+ident+" NOINHERIT", "GRANT "+groupIdent+" TO "+ident); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = adminExec(t, "REVOKE "+groupIdent+" FROM "+ident, "ALTER ROLE "+ident+" INHERIT") })

		// Show the role can really lift RLS through SET ROLE.
		conn, err := sql.Open("pgx", roleURL)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		conn.SetMaxOpenConns(1)
		for _, q := range []string{"SET ROLE " + groupIdent, "ALTER TABLE asset_dependencies NO FORCE ROW LEVEL SECURITY", "ALTER TABLE asset_dependencies FORCE ROW LEVEL SECURITY", "RESET ROLE"} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("as %s: %s: %v", role, q, err)
			}
		}

		wantRefusal(t, st.CheckSafety(ctx), `"`+role+`"`, "owner of table asset_dependencies")
	})
}
