package runtime_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

// TestHTTPStepIsSigned runs an http step against a loopback server that
// checks the signature with the tenant's secret.
func TestHTTPStepIsSigned(t *testing.T) {
	t.Parallel()
	cfg := fastConfig(t)
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ctx map[string]any
		_ = json.Unmarshal(body, &ctx)
		secret := runtime.TenantSecret(cfg.SigningKey, ctx["tenant_id"].(string))
		if r.Header.Get(runtime.SignatureHeader) != runtime.Sign(secret, r.Header.Get(runtime.TimestampHeader), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, ctx)
		mu.Unlock()
		if ctx["asset_name"] == "broken-hook" {
			http.Error(w, "upstream exploded", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "accepted "+ctx["execution_id"].(string))
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	cfg.Policy.Hosts = []string{ln.Addr().String()}

	r := newRig(t, testdb.Open(t, testdb.Shared(t)), cfg, "")
	ok := r.asset("hook", &domain.ComputeSpec{Kind: domain.ComputeHTTP, URL: srv.URL + "/run", Timeout: "5s"})
	bad := r.asset("broken-hook", &domain.ComputeSpec{Kind: domain.ComputeHTTP, URL: srv.URL + "/run"})
	run := r.trigger(service.CreateRunInput{AssetID: &ok.ID, PartitionKey: "p1"})
	if done := r.wait(run.ID, 20*time.Second); done.State != domain.StateSucceeded {
		t.Fatalf("http step = %s %s", done.State, done.ErrorMessage)
	}
	log, _ := r.svc.RunLog(r.ctx, run.ID)
	if log.Content != "accepted "+run.ID.String() {
		t.Fatalf("kept response = %q", log.Content)
	}
	failed := r.trigger(service.CreateRunInput{AssetID: &bad.ID})
	if done := r.wait(failed.ID, 20*time.Second); done.State != domain.StateFailed || !strings.Contains(done.ErrorMessage, "502") {
		t.Fatalf("failing hook = %s %q", done.State, done.ErrorMessage)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0]["tenant_id"] != r.tenant || got[0]["partition_key"] != "p1" || got[0]["asset_name"] != "hook" {
		t.Fatalf("hook saw %v", got)
	}
}

// TestStartRateLimit lets only StartsPerMinute runs of a tenant start in a
// minute: the rest wait queued.
func TestStartRateLimit(t *testing.T) {
	t.Parallel()
	cfg := fastConfig(t)
	cfg.StartsPerMinute = 3
	r := newRig(t, testdb.Open(t, testdb.Shared(t)), cfg, "")
	for i := range 5 {
		a := r.asset("rated-"+string(rune('a'+i)), nil)
		r.trigger(service.CreateRunInput{AssetID: &a.ID})
	}
	testutil.WaitFor(t, 20*time.Second, func() bool {
		n, _ := r.svc.CountRuns(r.ctx, domain.RunFilter{State: domain.StateSucceeded})
		return n == 3
	}, "three runs to succeed")
	time.Sleep(time.Second) // give the others every chance to start
	succeeded, _ := r.svc.CountRuns(r.ctx, domain.RunFilter{State: domain.StateSucceeded})
	queued, _ := r.svc.CountRuns(r.ctx, domain.RunFilter{State: domain.StateQueued})
	if succeeded != 3 || queued != 2 {
		t.Fatalf("succeeded %d, queued %d; want 3 and 2 within the minute", succeeded, queued)
	}
}

// TestIdempotentTriggerRunsOnce triggers twice with one key: one run, one
// execution.
func TestIdempotentTriggerRunsOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, testdb.Open(t, testdb.Shared(t)), fastConfig(t), "")
	order := filepath.Join(r.dir(), "order")
	a := r.asset("once", cmd(script(t, "step.sh"), map[string]string{"ORDER_FILE": order}))
	first, created, err := r.svc.TriggerRun(r.ctx, service.CreateRunInput{AssetID: &a.ID, IdempotencyKey: "k"})
	if err != nil || !created {
		t.Fatal(created, err)
	}
	r.wait(first.ID, 20*time.Second)
	again, created, err := r.svc.TriggerRun(r.ctx, service.CreateRunInput{AssetID: &a.ID, IdempotencyKey: "k"})
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("second trigger: %v %v %v", again, created, err)
	}
	time.Sleep(500 * time.Millisecond)
	b, _ := os.ReadFile(order)
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Fatalf("the step ran %d times", n)
	}
}

// TestShutdownHandsBackRunningSteps stops a worker mid-step: after the
// grace period the step is killed and handed back, and another worker
// finishes it.
func TestShutdownHandsBackRunningSteps(t *testing.T) {
	t.Parallel()
	store := testdb.Open(t, testdb.Shared(t))
	cfg := fastConfig(t)
	r := newRig(t, store, cfg, "")
	marks := r.dir()
	step := filepath.Join(marks, "step.sh")
	body := "#!/bin/sh\nif [ ! -e " + marks + "/first ]; then touch " + marks + "/first; sleep 60; fi\necho finished\n"
	if err := os.WriteFile(step, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Commands = append(cfg.Policy.Commands, step)
	r2cfg := cfg
	_ = stopWithin(r.rt, 0) // restart the first worker with the new policy
	r = newRig(t, store, cfg, r.tenant)
	a := r.asset("interrupted", cmd(step, nil))
	run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
	testutil.WaitFor(t, 20*time.Second, func() bool { _, err := os.Stat(filepath.Join(marks, "first")); return err == nil }, "the step to start")
	if err := stopWithin(r.rt, 200*time.Millisecond); err != nil {
		t.Logf("stop: %v", err)
	}
	cur, err := r.svc.GetRun(r.ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.State != domain.StateQueued || cur.Attempt != 2 {
		t.Fatalf("after shutdown the step is %s (attempt %d), want handed back: queued, attempt 2", cur.State, cur.Attempt)
	}
	other := newRig(t, store, r2cfg, r.tenant)
	if done := other.wait(run.ID, 20*time.Second); done.State != domain.StateSucceeded {
		t.Fatalf("handed-back step = %s", done.State)
	}
}

// TestWorkflowActiveRunsCap lets one run of a capped workflow run at once;
// the others wait queued and follow in order.
func TestWorkflowActiveRunsCap(t *testing.T) {
	t.Parallel()
	r := newRig(t, testdb.Open(t, testdb.Shared(t)), fastConfig(t), "")
	a := r.asset("slow-step", cmd(script(t, "step.sh"), map[string]string{"HOLD": "0.3"}))
	w, err := r.svc.CreateWorkflow(r.ctx, service.CreateWorkflowInput{Name: "capped", Assets: []string{a.Name}, MaxActiveRuns: 1})
	if err != nil {
		t.Fatal(err)
	}
	var runs []*domain.Run
	for range 3 {
		runs = append(runs, r.trigger(service.CreateRunInput{WorkflowID: &w.ID}))
	}
	var spans [][2]time.Time
	for _, run := range runs {
		done := r.wait(run.ID, 30*time.Second)
		if done.State != domain.StateSucceeded {
			t.Fatalf("run = %s", done.State)
		}
		spans = append(spans, [2]time.Time{*done.StartedAt, *done.CompletedAt})
	}
	for i := 1; i < len(spans); i++ {
		if spans[i][0].Before(spans[i-1][1]) {
			t.Fatalf("workflow runs %d and %d overlapped: %v", i-1, i, spans)
		}
	}
}
