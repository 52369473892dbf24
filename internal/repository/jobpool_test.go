package repository_test

import (
	"context"
	"testing"

	"github.com/servo-data/servo/internal/testdb"
)

// TestJobPool: the job queue's pool connects as the store's role (row-level
// security stays in force for anything sent over it), is one pool however
// often asked for, is gone with the store, and does not exist on SQLite.
func TestJobPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := testdb.Open(t, testdb.Shared(t))
	pool, err := store.JobPool()
	if err != nil {
		t.Fatal(err)
	}
	var role string
	if err := pool.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil {
		t.Fatal(err)
	}
	if role != testdb.AppRole {
		t.Errorf("job pool connects as %q, want the store's role %q", role, testdb.AppRole)
	}
	if again, err := store.JobPool(); err != nil || again != pool {
		t.Errorf("second JobPool = %p, %v; want the same pool %p", again, err, pool)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(ctx); err == nil {
		t.Error("the job pool still answers after the store closed")
	}
	if _, err := store.JobPool(); err == nil {
		t.Error("JobPool after Close: no error")
	}
	if _, err := testdb.OpenSQLite(t).JobPool(); err == nil {
		t.Error("JobPool on SQLite: no error")
	}
}
