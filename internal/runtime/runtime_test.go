package runtime_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rig is a store, the service and a started runtime, with one tenant.
type rig struct {
	t      *testing.T
	store  *repository.Store
	svc    *service.Service
	rt     *runtime.Runtime
	tenant string
	ctx    context.Context
	cfg    runtime.Config
}

func fastConfig(t *testing.T) runtime.Config {
	return runtime.Config{
		Policy:              runtime.Policy{Commands: []string{script(t, "step.sh"), script(t, "fail.sh"), script(t, "hang.sh")}, Hosts: []string{"127.0.0.1"}},
		MaxRunningPerTenant: 10,
		Workers:             10,
		Lease:               time.Minute,
		WaitPoll:            50 * time.Millisecond,
		CancelPoll:          50 * time.Millisecond,
		KillGrace:           500 * time.Millisecond,
		FetchPollInterval:   50 * time.Millisecond,
		SigningKey:          []byte("test-signing-key"),
		// Steps run in the real sandbox; they may write to one scratch
		// directory of the test's (rig.dir).
		// bwrap, not auto: without bubblewrap these tests fail, never fall
		// back to a weaker isolation.
		Sandbox: runtime.SandboxConfig{Isolation: runtime.IsolationBwrap, Binds: []string{scratchDir(t)}},
		// Tests share a database: each test's workers keep to their own
		// queue, as one deployment's workers would.
		Queue: "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16],
	}
}

// scratchDir is a directory steps may write to: bound into their sandbox
// and writable by the step user.
func scratchDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "servo-steps-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// dir is the rig's scratch directory (see scratchDir).
func (r *rig) dir() string { return r.cfg.Sandbox.Binds[0] }

// newRig starts a runtime on store. Several rigs on one store are several
// workers; only the first needs to create the tenant.
func newRig(t *testing.T, store *repository.Store, cfg runtime.Config, tenant string) *rig {
	t.Helper()
	d, err := runtime.NewDispatcher(workerDB(t, store), cfg.Queue, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, d, cfg.ComputePolicy())
	rt, err := runtime.New(svc, svc.Engine(), d, cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopWithin(rt, 5*time.Second) })
	if tenant == "" {
		tenant = testdb.TenantID("rt")
		if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: tenant}); err != nil {
			t.Fatal(err)
		}
	}
	return &rig{t: t, store: store, svc: svc, rt: rt, tenant: tenant, ctx: domain.WithTenant(context.Background(), tenant), cfg: cfg}
}

// workerDB is the runtime's view of store in a process that works runs: on
// PostgreSQL its workers listen for new jobs, as `servo serve` wires them.
func workerDB(t *testing.T, store *repository.Store) runtime.DB {
	t.Helper()
	db := runtime.DB{Pool: store.SQLDB(), Postgres: store.Dialect() == repository.Postgres, TxFrom: repository.SQLTx}
	if db.Postgres {
		pool, err := store.JobPool()
		if err != nil {
			t.Fatal(err)
		}
		db.Listen = runtime.WorkDriverOf(riverpgxv5.New(pool))
	}
	return db
}

// stopWithin stops rt, letting running steps finish for up to d.
func stopWithin(rt *runtime.Runtime, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return rt.Stop(ctx)
}

func (r *rig) asset(name string, spec *domain.ComputeSpec) *domain.Asset {
	r.t.Helper()
	a, err := r.svc.CreateAsset(r.ctx, service.CreateAssetInput{Name: name, Compute: spec})
	if err != nil {
		r.t.Fatalf("create asset %s: %v", name, err)
	}
	return a
}

func (r *rig) edge(up, down *domain.Asset) {
	r.t.Helper()
	if _, err := r.svc.CreateDependency(r.ctx, up.ID, down.ID, domain.DependencyData); err != nil {
		r.t.Fatal(err)
	}
}

func cmd(argv0 string, env map[string]string, args ...string) *domain.ComputeSpec {
	return &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: append([]string{argv0}, args...), Env: env}
}

// wait polls the run until it is final (or until cond says so) and returns it.
func (r *rig) wait(id uuid.UUID, within time.Duration) *domain.Run {
	r.t.Helper()
	var run *domain.Run
	ended := testutil.Eventually(within, func() bool {
		var err error
		if run, err = r.svc.GetRun(r.ctx, id); err != nil {
			r.t.Fatal(err)
		}
		return run.State.IsTerminal() && !(run.State == domain.StateFailed && r.retrying(run))
	})
	if !ended {
		r.t.Fatalf("run %s still %s after %s", id, run.State, within)
	}
	return run
}

// retrying reports whether the run's last event says a retry is coming.
func (r *rig) retrying(run *domain.Run) bool {
	evs, err := r.svc.RunEvents(r.ctx, run.ID)
	if err != nil || len(evs) == 0 {
		return false
	}
	return evs[len(evs)-1].To != run.State
}

func (r *rig) trigger(in service.CreateRunInput) *domain.Run {
	r.t.Helper()
	run, _, err := r.svc.TriggerRun(r.ctx, in)
	if err != nil {
		r.t.Fatalf("trigger: %v", err)
	}
	return run
}

func (r *rig) workflow(name string, retry *domain.RetryPolicy, assets ...*domain.Asset) *domain.Workflow {
	r.t.Helper()
	var refs []string
	for _, a := range assets {
		refs = append(refs, a.Name)
	}
	w, err := r.svc.CreateWorkflow(r.ctx, service.CreateWorkflowInput{Name: name, Assets: refs, Retry: retry})
	if err != nil {
		r.t.Fatal(err)
	}
	return w
}

func backends(t *testing.T, fn func(t *testing.T, store *repository.Store)) {
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, testdb.Open(t, testdb.Shared(t)))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, testdb.OpenSQLite(t))
	})
}

func TestWorkflowRunsStepsInDependencyOrder(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := newRig(t, store, fastConfig(t), "")
		order := filepath.Join(r.dir(), "order")
		env := map[string]string{"ORDER_FILE": order, "SERVO_TENANT_ID": "spoofed"}
		// Declared in reverse order: the edges, not the list, decide.
		c := r.asset("c", cmd(script(t, "step.sh"), env))
		b := r.asset("b", cmd(script(t, "step.sh"), env))
		a := r.asset("a", cmd(script(t, "step.sh"), env))
		r.edge(a, b)
		r.edge(b, c)
		w := r.workflow("abc", nil, c, b, a)
		run := r.trigger(service.CreateRunInput{WorkflowID: &w.ID, PartitionKey: "2026-11-27"})
		done := r.wait(run.ID, 30*time.Second)
		if done.State != domain.StateSucceeded {
			t.Fatalf("workflow run %s: %s", done.State, done.ErrorMessage)
		}
		b2, _ := os.ReadFile(order)
		lines := strings.Split(strings.TrimSpace(string(b2)), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "a ") || !strings.HasPrefix(lines[1], "b ") || !strings.HasPrefix(lines[2], "c ") {
			t.Fatalf("steps ran as %q, want a, b, c", lines)
		}
		steps, err := r.svc.RunSteps(r.ctx, run.ID)
		if err != nil || len(steps) != 3 {
			t.Fatalf("steps = %v, %v", steps, err)
		}
		for _, s := range steps {
			if s.State != domain.StateSucceeded || s.ParentID == nil || *s.ParentID != run.ID || s.WorkflowName != "abc" {
				t.Fatalf("step %+v", s)
			}
			log, err := r.svc.RunLog(r.ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The spec's env cannot override the run context.
			if !strings.Contains(log.Content, "step "+s.AssetName+" tenant="+r.tenant+" execution="+s.ID.String()+" partition=2026-11-27") {
				t.Fatalf("log of %s = %q", s.AssetName, log.Content)
			}
		}
		evs, err := r.svc.RunEvents(r.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var path []string
		for _, e := range evs {
			path = append(path, string(e.From)+">"+string(e.To))
		}
		if strings.Join(path, " ") != "pending>queued queued>running running>succeeded" {
			t.Fatalf("workflow run events = %v", path)
		}
	})
}

func TestObservedAssetSucceedsAtOnce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := newRig(t, store, fastConfig(t), "")
		a := r.asset("observed", nil)
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		if done := r.wait(run.ID, 20*time.Second); done.State != domain.StateSucceeded || done.Attempt != 1 {
			t.Fatalf("observed run = %+v", done)
		}
	})
}

func TestFailingStepIsRetriedThenFailsDownstream(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := newRig(t, store, fastConfig(t), "")
		retry := &domain.RetryPolicy{MaxAttempts: 3, InitialInterval: "200ms", MaxInterval: "300ms", Multiplier: 2, Jitter: domain.JitterFull}
		bad := r.asset("bad", cmd(script(t, "fail.sh"), nil))
		after := r.asset("after", cmd(script(t, "step.sh"), nil))
		last := r.asset("last", cmd(script(t, "step.sh"), nil))
		other := r.asset("other", cmd(script(t, "step.sh"), nil))
		r.edge(bad, after)
		r.edge(after, last)
		w := r.workflow("failing", retry, bad, after, last, other)
		run := r.trigger(service.CreateRunInput{WorkflowID: &w.ID})
		done := r.wait(run.ID, 30*time.Second)
		if done.State != domain.StateFailed {
			t.Fatalf("workflow run = %s", done.State)
		}
		steps, err := r.svc.RunSteps(r.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]domain.State{"bad": domain.StateFailed, "after": domain.StateUpstreamFailed, "last": domain.StateUpstreamFailed, "other": domain.StateSucceeded}
		for _, s := range steps {
			if s.State != want[s.AssetName] {
				t.Errorf("step %s = %s, want %s", s.AssetName, s.State, want[s.AssetName])
			}
			if s.AssetName != "bad" {
				continue
			}
			if s.Attempt != 3 {
				t.Errorf("bad ran %d attempts, want 3", s.Attempt)
			}
			evs, err := r.svc.RunEvents(r.ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Each retry waited within the jitter bounds: from the failure to
			// the next start, no more than min(max, initial*2^(n-1)) plus
			// the time it takes to pick the job up.
			var failedAt time.Time
			retries := 0
			for _, e := range evs {
				switch {
				case e.To == domain.StateFailed:
					failedAt = e.At
				case e.From == domain.StateQueued && e.To == domain.StateRunning && !failedAt.IsZero():
					retries++
					bound := retry.Backoff(retries)
					if gap := e.At.Sub(failedAt); gap < 0 || gap > bound+2*time.Second {
						t.Errorf("retry %d started %s after the failure, bound %s", retries, gap, bound)
					}
				}
			}
			if retries != 2 {
				t.Errorf("saw %d retries, want 2: %+v", retries, evs)
			}
			log, _ := r.svc.RunLog(r.ctx, s.ID)
			if !strings.Contains(log.Content, "failing on purpose") {
				t.Errorf("log of bad = %q", log.Content)
			}
		}
	})
}

func TestTimeoutKillsTheStep(t *testing.T) {
	t.Parallel()
	r := newRig(t, testdb.Open(t, testdb.Shared(t)), fastConfig(t), "")
	pidFile, mark := filepath.Join(r.dir(), "pid"), hangMark()
	spec := cmd(script(t, "hang.sh"), map[string]string{"PID_FILE": pidFile, "HANG_MARK": mark})
	spec.Timeout = "1s"
	a := r.asset("slow", spec)
	run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
	done := r.wait(run.ID, 30*time.Second)
	if done.State != domain.StateTimeout || !strings.Contains(done.ErrorMessage, "timed out after 1s") {
		t.Fatalf("run = %s %q", done.State, done.ErrorMessage)
	}
	assertGone(t, pidFile, mark)
}

func TestCancelKillsTheRunningStep(t *testing.T) {
	t.Parallel()
	r := newRig(t, testdb.Open(t, testdb.Shared(t)), fastConfig(t), "")
	pidFile, mark := filepath.Join(r.dir(), "pid"), hangMark()
	a := r.asset("forever", cmd(script(t, "hang.sh"), map[string]string{"PID_FILE": pidFile, "HANG_MARK": mark}))
	run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
	testutil.WaitFor(t, 20*time.Second, func() bool { _, err := os.Stat(pidFile); return err == nil }, "the step to write %s", pidFile)
	// The mark finds the running sleep, so its absence below means something.
	testutil.WaitFor(t, 10*time.Second, func() bool { return hostProcess("sleep\x00600." + mark) }, "the step's sleep to show on the host")
	if _, err := r.svc.CancelRun(r.ctx, run.ID, "operator cancelled"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pidFile, mark)
	if done := r.wait(run.ID, 10*time.Second); done.State != domain.StateCancelled {
		t.Fatalf("run = %s", done.State)
	}
	// The output is stored once the killed process is reaped, which may
	// come just after the run reads cancelled.
	testutil.WaitFor(t, 10*time.Second, func() bool {
		log, err := r.svc.RunLog(r.ctx, run.ID)
		return err == nil && strings.Contains(log.Content, "hanging")
	}, "the cancelled run's output to be stored")
}

// hangMark is a number that makes hang.sh's sleep findable on the host.
func hangMark() string { return fmt.Sprint(time.Now().UnixNano() % 1e9) }

// assertGone waits for the step to have started (its pid file written),
// then for its sleep, found by its mark in the host's process table, to
// disappear: a sandboxed step's own pid is its sandbox's, not the host's.
func assertGone(t *testing.T, pidFile, mark string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() bool { _, err := os.Stat(pidFile); return err == nil }, "the step to write %s", pidFile)
	testutil.WaitFor(t, 10*time.Second, func() bool { return !hostProcess("sleep\x00600." + mark) }, "the step's sleep to be gone from the host")
}

// hostProcess reports whether a process whose command line holds s runs.
func hostProcess(s string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func TestTenantLimitHolds(t *testing.T) {
	t.Parallel()
	cfg := fastConfig(t)
	cfg.MaxRunningPerTenant = 2
	store := testdb.Open(t, testdb.Shared(t))
	r := newRig(t, store, cfg, "")
	// A second worker on the same database: the limit holds across both.
	newRig(t, store, cfg, r.tenant)
	var ids []uuid.UUID
	for i := range 10 {
		a := r.asset("limited-"+string(rune('a'+i)), cmd(script(t, "step.sh"), map[string]string{"HOLD": "0.3"}))
		ids = append(ids, r.trigger(service.CreateRunInput{AssetID: &a.ID}).ID)
	}
	maxSeen := 0
	var mu sync.Mutex
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := r.svc.CountRuns(r.ctx, domain.RunFilter{State: domain.StateRunning})
			if err == nil {
				mu.Lock()
				maxSeen = max(maxSeen, int(n))
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for _, id := range ids {
		if done := r.wait(id, 60*time.Second); done.State != domain.StateSucceeded {
			t.Fatalf("run %s = %s", id, done.State)
		}
	}
	close(stop)
	mu.Lock()
	defer mu.Unlock()
	if maxSeen > 2 || maxSeen == 0 {
		for _, id := range ids {
			evs, _ := r.svc.RunEvents(r.ctx, id)
			for _, e := range evs {
				t.Logf("%s %s %s>%s %s", id.String()[30:], e.At.Format("05.000000"), e.From, e.To, e.Reason)
			}
		}
		t.Fatalf("saw %d running at once, want 1 or 2", maxSeen)
	}
}

func TestTwoWorkersNeverRunAStepTwice(t *testing.T) {
	t.Parallel()
	store := testdb.Open(t, testdb.Shared(t))
	cfg := fastConfig(t)
	r := newRig(t, store, cfg, "")
	newRig(t, store, cfg, r.tenant)
	order := filepath.Join(r.dir(), "order")
	var assets []*domain.Asset
	for i := range 12 {
		assets = append(assets, r.asset("once-"+string(rune('a'+i)), cmd(script(t, "step.sh"), map[string]string{"ORDER_FILE": order})))
	}
	w := r.workflow("fan", nil, assets...)
	run := r.trigger(service.CreateRunInput{WorkflowID: &w.ID})
	if done := r.wait(run.ID, 60*time.Second); done.State != domain.StateSucceeded {
		t.Fatalf("workflow run = %s", done.State)
	}
	b, _ := os.ReadFile(order)
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		seen[strings.Fields(line)[0]]++
	}
	for _, a := range assets {
		if seen[a.Name] != 1 {
			t.Errorf("step %s ran %d times", a.Name, seen[a.Name])
		}
	}
}

func TestTenantsRunWithTheirOwnContext(t *testing.T) {
	t.Parallel()
	store := testdb.Open(t, testdb.Shared(t))
	cfg := fastConfig(t)
	ra := newRig(t, store, cfg, "")
	rb := newRig(t, store, cfg, "")
	order := filepath.Join(ra.dir(), "order")
	var runs []uuid.UUID
	for i := range 5 {
		for _, r := range []*rig{ra, rb} {
			a := r.asset("ctx-"+string(rune('a'+i)), cmd(script(t, "step.sh"), map[string]string{"ORDER_FILE": order}))
			runs = append(runs, r.trigger(service.CreateRunInput{AssetID: &a.ID}).ID)
		}
	}
	for i, id := range runs {
		r := ra
		if i%2 == 1 {
			r = rb
		}
		r.wait(id, 30*time.Second)
	}
	b, _ := os.ReadFile(order)
	owner := map[string]string{}
	for i, id := range runs {
		owner[id.String()] = ra.tenant
		if i%2 == 1 {
			owner[id.String()] = rb.tenant
		}
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d steps ran, want 10", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		if owner[f[2]] != f[1] {
			t.Fatalf("run %s ran with tenant %s, want %s", f[2], f[1], owner[f[2]])
		}
	}
	// Neither tenant can see the other's runs.
	if _, err := rb.svc.GetRun(rb.ctx, runs[0]); err == nil {
		t.Fatal("tenant B read tenant A's run")
	}
}

func TestRefusedExecutable(t *testing.T) {
	t.Parallel()
	store := testdb.Open(t, testdb.Shared(t))
	r := newRig(t, store, fastConfig(t), "")
	for _, spec := range []*domain.ComputeSpec{
		cmd("/bin/sh", nil, "-c", "echo pwned"),
		cmd("sh", nil, "-c", "echo pwned"),
		cmd("../../etc/passwd", nil),
		{Kind: domain.ComputeHTTP, URL: "http://example.com/hook"},
	} {
		_, err := r.svc.CreateAsset(r.ctx, service.CreateAssetInput{Name: "refused-" + uuid.NewString(), Compute: spec})
		if !errorsIsInvalid(err) {
			t.Errorf("spec %+v: error %v, want invalid", spec, err)
		}
	}
	// A spec allowed when written but not when run (the policy changed) is
	// refused at run time, and not retried.
	a := r.asset("later-refused", cmd(script(t, "step.sh"), nil))
	cfg := r.cfg
	cfg.Policy.Commands = []string{script(t, "fail.sh")}
	strict := newRig(t, store, cfg, r.tenant)
	_ = stopWithin(r.rt, 5*time.Second) // only the strict worker works from now on
	run := strict.trigger(service.CreateRunInput{AssetID: &a.ID})
	done := strict.wait(run.ID, 30*time.Second)
	if done.State != domain.StateFailed || !strings.Contains(done.ErrorMessage, "refused at run time") || done.Attempt != 1 {
		t.Fatalf("run = %s %q attempt %d", done.State, done.ErrorMessage, done.Attempt)
	}
}
