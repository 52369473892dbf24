package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

// chaosKillPhase is how long workers are killed for; the whole test takes
// about this plus the time to drain.
const chaosKillPhase = 45 * time.Second

// TestChaosWorkersKilled runs two `servo worker` processes on PostgreSQL
// while this process triggers three-step workflow runs and materializations,
// and kills one worker with SIGKILL every few seconds (restarting it, as a
// supervisor would). Every run ends, none twice, all succeed (their retries
// cover the kills); after each kill the tenant's next step starts within the
// heartbeat timeout plus 2s; and no step process outlives its worker or the
// test. The two workers isolate steps differently, and are killed in turn:
// one in plain mode (the step user, no sandbox: the step is the worker's
// own child, so the parent-death signal and the process group are what must
// kill it), the other in the bwrap sandbox (the sandbox's launcher dies with
// the worker and takes the whole sandbox with it).
func TestChaosWorkersKilled(t *testing.T) {
	t.Parallel()
	bin := buildServo(t)
	d := testdb.Fresh(t)
	ctx := context.Background()
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const heartbeat = 3 * time.Second
	token := "servo-chaos-" + uuid.NewString()
	// The step user reaches the script: stepsDir is readable by others.
	step := filepath.Join(stepsDir(t), "step.sh")
	if err := os.WriteFile(step, []byte("#!/bin/sh\nsleep \"$2\"\necho ok\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"SERVO_DATABASE_URL=" + d.AppURL, "SERVO_APP_ROLE=" + testdb.AppRole,
		"SERVO_RUNTIME_ALLOWED_COMMANDS=" + step, "SERVO_RUNTIME_LEASE=20s",
		"SERVO_RUNTIME_HEARTBEAT_TIMEOUT=" + heartbeat.String(), "SERVO_RUNTIME_MAX_RUNNING_PER_TENANT=10",
		"SERVO_LOG_LEVEL=error", "PATH=" + os.Getenv("PATH"),
	}
	isolation := [2]string{runtime.IsolationUser, runtime.IsolationBwrap}

	// Dispatch from this process, as an API node would.
	store := testdb.Open(t, d)
	dispatcher, err := runtime.NewDispatcher(runtime.DB{Pool: store.SQLDB(), Postgres: true, TxFrom: repository.SQLTx}, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, dispatcher, runtime.Config{Policy: runtime.Policy{Commands: []string{step}}, Lease: 20 * time.Second}.ComputePolicy())
	tenant := testdb.TenantID("chaos")
	if _, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: tenant}); err != nil {
		t.Fatal(err)
	}
	tctx := domain.WithTenant(ctx, tenant)
	// The token marks step processes in the process table; solo steps
	// last long enough that one outliving its worker would be seen.
	spec := func(secs string) *domain.ComputeSpec {
		return &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{step, token, secs}, Timeout: "5s",
			Retry: &domain.RetryPolicy{MaxAttempts: 20, InitialInterval: "100ms", Jitter: domain.JitterNone}}
	}
	var assets []*domain.Asset
	for _, name := range []string{"a", "b", "c", "solo"} {
		secs := "0.5"
		if name == "solo" {
			secs = "3"
		}
		a, err := svc.CreateAsset(tctx, service.CreateAssetInput{Name: name, Compute: spec(secs)})
		if err != nil {
			t.Fatal(err)
		}
		assets = append(assets, a)
	}
	for _, e := range [][2]int{{0, 1}, {1, 2}} {
		if _, err := svc.CreateDependency(tctx, assets[e[0]].ID, assets[e[1]].ID, domain.DependencyData); err != nil {
			t.Fatal(err)
		}
	}
	wf, err := svc.CreateWorkflow(tctx, service.CreateWorkflowInput{Name: "chain", Assets: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	workers := [2]*exec.Cmd{}
	start := func(i int) {
		cmd := exec.Command(bin, "worker")
		cmd.Env = append(slices.Clip(env), "SERVO_RUNTIME_ISOLATION="+isolation[i])
		var out bytes.Buffer
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[i] = cmd
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, w := range workers {
			if w != nil && w.ProcessState == nil {
				_ = w.Process.Kill()
				_ = w.Wait()
			}
		}
	})
	start(0)
	start(1)

	// Trigger runs through the kill phase.
	var runs []uuid.UUID
	stopTrigger := make(chan struct{})
	triggered := make(chan struct{})
	go func() {
		defer close(triggered)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			in := service.CreateRunInput{WorkflowID: &wf.ID}
			if i%3 == 0 {
				in = service.CreateRunInput{AssetID: &assets[3].ID}
			}
			r, _, err := svc.TriggerRun(tctx, in)
			if err != nil {
				t.Errorf("trigger: %v", err)
				return
			}
			runs = append(runs, r.ID)
			select {
			case <-stopTrigger:
				return
			case <-tick.C:
			}
		}
	}()

	var kills []time.Time
	end := time.Now().Add(chaosKillPhase)
	for i := 0; time.Now().Before(end); i++ {
		time.Sleep(4 * time.Second)
		mu.Lock()
		w := workers[i%2]
		_ = w.Process.Signal(syscall.SIGKILL)
		kills = append(kills, time.Now())
		_ = w.Wait()
		// The dead worker's steps die with it: none is left that does not
		// descend from the surviving worker.
		time.Sleep(200 * time.Millisecond)
		if orphans := orphansWith(token, workers[(i+1)%2].Process.Pid); len(orphans) > 0 {
			t.Errorf("step processes outlived their killed worker: %v", orphans)
		}
		start(i % 2)
		mu.Unlock()
	}
	close(stopTrigger)
	<-triggered

	// Drain: every run ends.
	open := 0
	// Each check reads every run: once a second is enough.
	drained := testutil.EventuallyEvery(90*time.Second, time.Second, func() bool {
		open = 0
		for _, id := range runs {
			r, err := svc.GetRun(tctx, id)
			if err != nil {
				t.Fatalf("run %s: %v (lost)", id, err)
			}
			if !r.State.IsTerminal() {
				open++
			}
		}
		return open == 0
	})
	if !drained {
		t.Fatalf("%d of %d runs still not finished 90s after the last kill (stuck)", open, len(runs))
	}

	// Every run and step succeeded once; collect step starts.
	var starts, lost []time.Time
	var steps, lostAttempts int
	check := func(id uuid.UUID) {
		r, err := svc.GetRun(tctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != domain.StateSucceeded {
			t.Errorf("run %s ended %s: %s", id, r.State, r.ErrorMessage)
		}
		evs, err := svc.RunEvents(tctx, id)
		if err != nil {
			t.Fatal(err)
		}
		successes := 0
		for _, e := range evs {
			if e.To == domain.StateSucceeded {
				successes++
			}
			if e.To == domain.StateRunning && r.AssetID != nil {
				starts = append(starts, e.At)
			}
			if e.To == domain.StateFailed && r.AssetID != nil {
				lostAttempts++
				if strings.Contains(e.Reason, "was lost") {
					lost = append(lost, e.At)
				}
			}
		}
		if successes != 1 {
			t.Errorf("run %s succeeded %d times", id, successes)
		}
	}
	for _, id := range runs {
		check(id)
		children, err := svc.RunSteps(tctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range children {
			steps++
			check(c.ID)
		}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	var worst time.Duration
	for _, k := range kills {
		i, _ := slices.BinarySearchFunc(starts, k, func(a, b time.Time) int { return a.Compare(b) })
		if i == len(starts) {
			t.Errorf("no step started after the kill at %s", k.Format(time.StampMilli))
			continue
		}
		gap := starts[i].Sub(k)
		worst = max(worst, gap)
		if gap > heartbeat+2*time.Second {
			t.Errorf("after the kill at %s the next step started %s later, want at most %s", k.Format(time.StampMilli), gap, heartbeat+2*time.Second)
		}
	}
	// Every attempt declared lost was declared within the heartbeat timeout
	// plus 2s of the kill before it.
	var worstLost time.Duration
	for _, at := range lost {
		i, _ := slices.BinarySearchFunc(kills, at, func(a, b time.Time) int { return a.Compare(b) })
		if i == 0 {
			t.Errorf("an attempt was declared lost at %s, before any kill", at.Format(time.StampMilli))
			continue
		}
		d := at.Sub(kills[i-1])
		worstLost = max(worstLost, d)
		if d > heartbeat+2*time.Second {
			t.Errorf("an attempt was declared lost %s after the kill before it, want at most %s", d, heartbeat+2*time.Second)
		}
	}
	t.Logf("%d kills, %d runs, %d steps, %d failed attempts retried (%d declared lost, slowest %s after its kill); slowest next start after a kill %s",
		len(kills), len(runs), steps, lostAttempts, len(lost), worstLost, worst)
	if len(lost) == 0 {
		t.Errorf("no attempt was declared lost: the kills did not hit running steps")
	}
	if lostAttempts == 0 {
		t.Errorf("no attempt was lost to a kill: the test did not test anything")
	}

	// Stop the workers; no step process may be left.
	mu.Lock()
	for _, w := range workers {
		_ = w.Process.Signal(syscall.SIGTERM)
		_ = w.Wait()
	}
	mu.Unlock()
	if left := processesWith(token); len(left) > 0 {
		t.Errorf("step processes left after the test: %v", left)
	}
}

// orphansWith returns the pids of processes whose command line holds s and
// that do not descend from ancestor (a sandboxed step's parents are bwrap's
// processes, whose parent is the worker).
func orphansWith(s string, ancestor int) []string {
	var out []string
	for _, pid := range processesWith(s) {
		for p, hops := pid, 0; ; hops++ {
			ppid, ok := parentOf(p)
			if !ok {
				break // gone meanwhile
			}
			if ppid == strconv.Itoa(ancestor) {
				break
			}
			if ppid == "0" || ppid == "1" || hops > 16 {
				out = append(out, pid+" (parent "+ppid+" at the top)")
				break
			}
			p = ppid
		}
	}
	return out
}

// parentOf returns the parent pid of process pid, from /proc.
func parentOf(pid string) (string, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", false
	}
	// pid (comm) state ppid ...: comm may hold spaces, so read after ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 2 {
		return "", false
	}
	return f[1], true
}

// processesWith returns the pids of processes whose command line holds s.
func processesWith(s string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}
