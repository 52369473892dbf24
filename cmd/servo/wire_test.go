package main

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// serve --no-workers builds no worker at all: its wiring has no runtime,
// a run it triggers is queued with its job left in the database for a
// worker process, and compute specs are still checked against the
// configured policy. With workers the same wiring has a runtime.
func TestWireNoWorkersBuildsNoWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testdb.Fresh(t)
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{Environ: []string{
		"SERVO_DATABASE_URL=" + d.AppURL, "SERVO_APP_ROLE=" + testdb.AppRole,
		"SERVO_RUNTIME_ALLOWED_COMMANDS=/bin/echo",
	}})
	if err != nil {
		t.Fatal(err)
	}
	store := testdb.Open(t, d)

	api, err := wire(ctx, cfg, store, zap.NewNop(), false)
	if err != nil {
		t.Fatal(err)
	}
	if api.runtime != nil {
		t.Fatal("serve --no-workers built a runtime")
	}
	tenant := testdb.TenantID("api")
	if _, err := api.svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: tenant}); err != nil {
		t.Fatal(err)
	}
	tctx := domain.WithTenant(ctx, tenant)
	_, err = api.svc.CreateAsset(tctx, service.CreateAssetInput{Name: "shell",
		Compute: &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{"/bin/sh", "-c", "true"}}})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("asset running a command off the allowlist: %v, want ErrInvalid", err)
	}
	a, err := api.svc.CreateAsset(tctx, service.CreateAssetInput{Name: "echo",
		Compute: &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{"/bin/echo", "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := api.svc.TriggerRun(tctx, service.CreateRunInput{AssetID: &a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if run.State != domain.StateQueued {
		t.Fatalf("triggered run is %s, want queued", run.State)
	}
	var jobs int
	if err := store.SQLDB().QueryRowContext(ctx,
		"SELECT count(*) FROM river_job WHERE kind = 'servo_run' AND state = 'available' AND args->>'run_id' = $1", run.ID.String()).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 {
		t.Fatalf("%d available jobs for the triggered run, want 1", jobs)
	}

	worker, err := wire(ctx, cfg, store, zap.NewNop(), true)
	if err != nil {
		t.Fatal(err)
	}
	if worker.runtime == nil {
		t.Fatal("serve with workers built no runtime")
	}
}
