package runtime_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/checks"
)

// checksRig is a rig whose policy also allows testdata/checks.sh and the
// http hosts given (host:port).
func checksRig(t *testing.T, store *repository.Store, hosts ...string) *rig {
	t.Helper()
	cfg := fastConfig(t)
	cfg.Policy.Commands = append(cfg.Policy.Commands, script(t, "checks.sh"))
	cfg.Policy.Hosts = append(cfg.Policy.Hosts, hosts...)
	return newRig(t, store, cfg, "")
}

// check creates a check on asset a.
func (r *rig) check(a *domain.Asset, name string, sev domain.Severity, blocking bool) *domain.Check {
	r.t.Helper()
	c, err := r.svc.Checks().Create(r.ctx, checks.Input{Asset: a.ID.String(), Name: name, Severity: string(sev), Blocking: &blocking,
		Type: json.RawMessage(`{"type":"not_null","columns":["id"]}`)})
	if err != nil {
		r.t.Fatalf("create check %s: %v", name, err)
	}
	return c
}

// results returns the run's check results by check name.
func (r *rig) results(runID uuid.UUID, all bool) map[string][]checks.ResultView {
	r.t.Helper()
	rs, err := r.svc.Checks().RunResults(r.ctx, runID, all)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string][]checks.ResultView{}
	for _, v := range rs {
		out[v.Name] = append(out[v.Name], v)
	}
	return out
}

// reporting is a command spec of checks.sh writing results.
func reporting(t *testing.T, results string) *domain.ComputeSpec {
	return cmd(script(t, "checks.sh"), map[string]string{"CHECK_RESULTS": results})
}

func TestChecksBlockingFailureFailsStepAndStopsDownstream(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := checksRig(t, store)
		orders := r.asset("orders", reporting(t, `[
			{"check_name": "id_not_null", "status": "failed", "message": "2 nulls", "rows_checked": 10, "rows_failed": 2,
			 "details": {"failed_samples": [{"id": null, "amount": 3}]}, "duration_ms": 4.2},
			{"check_name": "amount_range", "status": "failed", "message": "out of range"},
			{"check_name": "mystery_check", "status": "passed"}
		]`))
		report := r.asset("report", cmd(script(t, "step.sh"), nil))
		r.edge(orders, report)
		r.check(orders, "id_not_null", domain.SeverityError, true)
		r.check(orders, "amount_range", domain.SeverityWarning, true)
		r.check(orders, "fresh", domain.SeverityError, true)
		w := r.workflow("orders-flow", nil, orders, report)
		run := r.trigger(service.CreateRunInput{WorkflowID: &w.ID})
		done := r.wait(run.ID, 30*time.Second)
		if done.State != domain.StateFailed {
			t.Fatalf("workflow run %s, want failed", done.State)
		}
		steps, err := r.svc.RunSteps(r.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ordersRun uuid.UUID
		for _, s := range steps {
			switch *s.AssetID {
			case orders.ID:
				ordersRun = s.ID
				if s.State != domain.StateFailed || s.ErrorMessage != "blocking check failed: id_not_null" {
					t.Errorf("orders step: %s %q, want failed by the blocking check", s.State, s.ErrorMessage)
				}
			case report.ID:
				if s.State != domain.StateUpstreamFailed {
					t.Errorf("downstream step: %s, want upstream_failed", s.State)
				}
			}
		}
		res := r.results(run.ID, false)
		if got := res["id_not_null"]; len(got) != 1 || got[0].Outcome != domain.CheckFailed || !got[0].Blocked ||
			*got[0].RowsFailed != 2 || *got[0].RowsChecked != 10 || *got[0].DurationMS != 4 || got[0].Message != "2 nulls" ||
			!strings.Contains(string(got[0].Details), "failed_samples") || got[0].AssetName != "orders" || got[0].RunID != ordersRun {
			t.Errorf("id_not_null: %+v", got)
		}
		if got := res["amount_range"]; len(got) != 1 || got[0].Outcome != domain.CheckFailed || got[0].Blocked || got[0].Severity != domain.SeverityWarning {
			t.Errorf("amount_range (a warning): %+v", got)
		}
		if got := res["fresh"]; len(got) != 1 || got[0].Outcome != domain.CheckSkipped || got[0].Blocked {
			t.Errorf("fresh (not reported): %+v, want skipped", got)
		}
		if got := res["mystery_check"]; len(got) != 0 {
			t.Errorf("an unknown name was stored: %+v", got)
		}
		log, err := r.svc.RunLog(r.ctx, ordersRun)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.Content, "mystery_check") || !strings.Contains(log.Content, "checks step orders") {
			t.Errorf("run log %q does not note the unknown name", log.Content)
		}
	})
}

func TestChecksThatCannotBlockLeaveTheRunAlone(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := checksRig(t, store)
		// JSON lines, with "outcome" instead of "status".
		a := r.asset("warned", reporting(t, `{"check_name": "warn", "outcome": "failed"}
{"check_name": "info", "status": "error"}
{"check_name": "not_blocking", "status": "failed"}
{"check_name": "disabled", "status": "FAILED"}
{"check_name": "ok", "status": "passed"}`))
		r.check(a, "warn", domain.SeverityWarning, true)
		r.check(a, "info", domain.SeverityInfo, true)
		r.check(a, "not_blocking", domain.SeverityError, false)
		off := r.check(a, "disabled", domain.SeverityError, true)
		r.check(a, "ok", domain.SeverityError, true)
		enabled := false
		if _, err := r.svc.Checks().Update(r.ctx, off.ID, checks.Patch{CheckPatch: domain.CheckPatch{Enabled: &enabled}}, nil); err != nil {
			t.Fatal(err)
		}
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		if done := r.wait(run.ID, 30*time.Second); done.State != domain.StateSucceeded || done.ErrorMessage != "" {
			t.Fatalf("run %s %q, want succeeded", done.State, done.ErrorMessage)
		}
		res := r.results(run.ID, false)
		for name, want := range map[string]domain.CheckOutcome{"warn": domain.CheckFailed, "info": domain.CheckError,
			"not_blocking": domain.CheckFailed, "disabled": domain.CheckFailed, "ok": domain.CheckPassed} {
			if got := res[name]; len(got) != 1 || got[0].Outcome != want || got[0].Blocked {
				t.Errorf("%s: %+v, want one %s result that blocked nothing", name, got, want)
			}
		}
	})
}

func TestChecksRetryPolicyAppliesToABlockedAttempt(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := checksRig(t, store)
		spec := cmd(script(t, "checks.sh"), map[string]string{
			"COUNTER":             filepath.Join(r.dir(), "n"),
			"CHECK_RESULTS":       `[{"check_name": "gate", "status": "failed"}]`,
			"CHECK_RESULTS_LATER": `[{"check_name": "gate", "status": "passed"}]`,
		})
		spec.Retry = &domain.RetryPolicy{MaxAttempts: 2, InitialInterval: "10ms", MaxInterval: "10ms", Jitter: "none"}
		a := r.asset("retried", spec)
		r.check(a, "gate", domain.SeverityError, true)
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		done := r.wait(run.ID, 30*time.Second)
		if done.State != domain.StateSucceeded || done.Attempt != 2 {
			t.Fatalf("run %s at attempt %d, want succeeded at attempt 2", done.State, done.Attempt)
		}
		all := r.results(run.ID, true)["gate"]
		if len(all) != 2 {
			t.Fatalf("gate results over all attempts: %+v", all)
		}
		for _, g := range all {
			want := g.Attempt == 1 // the first attempt was blocked, the second passed
			if g.Blocked != want || (g.Attempt == 1) != (g.Outcome == domain.CheckFailed) {
				t.Errorf("attempt %d: %s blocked %v", g.Attempt, g.Outcome, g.Blocked)
			}
		}
		if latest := r.results(run.ID, false)["gate"]; len(latest) != 1 || latest[0].Attempt != 2 {
			t.Errorf("latest attempt's results: %+v", latest)
		}
	})
}

func TestChecksResultsFileIsNeverFollowedThroughALink(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := checksRig(t, store)
		// A file the step must not get Servo to read for it: results that
		// would pass the gate, with a canary.
		canary := "CANARY-" + uuid.NewString()
		secret := filepath.Join(t.TempDir(), "secret.json")
		if err := os.WriteFile(secret, []byte(`[{"check_name":"gate","status":"passed","message":"`+canary+`"}]`), 0o600); err != nil {
			t.Fatal(err)
		}
		a := r.asset("linked", cmd(script(t, "checks.sh"), map[string]string{"LINK_TO": secret}))
		r.check(a, "gate", domain.SeverityError, true)
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		done := r.wait(run.ID, 30*time.Second)
		if done.State != domain.StateFailed || done.ErrorMessage != "blocking check failed: gate" {
			t.Fatalf("run %s %q, want failed by the unreadable gate", done.State, done.ErrorMessage)
		}
		got := r.results(run.ID, true)["gate"]
		if len(got) != 1 || got[0].Outcome != domain.CheckError {
			t.Fatalf("gate: %+v, want one error result", got)
		}
		log, _ := r.svc.RunLog(r.ctx, run.ID)
		raw, _ := json.Marshal(got)
		if strings.Contains(string(raw), canary) || strings.Contains(log.Content, canary) || strings.Contains(done.ErrorMessage, canary) {
			t.Fatalf("the linked file's canary came back: results %s, log %q", raw, log.Content)
		}
	})
}

func TestChecksMalformedReportIsAnErrorNotASkip(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := checksRig(t, store)
		a := r.asset("garbled", reporting(t, `[{"check_name": "gate", "status": "failed"`))
		r.check(a, "gate", domain.SeverityError, true)
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		if done := r.wait(run.ID, 30*time.Second); done.State != domain.StateFailed || done.ErrorMessage != "blocking check failed: gate" {
			t.Fatalf("run %s %q, want failed", done.State, done.ErrorMessage)
		}
		if got := r.results(run.ID, false)["gate"]; len(got) != 1 || got[0].Outcome != domain.CheckError || !strings.Contains(got[0].Message, "unreadable") {
			t.Fatalf("gate: %+v", got)
		}
		log, _ := r.svc.RunLog(r.ctx, run.ID)
		if !strings.Contains(log.Content, "check results unreadable") {
			t.Errorf("run log %q does not say the results were unreadable", log.Content)
		}
	})
}

func TestChecksHTTPStepReportsInItsBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var rc map[string]any
		_ = json.NewDecoder(req.Body).Decode(&rc)
		outcome := "passed"
		if rc["asset_name"] == "hook-bad" {
			outcome = "failed"
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status": "done", "check_results": [{"check_name": "gate", "status": "` + outcome + `", "rows_failed": 1}]}`))
	}))
	t.Cleanup(srv.Close)
	backends(t, func(t *testing.T, store *repository.Store) {
		r := checksRig(t, store, srv.Listener.Addr().String())
		for name, want := range map[string]domain.State{"hook-bad": domain.StateFailed, "hook-good": domain.StateSucceeded} {
			a := r.asset(name, &domain.ComputeSpec{Kind: domain.ComputeHTTP, URL: srv.URL + "/run"})
			r.check(a, "gate", domain.SeverityError, true)
			run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
			if done := r.wait(run.ID, 30*time.Second); done.State != want {
				t.Errorf("%s: run %s %q, want %s", name, done.State, done.ErrorMessage, want)
			}
			if got := r.results(run.ID, false)["gate"]; len(got) != 1 || got[0].Blocked != (want == domain.StateFailed) || *got[0].RowsFailed != 1 {
				t.Errorf("%s: gate %+v", name, got)
			}
		}
	})
}

func TestChecksOversizedMessageAndDetailsKeepTheOutcome(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		r := checksRig(t, store)
		long := strings.Repeat("m", domain.MaxCheckMessageLen+100)
		big := `{"failed_samples": "` + strings.Repeat("x", domain.MaxCheckDetailsBytes) + `"}`
		a := r.asset("verbose", reporting(t, `[{"check_name": "gate", "status": "passed", "message": "`+long+`", "details": `+big+`, "executed_at": "2026-12-01T08:00:00"}]`))
		r.check(a, "gate", domain.SeverityError, true)
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		if done := r.wait(run.ID, 30*time.Second); done.State != domain.StateSucceeded {
			t.Fatalf("run %s %q, want succeeded", done.State, done.ErrorMessage)
		}
		got := r.results(run.ID, false)["gate"]
		if len(got) != 1 || got[0].Outcome != domain.CheckPassed || len([]rune(got[0].Message)) != domain.MaxCheckMessageLen ||
			!strings.Contains(string(got[0].Details), "dropped") || got[0].ExecutedAt.Format(time.RFC3339) != "2026-12-01T08:00:00Z" {
			t.Fatalf("gate: outcome %s, message of %d characters, details %.80s, executed %s", got[0].Outcome, len([]rune(got[0].Message)), got[0].Details, got[0].ExecutedAt)
		}
	})
}
