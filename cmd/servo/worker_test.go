package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

// hostStepDir is a directory on the host that steps running as the step
// user (runtime.isolation=user) can write to.
func hostStepDir(t *testing.T) string {
	t.Helper()
	d := stepsDir(t)
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

// buildServo compiles the binary once per test into a temporary directory.
func buildServo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "servo")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKilledWorkerRunIsPickedUp starts a step in a `servo worker` process,
// kills the process with SIGKILL mid-step, and starts another worker: once
// the dead worker's heartbeat is stale the step is retried and succeeds; it
// is never left running.
func TestKilledWorkerRunIsPickedUp(t *testing.T) {
	t.Parallel()
	bin := buildServo(t)
	d := testdb.Fresh(t)
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	marks := hostStepDir(t)
	step := filepath.Join(marks, "step.sh")
	// The first attempt hangs (its worker is killed); later ones succeed.
	script := "#!/bin/sh\nif [ ! -e " + marks + "/first ]; then touch " + marks + "/first; echo $$ > " + marks + "/pid; sleep 120; fi\necho done\n"
	if err := os.WriteFile(step, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"SERVO_DATABASE_URL=" + d.AppURL, "SERVO_APP_ROLE=" + testdb.AppRole,
		"SERVO_RUNTIME_ALLOWED_COMMANDS=" + step, "SERVO_RUNTIME_LEASE=10s", "SERVO_RUNTIME_HEARTBEAT_TIMEOUT=3s", "SERVO_LOG_LEVEL=warn",
		// The step marks the host's filesystem, which a bwrap sandbox
		// hides: it runs as the step user only (TestHostileSteps covers the
		// sandbox).
		"SERVO_RUNTIME_ISOLATION=user",
		"PATH=" + os.Getenv("PATH"),
	}

	// Dispatch from this process, as an API node would.
	ctx := context.Background()
	store := testdb.Open(t, d)
	dispatcher, err := runtime.NewDispatcher(runtime.DB{Pool: store.SQLDB(), Postgres: true, TxFrom: repository.SQLTx}, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, dispatcher, runtime.Config{Policy: runtime.Policy{Commands: []string{step}}, Lease: 10 * time.Second}.ComputePolicy())
	tenant := testdb.TenantID("kill")
	if _, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: tenant}); err != nil {
		t.Fatal(err)
	}
	tctx := domain.WithTenant(ctx, tenant)
	asset, err := svc.CreateAsset(tctx, service.CreateAssetInput{Name: "fragile", Compute: &domain.ComputeSpec{
		Kind: domain.ComputeCommand, Argv: []string{step}, Timeout: "5s",
		Retry: &domain.RetryPolicy{MaxAttempts: 3, InitialInterval: "100ms", Jitter: domain.JitterNone},
	}})
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
	run, _, err := svc.TriggerRun(tctx, service.CreateRunInput{AssetID: &asset.ID})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() bool {
		r, err := svc.GetRun(tctx, run.ID)
		_, statErr := os.Stat(filepath.Join(marks, "pid"))
		return err == nil && r.State == domain.StateRunning && statErr == nil
	}, "run %s to run with its step started", run.ID)
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	// The orphaned step process is not the point here; stop it.
	if b, err := os.ReadFile(filepath.Join(marks, "pid")); err == nil {
		var pid int
		if _, err := fmtSscan(strings.TrimSpace(string(b)), &pid); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}

	startWorker()
	// The heartbeat timeout (3s) plus the reaper's second plus the retry.
	var final *domain.Run
	t.Cleanup(func() {
		if final == nil {
			evs, _ := svc.RunEvents(tctx, run.ID)
			for _, e := range evs {
				t.Logf("event %s %s>%s %s", e.At.Format("15:04:05.000"), e.From, e.To, e.Reason)
			}
			out, _ := exec.Command("psql", d.OwnerURL, "-Atc", "select id, state, attempt, attempted_at, scheduled_at, now(), errors from river_job").CombinedOutput()
			t.Logf("jobs:\n%s", out)
			out, _ = exec.Command("psql", d.OwnerURL, "-Atc", "select * from river_leader").CombinedOutput()
			t.Logf("leader:\n%s", out)
		}
	})
	testutil.WaitFor(t, 75*time.Second, func() bool {
		r, err := svc.GetRun(tctx, run.ID)
		if err == nil && r.State.IsTerminal() && r.State != domain.StateFailed {
			final = r
			return true
		}
		return false
	}, "run %s to end after the lost worker", run.ID)
	if final.State != domain.StateSucceeded || final.Attempt != 2 {
		t.Fatalf("run = %s attempt %d (%s)", final.State, final.Attempt, final.ErrorMessage)
	}
	evs, err := svc.RunEvents(tctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lost bool
	for _, e := range evs {
		lost = lost || strings.Contains(e.Reason, "was lost")
	}
	if !lost {
		t.Fatalf("no event says the worker was lost: %+v", evs)
	}
}
