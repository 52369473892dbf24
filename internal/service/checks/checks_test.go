package checks_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/checks"
	"github.com/servo-data/servo/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// world is one tenant with an asset carrying a blocking check "gate", on
// one backend.
type world struct {
	svc   *service.Service
	ctx   context.Context
	other context.Context
	asset *domain.Asset
	gate  *domain.Check
}

func newWorld(t *testing.T, b *testdb.Backend) *world {
	t.Helper()
	svc := service.New(b.Store, nil, nil)
	var ctxs []context.Context
	for range 2 {
		id := testdb.TenantID("chk")
		if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
		ctxs = append(ctxs, domain.WithTenant(context.Background(), id))
	}
	w := &world{svc: svc, ctx: ctxs[0], other: ctxs[1]}
	var err error
	if w.asset, err = svc.CreateAsset(w.ctx, service.CreateAssetInput{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	if w.gate, err = svc.Checks().Create(w.ctx, checks.Input{Asset: "orders", Name: "gate", Type: json.RawMessage(`{"type":"row_count","min":1}`)}); err != nil {
		t.Fatal(err)
	}
	return w
}

func failed(name string) []checks.Reported {
	return []checks.Reported{{Name: name, Outcome: domain.CheckFailed, Message: "bad rows"}}
}

// TestPostedResultsCountWhileTheRunIsActive pins the rule of POST
// /runs/{id}/check-results: results posted while the run is pending, queued
// or running, before its attempt settles, count toward that attempt's
// blocking decision; results posted after are recorded only.
func TestPostedResultsCountWhileTheRunIsActive(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		run, _, err := w.svc.CreateRun(w.ctx, service.CreateRunInput{AssetID: &w.asset.ID})
		if err != nil {
			t.Fatal(err)
		}
		// Pending: counted.
		p, err := w.svc.Checks().PostResults(w.ctx, run.ID, failed("gate"))
		if err != nil || !p.Counted || len(p.Results) != 1 || p.Results[0].Source != domain.SourceAPI || p.Results[0].Blocking != true {
			t.Fatalf("post while pending: %+v, %v", p, err)
		}
		for _, to := range []domain.State{domain.StateQueued, domain.StateRunning} {
			if run, err = w.svc.TransitionRun(w.ctx, domain.Transition{ID: run.ID, From: run.State, To: to}); err != nil {
				t.Fatal(err)
			}
		}
		// The step itself reports the gate passed; the posted failure still
		// blocks the attempt.
		d, err := w.svc.Checks().RecordAttempt(w.ctx, run, checks.Attempt{Succeeded: true,
			Results: []checks.Reported{{Name: "gate", Outcome: domain.CheckPassed}}})
		if err != nil || len(d.Blocking) != 1 || d.Blocking[0] != "gate" || d.Error() != "blocking check failed: gate" {
			t.Fatalf("decision: %+v, %v", d, err)
		}
		// Settling again stores nothing new and decides the same.
		d2, err := w.svc.Checks().RecordAttempt(w.ctx, run, checks.Attempt{Succeeded: true})
		if err != nil || len(d2.Blocking) != 1 {
			t.Fatalf("second decision: %+v, %v", d2, err)
		}
		rs, err := w.svc.Checks().RunResults(w.ctx, run.ID, true)
		if err != nil || len(rs) != 2 {
			t.Fatalf("results after settling twice: %d, %v", len(rs), err)
		}
		for _, r := range rs {
			if r.Blocked != (r.Outcome == domain.CheckFailed) {
				t.Errorf("result %s %s: blocked %v", r.Source, r.Outcome, r.Blocked)
			}
		}
		// Still running, but the attempt has settled: recorded only.
		if p, err = w.svc.Checks().PostResults(w.ctx, run.ID, failed("gate")); err != nil || p.Counted {
			t.Fatalf("post after the attempt settled: %+v, %v", p, err)
		}
		if _, err := w.svc.Engine().FinishRun(w.ctx, run.ID, domain.StateFailed, d.Error()); err != nil {
			t.Fatal(err)
		}
		// Ended: recorded only, and the run is unchanged.
		if p, err = w.svc.Checks().PostResults(w.ctx, run.ID, failed("gate")); err != nil || p.Counted || p.Results[0].Blocked {
			t.Fatalf("post after the end: %+v, %v", p, err)
		}
		if got, _ := w.svc.GetRun(w.ctx, run.ID); got.State != domain.StateFailed || got.ErrorMessage != d.Error() {
			t.Errorf("run after a late post: %s %q", got.State, got.ErrorMessage)
		}

		// Refused: an unknown name, a workflow run, another tenant's run.
		var ve *domain.ValidationError
		if _, err := w.svc.Checks().PostResults(w.ctx, run.ID, failed("nope")); !errors.As(err, &ve) || ve.Fields["check_results[0].check_name"] == "" {
			t.Errorf("unknown name: %v", err)
		}
		if _, err := w.svc.Checks().PostResults(w.ctx, run.ID, []checks.Reported{{Name: "gate", Problems: map[string]string{"status": "is required"}}}); !errors.As(err, &ve) || ve.Fields["check_results[0].status"] == "" {
			t.Errorf("missing status: %v", err)
		}
		if _, err := w.svc.Checks().PostResults(w.other, run.ID, failed("gate")); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("another tenant posts: %v, want not found", err)
		}
		if _, err := w.svc.Checks().RunResults(w.other, run.ID, true); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("another tenant reads: %v, want not found", err)
		}
		if st, err := w.svc.Checks().Latest(w.other, []uuid.UUID{w.asset.ID}); err != nil || len(st) != 0 {
			t.Errorf("another tenant reads the latest outcomes %+v, %v", st, err)
		}
		if st, err := w.svc.Checks().Latest(w.ctx, []uuid.UUID{w.asset.ID}); err != nil || len(st) != 1 || st[0].Outcome != domain.CheckFailed {
			t.Errorf("latest outcomes %+v, %v", st, err)
		}
	})
}

// TestFailingAssetsMarksOnlyBlockingFailures checks what the lineage graph
// marks: assets whose latest result of an enabled blocking error check
// failed.
func TestFailingAssetsMarksOnlyBlockingFailures(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		warnAsset, err := w.svc.CreateAsset(w.ctx, service.CreateAssetInput{Name: "warned"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Checks().Create(w.ctx, checks.Input{Asset: "warned", Name: "soft", Severity: "warning", Type: json.RawMessage(`{"type":"custom"}`)}); err != nil {
			t.Fatal(err)
		}
		post := func(a *domain.Asset, name string, o domain.CheckOutcome) {
			t.Helper()
			run, _, err := w.svc.CreateRun(w.ctx, service.CreateRunInput{AssetID: &a.ID})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Checks().PostResults(w.ctx, run.ID, []checks.Reported{{Name: name, Outcome: o}}); err != nil {
				t.Fatal(err)
			}
		}
		post(w.asset, "gate", domain.CheckFailed)
		post(warnAsset, "soft", domain.CheckFailed)
		ids := []domain.Asset{*w.asset, *warnAsset}
		got, err := w.svc.Checks().FailingAssets(w.ctx, []uuid.UUID{ids[0].ID, ids[1].ID})
		if err != nil || len(got) != 1 || got[0] != w.asset.ID {
			t.Fatalf("failing = %v, %v; want only the asset with the failed blocking check", got, err)
		}
		if got, err := w.svc.Checks().FailingAssets(w.other, []uuid.UUID{ids[0].ID}); err != nil || len(got) != 0 {
			t.Errorf("another tenant sees failing assets %v, %v", got, err)
		}
		post(w.asset, "gate", domain.CheckPassed) // the latest outcome counts
		if got, err := w.svc.Checks().FailingAssets(w.ctx, []uuid.UUID{ids[0].ID}); err != nil || len(got) != 0 {
			t.Errorf("after a pass: %v, %v", got, err)
		}
	})
}

func TestChecksStayInTheirTenant(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		c := w.svc.Checks()
		typ := json.RawMessage(`{"type":"custom"}`)
		desc := "defaced"
		for name, err := range map[string]error{
			"create on the asset": func() error {
				_, err := c.Create(w.other, checks.Input{Asset: w.asset.ID.String(), Name: "x", Type: typ})
				return err
			}(),
			"get": func() error { _, err := c.Get(w.other, w.gate.ID); return err }(),
			"update": func() error {
				_, err := c.Update(w.other, w.gate.ID, checks.Patch{CheckPatch: domain.CheckPatch{Description: &desc}}, nil)
				return err
			}(),
			"delete":  c.Delete(w.other, w.gate.ID),
			"history": func() error { _, err := c.History(w.other, w.gate.ID, 10); return err }(),
			"sync": func() error {
				_, err := c.Sync(w.other, w.asset.ID.String(), []checks.Input{{Name: "gate", Type: typ}}, true)
				return err
			}(),
			"asset's checks": func() error { _, _, err := c.ForAsset(w.other, w.asset.ID.String()); return err }(),
		} {
			if !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("%s as another tenant: %v, want not found", name, err)
			}
		}
		list, err := c.List(w.other, domain.CheckFilter{}, domain.Page{})
		if err != nil || list.Total != 0 || len(list.Items) != 0 {
			t.Errorf("another tenant lists %+v, %v", list, err)
		}
		got, err := c.Get(w.ctx, w.gate.ID)
		if err != nil || got.Description != "" || got.Type.Kind != "row_count" {
			t.Errorf("the owner's check after the attempts: %+v, %v", got, err)
		}
	})
}
