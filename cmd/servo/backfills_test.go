package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
	"github.com/servo-data/servo/internal/transport/api"
)

// TestBackfillsCLI drives `servo backfills` against a server: create with
// --watch follows the backfill to its end (a line per change off a
// terminal), list and show report it, and a bad request's error names the
// field.
func TestBackfillsCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := testdb.Open(t, testdb.Shared(t))
	db := runtime.DB{Pool: store.SQLDB(), Postgres: true, TxFrom: repository.SQLTx}
	rcfg := runtime.Config{
		FetchPollInterval: 50 * time.Millisecond, WaitPoll: 50 * time.Millisecond, Lease: time.Minute,
		Queue: "cli_" + strings.ReplaceAll(testdb.TenantID("q"), "-", "_"),
	}
	d, err := runtime.NewDispatcher(db, rcfg.Queue, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, d, rcfg.ComputePolicy())
	rt, err := runtime.New(svc, svc.Engine(), d, rcfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	rt.UseBackfills(backfill.New(store, svc, d))
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopRuntime(rt, 5*time.Second) })
	srv, err := api.New(api.Config{}, api.Deps{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{Backfills: rt.Backfills()})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tenant := testdb.TenantID("cli")
	key, _, err := svc.CreateAPIKey(domain.WithSystem(ctx), service.CreateAPIKeyInput{TenantID: tenant, CreateTenant: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAsset(domain.WithTenant(ctx, tenant), service.CreateAssetInput{Name: "cli.daily",
		Partitions: &domain.PartitionsDef{Type: domain.PartitionDaily, StartDate: "2026-01-01"}}); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--server", ts.URL, "--api-key", key}
	inv := servo(t, nil, append([]string{"backfills", "create", "--asset", "cli.daily", "--start", "2026-01-01", "--end", "2026-01-20", "--max-concurrency", "5", "--watch"}, flags...)...)
	if inv.code != 0 {
		t.Fatalf("create --watch: exit %d: %s", inv.code, inv.stderr)
	}
	lines := strings.Split(strings.TrimSpace(inv.stdout), "\n")
	id := lines[0]
	if last := lines[len(lines)-1]; !strings.Contains(last, "20/20 succeeded") || !strings.Contains(last, "[########################################]") {
		t.Errorf("last progress line %q, want a full bar at 20/20 succeeded", last)
	}
	if strings.Contains(inv.stdout, "\r") {
		t.Error("a redrawn bar was written to a non-terminal")
	}
	if inv := servo(t, nil, append([]string{"backfills", "list", "--state", "succeeded"}, flags...)...); inv.code != 0 || !strings.Contains(inv.stdout, id) {
		t.Errorf("list: exit %d, %q, want %s", inv.code, inv.stdout, id)
	}
	if inv := servo(t, nil, append([]string{"backfills", "show", id}, flags...)...); inv.code != 0 || !strings.Contains(inv.stdout, "20/20") {
		t.Errorf("show: exit %d, %q", inv.code, inv.stdout)
	}
	if inv := servo(t, nil, append([]string{"backfills", "pause", id}, flags...)...); inv.code == 0 || !strings.Contains(inv.stderr, "409") {
		t.Errorf("pausing a finished backfill: exit %d, %q", inv.code, inv.stderr)
	}
	if inv := servo(t, nil, append([]string{"backfills", "create", "--asset", "cli.daily", "--keys", "someday"}, flags...)...); inv.code == 0 || !strings.Contains(inv.stderr, "partition_keys") {
		t.Errorf("a bad key: exit %d, %q", inv.code, inv.stderr)
	}
	if inv := servo(t, nil, "backfills", "list", "--server", ts.URL); inv.code == 0 || !strings.Contains(inv.stderr, "--api-key") {
		t.Errorf("without a key: exit %d, %q", inv.code, inv.stderr)
	}
}

// TestKilledWorkerMidBackfill runs a backfill on a `servo worker` process,
// kills it with SIGKILL while partitions run, and starts another: the
// backfill still ends succeeded, and no partition succeeded twice.
func TestKilledWorkerMidBackfill(t *testing.T) {
	t.Parallel()
	bin := buildServo(t)
	d := testdb.Fresh(t)
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The step user reaches the script: stepsDir is readable by others.
	step := filepath.Join(stepsDir(t), "step.sh")
	if err := os.WriteFile(step, []byte("#!/bin/sh\nsleep 1\necho done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"SERVO_DATABASE_URL=" + d.AppURL, "SERVO_APP_ROLE=" + testdb.AppRole,
		"SERVO_RUNTIME_ALLOWED_COMMANDS=" + step, "SERVO_RUNTIME_LEASE=10s", "SERVO_LOG_LEVEL=warn",
		"PATH=" + os.Getenv("PATH"),
	}
	ctx := context.Background()
	store := testdb.Open(t, d)
	dispatcher, err := runtime.NewDispatcher(runtime.DB{Pool: store.SQLDB(), Postgres: true, TxFrom: repository.SQLTx}, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, dispatcher, runtime.Config{Policy: runtime.Policy{Commands: []string{step}}, Lease: 10 * time.Second}.ComputePolicy())
	bf := backfill.New(store, svc, dispatcher)
	tenant := testdb.TenantID("bfkill")
	if _, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: tenant}); err != nil {
		t.Fatal(err)
	}
	tctx := domain.WithTenant(ctx, tenant)
	asset, err := svc.CreateAsset(tctx, service.CreateAssetInput{Name: "killed.daily",
		Partitions: &domain.PartitionsDef{Type: domain.PartitionDaily, StartDate: "2026-01-01"},
		Compute: &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{step}, Timeout: "5s",
			Retry: &domain.RetryPolicy{MaxAttempts: 3, InitialInterval: "100ms", Jitter: domain.JitterNone}}})
	if err != nil {
		t.Fatal(err)
	}
	startWorker := func() *exec.Cmd {
		cmd := exec.Command(bin, "worker")
		cmd.Env = env
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	first := startWorker()
	b, _, err := bf.Create(tctx, backfill.CreateInput{Asset: asset.Name, HasRange: true, RangeStart: "2026-01-01", RangeEnd: "2026-01-08", MaxConcurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() bool {
		cur, err := bf.Get(tctx, b.ID)
		return err == nil && cur.Counts.Succeeded >= 2 && cur.Counts.Running > 0
	}, "backfill %s to have two partitions done and one running", b.ID)
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	startWorker()
	var final *domain.Backfill
	testutil.WaitFor(t, 120*time.Second, func() bool {
		cur, err := bf.Get(tctx, b.ID)
		final = cur
		return err == nil && cur.State.IsTerminal()
	}, "backfill %s to end", b.ID)
	if final.State != domain.BackfillSucceeded || final.Counts.Succeeded != 8 {
		t.Fatalf("backfill ended %s with %+v, want succeeded with 8", final.State, final.Counts)
	}
	list, err := svc.ListRuns(tctx, domain.RunFilter{AssetID: &asset.ID}, domain.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	succeeded := map[string]int{}
	for _, r := range list.Items {
		if r.State == domain.StateSucceeded {
			succeeded[r.PartitionKey]++
		}
	}
	if len(succeeded) != 8 {
		t.Errorf("%d partitions succeeded, want 8: %v", len(succeeded), succeeded)
	}
	for k, n := range succeeded {
		if n != 1 {
			t.Errorf("partition %s succeeded %d times", k, n)
		}
	}
}
