package service_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// world is tenant A's data, which tenant B must never see or touch.
type world struct {
	asset    *domain.Asset
	upstream *domain.Asset
	edge     *domain.AssetDependency
	workflow *domain.Workflow
	run      *domain.Run
	global   *domain.Asset
}

func seed(t *testing.T, svc *service.Service, a *tenant) world {
	t.Helper()
	var w world
	w.upstream = a.asset("shared-name-up")
	w.asset = a.asset("shared-name")
	w.edge = a.edge(w.upstream, w.asset)
	wf, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "shared-workflow", Assets: []string{w.asset.Name}})
	mustOK(t, err)
	w.workflow = wf
	run, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{WorkflowID: &wf.ID, IdempotencyKey: "shared-key"})
	mustOK(t, err)
	w.run = run
	g, err := svc.CreateAsset(sys(), service.CreateAssetInput{Name: "global-" + a.id, Global: true, Description: "reference"})
	mustOK(t, err)
	w.global = g
	return w
}

// snapshot captures what A can see of its data, to compare before and after.
func snapshot(t *testing.T, svc *service.Service, a *tenant, w world) string {
	t.Helper()
	asset, err := svc.GetAsset(a.ctx, w.asset.ID)
	mustOK(t, err)
	edge, err := svc.GetDependency(a.ctx, w.edge.ID)
	mustOK(t, err)
	wf, err := svc.GetWorkflow(a.ctx, w.workflow.ID)
	mustOK(t, err)
	run, err := svc.GetRun(a.ctx, w.run.ID)
	mustOK(t, err)
	g, err := svc.GetAsset(a.ctx, w.global.ID)
	mustOK(t, err)
	out, err := json.Marshal([]any{asset, edge, wf, run, g})
	mustOK(t, err)
	return string(out)
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, bt := setup(t, b)
		w := seed(t, svc, a)
		before := snapshot(t, svc, a, w)
		own := bt.asset("b-own")
		ctx := bt.ctx

		notFound := []struct {
			name string
			call func() error
		}{
			{"get asset", func() error { _, err := svc.GetAsset(ctx, w.asset.ID); return err }},
			{"resolve asset by id", func() error { _, err := svc.ResolveAsset(ctx, w.asset.ID.String()); return err }},
			{"resolve asset by name", func() error { _, err := svc.ResolveAsset(ctx, "shared-name"); return err }},
			{"update asset", func() error {
				_, err := svc.UpdateAsset(ctx, w.asset.ID, domain.AssetPatch{Name: ptr("stolen")})
				return err
			}},
			{"delete asset", func() error { return svc.DeleteAsset(ctx, w.asset.ID) }},
			{"asset dependencies", func() error { _, _, err := svc.AssetDependencies(ctx, w.asset.ID); return err }},
			{"asset upstream", func() error { _, err := svc.AssetDependenciesIn(ctx, w.asset.ID, domain.Upstream); return err }},
			{"delete asset dependencies", func() error { _, err := svc.DeleteAssetDependencies(ctx, w.asset.ID); return err }},
			{"get edge", func() error { _, err := svc.GetDependency(ctx, w.edge.ID); return err }},
			{"delete edge", func() error { return svc.DeleteDependency(ctx, w.edge.ID) }},
			{"link A's assets", func() error {
				_, err := svc.CreateDependency(ctx, w.upstream.ID, w.asset.ID, domain.DependencyControl)
				return err
			}},
			{"link own to A's", func() error {
				_, err := svc.CreateDependency(ctx, own.ID, w.asset.ID, domain.DependencyData)
				return err
			}},
			{"link A's to own", func() error {
				_, err := svc.CreateDependency(ctx, w.asset.ID, own.ID, domain.DependencyData)
				return err
			}},
			{"lineage", func() error { _, err := svc.Lineage(ctx, domain.LineageQuery{Root: w.asset.ID}); return err }},
			{"get workflow", func() error { _, err := svc.GetWorkflow(ctx, w.workflow.ID); return err }},
			{"resolve workflow by name", func() error { _, err := svc.ResolveWorkflow(ctx, "shared-workflow", 0); return err }},
			{"workflow versions", func() error {
				_, err := svc.ListWorkflowVersions(ctx, "shared-workflow", domain.Page{})
				return err
			}},
			{"update workflow", func() error {
				_, err := svc.UpdateWorkflow(ctx, w.workflow.ID, domain.WorkflowPatch{Owner: ptr("b")})
				return err
			}},
			{"delete workflow", func() error { return svc.DeleteWorkflow(ctx, w.workflow.ID) }},
			{"run A's workflow", func() error {
				_, _, err := svc.CreateRun(ctx, service.CreateRunInput{WorkflowID: &w.workflow.ID})
				return err
			}},
			{"materialize A's asset", func() error {
				_, _, err := svc.CreateRun(ctx, service.CreateRunInput{AssetID: &w.asset.ID})
				return err
			}},
			{"get run", func() error { _, err := svc.GetRun(ctx, w.run.ID); return err }},
			{"transition run", func() error {
				_, err := svc.TransitionRun(ctx, domain.Transition{ID: w.run.ID, From: domain.StatePending, To: domain.StateQueued})
				return err
			}},
			{"cancel run", func() error { _, err := svc.CancelRun(ctx, w.run.ID, "x"); return err }},
			{"delete run", func() error { return svc.DeleteRun(ctx, w.run.ID) }},
		}
		for _, tc := range notFound {
			if err := tc.call(); !errorsIs(err, domain.ErrNotFound) {
				t.Errorf("%s: error = %v, want not found", tc.name, err)
			}
		}
		// A workflow referencing A's asset by id or name is invalid input, and
		// the message says only "not found".
		_, err := svc.CreateWorkflow(ctx, service.CreateWorkflowInput{Name: "wf", Assets: []string{w.asset.ID.String()}})
		mustErr(t, err, domain.ErrInvalid)
		// B's idempotency key space is its own.
		r, created, err := svc.CreateRun(ctx, service.CreateRunInput{AssetID: &own.ID, IdempotencyKey: "shared-key"})
		mustOK(t, err)
		if !created || r.ID == w.run.ID {
			t.Fatalf("B's idempotency key returned A's run")
		}

		// Lists and counts hold none of A's rows.
		assets, err := svc.ListAssets(ctx, domain.AssetFilter{}, domain.Page{Limit: domain.MaxLimit})
		mustOK(t, err)
		for _, x := range assets.Items {
			if x.TenantID != nil && *x.TenantID != bt.id {
				t.Errorf("B's asset list holds %s of tenant %s", x.Name, *x.TenantID)
			}
			if x.ID == w.asset.ID || x.ID == w.upstream.ID {
				t.Errorf("B's asset list holds A's asset %s", x.Name)
			}
		}
		for _, f := range []domain.AssetFilter{{NamePrefix: "shared"}, {Owner: ""}, {AssetType: "generic"}} {
			n, err := svc.CountAssets(ctx, f)
			mustOK(t, err)
			list, err := svc.ListAssets(ctx, f, domain.Page{Limit: domain.MaxLimit})
			mustOK(t, err)
			if n != list.Total || int(n) != len(list.Items) {
				t.Errorf("filter %+v: count %d, total %d, items %d", f, n, list.Total, len(list.Items))
			}
			for _, x := range list.Items {
				if x.ID == w.asset.ID || x.ID == w.upstream.ID {
					t.Errorf("filter %+v lists A's asset", f)
				}
			}
		}
		wfs, err := svc.ListWorkflows(ctx, domain.Page{})
		mustOK(t, err)
		runs, err := svc.ListRuns(ctx, domain.RunFilter{}, domain.Page{})
		mustOK(t, err)
		if wfs.Total != 0 || runs.Total != 1 || runs.Items[0].ID != r.ID {
			t.Errorf("B sees %d workflows and %d runs, want 0 and its own 1", wfs.Total, runs.Total)
		}
		for _, f := range []domain.RunFilter{{WorkflowID: &w.workflow.ID}, {AssetID: &w.asset.ID}} {
			n, err := svc.CountRuns(ctx, f)
			mustOK(t, err)
			if n != 0 {
				t.Errorf("B counts %d runs with filter %+v", n, f)
			}
		}

		// Global rows: B reads them, cannot change them, cannot make them.
		g, err := svc.GetAsset(ctx, w.global.ID)
		mustOK(t, err)
		if g.Description != "reference" || !g.IsGlobal() {
			t.Fatalf("global as seen by B = %+v", g)
		}
		_, err = svc.UpdateAsset(ctx, w.global.ID, domain.AssetPatch{Description: ptr("defaced")})
		mustErr(t, err, domain.ErrForbidden)
		mustErr(t, svc.DeleteAsset(ctx, w.global.ID), domain.ErrForbidden)
		_, err = svc.DeleteAssetDependencies(ctx, w.global.ID)
		mustErr(t, err, domain.ErrForbidden)
		_, err = svc.CreateAsset(ctx, service.CreateAssetInput{Name: "fake-global", Global: true})
		mustErr(t, err, domain.ErrForbidden)
		_, err = svc.CreateDependency(ctx, own.ID, w.global.ID, domain.DependencyData)
		mustErr(t, err, domain.ErrForbidden)
		_, _, err = svc.CreateRun(ctx, service.CreateRunInput{AssetID: &w.global.ID})
		mustErr(t, err, domain.ErrForbidden)

		if after := snapshot(t, svc, a, w); after != before {
			t.Fatalf("A's data changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func TestScopeRules(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		w := seed(t, svc, a)
		// No scope at all fails closed, on every kind of call.
		bare := context.Background()
		_, err := svc.GetAsset(bare, w.asset.ID)
		mustErr(t, err, domain.ErrForbidden)
		_, err = svc.ListAssets(bare, domain.AssetFilter{}, domain.Page{})
		mustErr(t, err, domain.ErrForbidden)
		_, err = svc.CreateAsset(bare, service.CreateAssetInput{Name: "x"})
		mustErr(t, err, domain.ErrForbidden)
		mustErr(t, svc.DeleteAsset(bare, w.asset.ID), domain.ErrForbidden)
		_, err = svc.Lineage(bare, domain.LineageQuery{Root: w.asset.ID})
		mustErr(t, err, domain.ErrForbidden)
		// A malformed or empty tenant id is no scope either.
		for _, id := range []string{"", "UPPER", "has space", "x'; --"} {
			_, err = svc.GetAsset(domain.WithTenant(bare, id), w.asset.ID)
			mustErr(t, err, domain.ErrForbidden)
		}

		// The system scope manages tenants and global rows, and sees no
		// tenant's data.
		_, err = svc.ListTenants(a.ctx)
		mustErr(t, err, domain.ErrForbidden)
		_, err = svc.CreateTenant(a.ctx, domain.Tenant{ID: "sneaky"})
		mustErr(t, err, domain.ErrForbidden)
		tenants, err := svc.ListTenants(sys())
		mustOK(t, err)
		found := false
		for _, tn := range tenants {
			found = found || tn.ID == a.id
		}
		if !found {
			t.Fatalf("tenant %s missing from %v", a.id, tenants)
		}
		_, err = svc.CreateTenant(sys(), domain.Tenant{ID: a.id})
		mustErr(t, err, domain.ErrConflict)
		for _, id := range []string{"", "-lead", "UP", "a b", "x" + string(make([]byte, 63))} {
			_, err = svc.CreateTenant(sys(), domain.Tenant{ID: id})
			mustErr(t, err, domain.ErrInvalid)
		}
		_, err = svc.GetAsset(sys(), w.asset.ID)
		mustErr(t, err, domain.ErrNotFound)
		list, err := svc.ListAssets(sys(), domain.AssetFilter{}, domain.Page{Limit: domain.MaxLimit})
		mustOK(t, err)
		for _, x := range list.Items {
			if !x.IsGlobal() {
				t.Fatalf("system scope lists tenant asset %s", x.Name)
			}
		}
		_, err = svc.GetRun(sys(), w.run.ID)
		mustErr(t, err, domain.ErrForbidden)
		upd, err := svc.UpdateAsset(sys(), w.global.ID, domain.AssetPatch{Description: ptr("curated")})
		mustOK(t, err)
		if upd.Description != "curated" {
			t.Fatalf("system update = %+v", upd)
		}
		mustOK(t, svc.DeleteAsset(sys(), w.global.ID))
		_, err = svc.GetAsset(a.ctx, w.global.ID)
		mustErr(t, err, domain.ErrNotFound)
	})
}
