package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

func init() {
	registerSection(section{Name: "liveness", Run: measureLiveness})
}

// livenessHeartbeat is the heartbeat timeout the kill row runs with.
const livenessHeartbeat = 5 * time.Second

// measureLiveness measures, on a database of its own, how busy short steps
// keep a tenant's slots, and how long after a worker's SIGKILL its attempts
// are retried by another worker.
func measureLiveness(ctx context.Context, e *env) ([]row, error) {
	db, err := testdb.Create(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Drop()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	steps := 1000
	if e.o.Short {
		steps = 60
	}
	util, err := slotUtilisation(ctx, db, steps)
	if err != nil {
		return nil, fmt.Errorf("slot utilisation: %w", err)
	}
	rows := []row{util}
	if e.o.Short {
		return rows, nil // the kill row builds and kills servo processes
	}
	kill, err := killToRetry(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("kill to retry: %w", err)
	}
	return append(rows, kill), nil
}

// livenessTenant creates a tenant with one command asset running argv.
func livenessTenant(ctx context.Context, svc *service.Service, prefix string, argv []string, timeout string, retry *domain.RetryPolicy) (context.Context, *domain.Asset, error) {
	tenant := testdb.TenantID(prefix)
	if _, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: tenant}); err != nil {
		return nil, nil, err
	}
	tctx := domain.WithTenant(ctx, tenant)
	a, err := svc.CreateAsset(tctx, service.CreateAssetInput{Name: "short", Compute: &domain.ComputeSpec{
		Kind: domain.ComputeCommand, Argv: argv, Timeout: timeout, Retry: retry}})
	return tctx, a, err
}

// slotUtilisation triggers n materializations of a 100 ms step at the
// default cap of 10 with two workers of 10 and reports the share of the
// tenant's slots in use from the first start to the last end.
func slotUtilisation(ctx context.Context, db *testdb.Database, n int) (row, error) {
	store, err := repository.Open(ctx, db.AppURL, repository.PoolConfig{ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		return row{}, err
	}
	defer func() { _ = store.Close() }()
	const cap = 10
	cfg := runtime.Config{Policy: runtime.Policy{Commands: []string{"/bin/sleep"}}, MaxRunningPerTenant: cap, Workers: 10, Queue: "liveness_util"}
	svc, d, err := newService(store, cfg, zap.NewNop())
	if err != nil {
		return row{}, err
	}
	var rts []*runtime.Runtime
	for range 2 {
		rt, err := newRuntime(svc, d, cfg, zap.NewNop())
		if err != nil {
			return row{}, err
		}
		rts = append(rts, rt)
	}
	tctx, a, err := livenessTenant(ctx, svc, "util", []string{"/bin/sleep", "0.1"}, "5s", nil)
	if err != nil {
		return row{}, err
	}
	ids := make([]domain.Run, 0, n)
	for range n {
		r, _, err := svc.TriggerRun(tctx, service.CreateRunInput{AssetID: &a.ID})
		if err != nil {
			return row{}, err
		}
		ids = append(ids, *r)
	}
	for _, rt := range rts {
		if err := rt.Start(ctx); err != nil {
			return row{}, err
		}
		defer func() { _ = stopWithin(rt, 5*time.Second) }()
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		left, err := svc.CountRuns(tctx, domain.RunFilter{AssetID: &a.ID, State: domain.StateSucceeded})
		if err != nil {
			return row{}, err
		}
		if int(left) == n {
			break
		}
		if time.Now().After(deadline) {
			return row{}, fmt.Errorf("%d of %d steps done after 10 minutes", left, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var busy time.Duration
	var first, last time.Time
	var starts, ends []time.Time
	var held []time.Duration
	for _, r := range ids {
		got, err := svc.GetRun(tctx, r.ID)
		if err != nil {
			return row{}, err
		}
		if got.StartedAt == nil || got.CompletedAt == nil {
			return row{}, fmt.Errorf("run %s has no start or end", r.ID)
		}
		busy += got.CompletedAt.Sub(*got.StartedAt)
		starts, ends = append(starts, *got.StartedAt), append(ends, *got.CompletedAt)
		held = append(held, got.CompletedAt.Sub(*got.StartedAt))
		if first.IsZero() || got.StartedAt.Before(first) {
			first = *got.StartedAt
		}
		if got.CompletedAt.After(last) {
			last = *got.CompletedAt
		}
	}
	span := last.Sub(first)
	// Where a slot's time went: the k-th step to end frees a slot that the
	// (k+cap)-th step to start takes; between the two it is idle.
	slices.SortFunc(starts, time.Time.Compare)
	slices.SortFunc(ends, time.Time.Compare)
	var idle []time.Duration
	for k := 0; k+cap < len(starts); k++ {
		idle = append(idle, starts[k+cap].Sub(ends[k]))
	}
	slices.Sort(idle)
	slices.Sort(held)
	if len(idle) > 0 {
		logf("liveness: a step holds its slot p50 %s, p90 %s; a freed slot is idle p50 %s, p90 %s, max %s",
			held[len(held)/2], held[len(held)*9/10], idle[len(idle)/2], idle[len(idle)*9/10], idle[len(idle)-1])
	}
	// util counts a slot busy while its run is running (started to ended,
	// as recorded): the sandbox's start-up and the bookkeeping of the step
	// count as busy. work counts only the 100 ms each step's program
	// sleeps: the share of the slots' time doing what the steps asked.
	util := float64(busy) / float64(cap*span)
	work := float64(time.Duration(n)*100*time.Millisecond) / float64(cap*span)
	logf("liveness: %d steps of 100 ms at cap %d took %s: %.0f%% of the slots in use, %.0f%% sleeping as the steps asked", n, cap, span.Round(time.Millisecond), util*100, work*100)
	return row{
		Name:    fmt.Sprintf("slot utilisation: %d steps of 100 ms at cap %d, 2 workers (steps/s; slots in use %.0f%%, running the steps' own 100 ms %.0f%%)", n, cap, util*100, work*100),
		Clients: cap,
		Servo:   result{RPS: float64(n) / span.Seconds(), N: n},
		Target:  "utilisation >= 85%",
	}, nil
}

// killToRetry starts a `servo worker` running 25-second steps and another
// idle one, kills the first with SIGKILL, and measures for each step the
// time from the kill to its next attempt starting on the other worker;
// three rounds. The binary is built from this module, or taken from
// SERVO_BENCH_SERVO_BIN.
func killToRetry(ctx context.Context, db *testdb.Database) (row, error) {
	dir, err := os.MkdirTemp("", "servo-bench-liveness-")
	if err != nil {
		return row{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := os.Getenv("SERVO_BENCH_SERVO_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "servo")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/servo").CombinedOutput(); err != nil {
			return row{}, fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	store, err := repository.Open(ctx, db.AppURL, repository.PoolConfig{ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		return row{}, err
	}
	defer func() { _ = store.Close() }()
	svc, _, err := newService(store, runtime.Config{Policy: runtime.Policy{Commands: []string{"/bin/sleep"}}, Lease: time.Minute}, zap.NewNop())
	if err != nil {
		return row{}, err
	}
	env := []string{
		"SERVO_DATABASE_URL=" + db.AppURL, "SERVO_APP_ROLE=" + testdb.AppRole, "SERVO_LOG_LEVEL=error",
		"SERVO_RUNTIME_ALLOWED_COMMANDS=/bin/sleep", "SERVO_RUNTIME_LEASE=1m",
		"SERVO_RUNTIME_HEARTBEAT_TIMEOUT=" + livenessHeartbeat.String(), "PATH=" + os.Getenv("PATH"),
		// Ten steps of a tenant run at once (the default cap is 4).
		"SERVO_RUNTIME_MAX_RUNNING_PER_TENANT=10",
	}
	var started []*exec.Cmd
	defer func() { // whatever happens, no worker outlives the row
		for _, c := range started {
			if c.ProcessState == nil {
				_ = c.Process.Kill()
				_ = c.Wait()
			}
		}
	}()
	var stderr syncBuffer
	start := func() (*exec.Cmd, error) {
		cmd := exec.Command(bin, "worker")
		cmd.Env = env
		cmd.Stderr = &stderr // error-level lines only
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		started = append(started, cmd)
		return cmd, nil
	}
	var lat []time.Duration
	for round := range 3 {
		tctx, a, err := livenessTenant(ctx, svc, fmt.Sprintf("kill%d", round), []string{"/bin/sleep", "25"}, "30s",
			&domain.RetryPolicy{MaxAttempts: 2, InitialInterval: "1ms", Jitter: domain.JitterNone})
		if err != nil {
			return row{}, err
		}
		victim, err := start()
		if err != nil {
			return row{}, err
		}
		var runs []uuid.UUID
		for range 10 {
			r, _, err := svc.TriggerRun(tctx, service.CreateRunInput{AssetID: &a.ID})
			if err != nil {
				return row{}, err
			}
			runs = append(runs, r.ID)
		}
		// Kill once at least half the steps run; the others are not
		// measured.
		var running []uuid.UUID
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			running = running[:0]
			for _, id := range runs {
				r, err := svc.GetRun(tctx, id)
				if err != nil {
					return row{}, err
				}
				if r.State == domain.StateRunning {
					running = append(running, id)
				}
			}
			if len(running) >= 5 {
				break
			}
			if time.Now().After(deadline) {
				return row{}, fmt.Errorf("%d of 10 steps running after a minute; worker said: %.2000s", len(running), stderr.String())
			}
		}
		logf("liveness: killing a worker running %d steps", len(running))
		runs = slices.Clone(running)
		survivor, err := start()
		if err != nil {
			return row{}, err
		}
		_ = victim.Process.Signal(syscall.SIGKILL)
		killed := time.Now()
		_ = victim.Wait()
		done := map[uuid.UUID]bool{}
		for deadline := time.Now().Add(2 * time.Minute); len(done) < len(runs); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				return row{}, fmt.Errorf("%d of %d steps retried within 2 minutes of the kill; workers said: %.2000s", len(done), len(runs), stderr.String())
			}
			for _, id := range runs {
				if done[id] {
					continue
				}
				evs, err := svc.RunEvents(tctx, id)
				if err != nil {
					return row{}, err
				}
				for _, ev := range evs {
					if ev.To == domain.StateRunning && ev.Attempt == 2 {
						done[id] = true
						lat = append(lat, ev.At.Sub(killed))
						if d := ev.At.Sub(killed); d > livenessHeartbeat+2*time.Second {
							var hist []string
							for _, e := range evs {
								hist = append(hist, fmt.Sprintf("%s %s>%s/%d %s", e.At.Sub(killed).Round(time.Millisecond), e.From, e.To, e.Attempt, e.Reason))
							}
							logf("liveness: step %s started again %s after the kill: %v", id, d.Round(time.Millisecond), hist)
						}
					}
				}
			}
		}
		for _, id := range runs { // stops the retried steps
			if _, err := svc.CancelRun(tctx, id, "measured"); err != nil && !errors.Is(err, domain.ErrConflict) {
				return row{}, err
			}
		}
		_ = survivor.Process.Signal(syscall.SIGTERM)
		_ = survivor.Wait()
	}
	slices.Sort(lat)
	r := result{N: len(lat), P50: lat[len(lat)/2], P99: lat[len(lat)*99/100]}
	return row{
		Name:    fmt.Sprintf("SIGKILL of a worker to its running attempts started again on another (heartbeat_timeout %s)", livenessHeartbeat),
		Clients: 10, Servo: r, Latency: true,
		Target: fmt.Sprintf("p99 <= %s", livenessHeartbeat+2*time.Second),
	}, nil
}

// syncBuffer is a bytes.Buffer safe for the writes of a child's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
