package repository_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/migrations"
)

// TestSQLiteFilesArePrivate checks that the embedded database, its -wal
// and its -shm are created readable by the server's user only, whatever the
// umask, and that an existing database left readable by others is narrowed
// to 0600 when the server opens it.
func TestSQLiteFilesArePrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "servo.db")
	open := func(tenant string) {
		gdb, err := repository.OpenMigrator(ctx, path, repository.PoolConfig{MaxOpen: 1, ConnectTimeout: 5 * time.Second}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		if err := migrations.Up(ctx, gdb, migrations.Options{}); err != nil {
			t.Fatal(err)
		}
		sqlDB, _ := gdb.DB()
		defer func() { _ = sqlDB.Close() }()
		st, err := repository.Open(ctx, path, repository.PoolConfig{MaxOpen: 1, ConnectTimeout: 5 * time.Second}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = st.Close() }()
		if err := st.TenantCreate(domain.WithSystem(ctx), &domain.Tenant{ID: tenant, Name: "x"}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v (the database is open in WAL mode: it should exist)", p, err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(p), mode)
			}
		}
	}
	open("private-a")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	open("private-b")
}
