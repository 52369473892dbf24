package service_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// TestNotFound_NamesTheResource checks on both backends that the service
// turns the repository's absent row into a domain.NotFoundError naming the
// resource and the reference asked for, that another tenant's row reads
// exactly like a missing one, and that the repository's own term
// (ErrNoRows) does not leave the service.
func TestNotFound_NamesTheResource(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		theirs := other.asset("theirs")
		theirEdge := other.edge(theirs, other.asset("theirs-down"))
		wf, err := svc.CreateWorkflow(other.ctx, service.CreateWorkflowInput{Name: "their-wf", Assets: []string{theirs.ID.String()}})
		if err != nil {
			t.Fatal(err)
		}
		missing := uuid.New()
		for _, tc := range []struct {
			name     string
			call     func() error
			resource string
			ref      string
		}{
			{"missing asset", func() error { _, err := svc.GetAsset(a.ctx, missing); return err }, "asset", missing.String()},
			{"another tenant's asset", func() error { _, err := svc.GetAsset(a.ctx, theirs.ID); return err }, "asset", theirs.ID.String()},
			{"asset by name", func() error { _, err := svc.ResolveAsset(a.ctx, "theirs"); return err }, "asset", "theirs"},
			{"update another tenant's asset", func() error {
				_, err := svc.UpdateAsset(a.ctx, theirs.ID, domain.AssetPatch{})
				return err
			}, "asset", theirs.ID.String()},
			{"delete another tenant's asset", func() error { return svc.DeleteAsset(a.ctx, theirs.ID) }, "asset", theirs.ID.String()},
			{"another tenant's edge", func() error { _, err := svc.GetDependency(a.ctx, theirEdge.ID); return err }, "dependency", theirEdge.ID.String()},
			{"delete another tenant's edge", func() error { return svc.DeleteDependency(a.ctx, theirEdge.ID) }, "dependency", theirEdge.ID.String()},
			{"another tenant's workflow", func() error { _, err := svc.GetWorkflow(a.ctx, wf.ID); return err }, "workflow", wf.ID.String()},
			{"workflow by name", func() error { _, err := svc.ResolveWorkflow(a.ctx, "their-wf", 0); return err }, "workflow", "their-wf"},
			{"delete another tenant's workflow", func() error { return svc.DeleteWorkflow(a.ctx, wf.ID) }, "workflow", wf.ID.String()},
			{"missing run", func() error { _, err := svc.GetRun(a.ctx, missing); return err }, "run", missing.String()},
			{"delete a missing run", func() error { return svc.DeleteRun(a.ctx, missing) }, "run", missing.String()},
			{"missing column edge", func() error { _, err := svc.GetColumnDependency(a.ctx, missing); return err }, "column dependency", missing.String()},
			{"missing check", func() error { _, err := svc.Checks().Get(a.ctx, missing); return err }, "check", missing.String()},
			{"delete a missing check", func() error { return svc.Checks().Delete(a.ctx, missing) }, "check", missing.String()},
			{"missing tenant", func() error { _, err := svc.GetTenant(sys(), "no-such-tenant"); return err }, "tenant", "no-such-tenant"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				var nf *domain.NotFoundError
				if !errors.As(err, &nf) {
					t.Fatalf("err = %v, want a *domain.NotFoundError", err)
				}
				if nf.Resource != tc.resource || nf.Ref != tc.ref {
					t.Errorf("NotFoundError = %+v, want {Resource:%s Ref:%s}", *nf, tc.resource, tc.ref)
				}
				if !errors.Is(err, domain.ErrNotFound) {
					t.Errorf("%v does not match ErrNotFound", err)
				}
				if errors.Is(err, domain.ErrNoRows) {
					t.Errorf("%v still speaks the repository's terms (ErrNoRows)", err)
				}
			})
		}
	})
}
