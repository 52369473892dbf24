package service_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

func TestWorkflowVersions(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		x, y, z := a.asset("x"), a.asset("y"), a.asset("z")
		v1, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "daily", Owner: "eng", Tags: []string{"etl"}, Assets: []string{"x", y.ID.String()}})
		mustOK(t, err)
		if v1.Version != 1 || !slices.Equal(v1.AssetIDs, []uuid.UUID{x.ID, y.ID}) || v1.TenantID != a.id {
			t.Fatalf("v1 = %+v", v1)
		}
		v2, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "daily", Assets: []string{"z", "x"}})
		mustOK(t, err)
		if v2.Version != 2 || !slices.Equal(v2.AssetIDs, []uuid.UUID{z.ID, x.ID}) {
			t.Fatalf("v2 = %+v", v2)
		}
		// Older versions stay readable and unchanged.
		old, err := svc.ResolveWorkflow(a.ctx, "daily", 1)
		mustOK(t, err)
		if old.ID != v1.ID || !slices.Equal(old.AssetIDs, []uuid.UUID{x.ID, y.ID}) || old.Owner != "eng" {
			t.Fatalf("v1 now = %+v", old)
		}
		latest, err := svc.ResolveWorkflow(a.ctx, "daily", 0)
		mustOK(t, err)
		if latest.ID != v2.ID {
			t.Fatalf("latest = v%d", latest.Version)
		}
		byID, err := svc.ResolveWorkflow(a.ctx, v2.ID.String(), 1)
		mustOK(t, err)
		if byID.ID != v1.ID {
			t.Fatalf("id with ?version=1 = v%d", byID.Version)
		}
		_, err = svc.ResolveWorkflow(a.ctx, "daily", 3)
		mustErr(t, err, domain.ErrNotFound)

		other, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "hourly"})
		mustOK(t, err)
		list, err := svc.ListWorkflows(a.ctx, domain.Page{})
		mustOK(t, err)
		if list.Total != 2 || len(list.Items) != 2 || list.Items[0].ID != other.ID || list.Items[1].ID != v2.ID {
			t.Fatalf("list = %+v, want latest versions only, newest first", list)
		}
		versions, err := svc.ListWorkflowVersions(a.ctx, "daily", domain.Page{})
		mustOK(t, err)
		if versions.Total != 2 || versions.Items[0].Version != 2 || versions.Items[1].Version != 1 {
			t.Fatalf("versions = %+v", versions)
		}
		_, err = svc.ListWorkflowVersions(a.ctx, "nope", domain.Page{})
		mustErr(t, err, domain.ErrNotFound)

		upd, err := svc.UpdateWorkflow(a.ctx, v1.ID, domain.WorkflowPatch{Description: ptr("first")})
		mustOK(t, err)
		if upd.Description != "first" || upd.Owner != "eng" || !slices.Equal(upd.AssetIDs, v1.AssetIDs) {
			t.Fatalf("update = %+v", upd)
		}
		_, err = svc.UpdateWorkflow(a.ctx, uuid.New(), domain.WorkflowPatch{})
		mustErr(t, err, domain.ErrNotFound)

		// Deleting an asset drops it from workflow versions.
		mustOK(t, svc.DeleteAsset(a.ctx, y.ID))
		old, err = svc.GetWorkflow(a.ctx, v1.ID)
		mustOK(t, err)
		if !slices.Equal(old.AssetIDs, []uuid.UUID{x.ID}) {
			t.Fatalf("v1 assets after deleting y = %v", old.AssetIDs)
		}

		mustOK(t, svc.DeleteWorkflow(a.ctx, v2.ID))
		latest, err = svc.ResolveWorkflow(a.ctx, "daily", 0)
		mustOK(t, err)
		if latest.ID != v1.ID {
			t.Fatalf("latest after deleting v2 = v%d", latest.Version)
		}
		mustErr(t, svc.DeleteWorkflow(a.ctx, v2.ID), domain.ErrNotFound)
	})
}

func TestWorkflowValidation(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		a.asset("x")
		cases := []struct {
			name string
			in   service.CreateWorkflowInput
		}{
			{"empty name", service.CreateWorkflowInput{Name: ""}},
			{"unknown asset", service.CreateWorkflowInput{Name: "w", Assets: []string{"missing"}}},
			{"unknown asset id", service.CreateWorkflowInput{Name: "w", Assets: []string{uuid.NewString()}}},
			{"asset twice", service.CreateWorkflowInput{Name: "w", Assets: []string{"x", "x"}}},
		}
		for _, tc := range cases {
			_, err := svc.CreateWorkflow(a.ctx, tc.in)
			if !errorsIs(err, domain.ErrInvalid) {
				t.Errorf("%s: error = %v, want invalid", tc.name, err)
			}
		}
		list, err := svc.ListWorkflows(a.ctx, domain.Page{})
		mustOK(t, err)
		if list.Total != 0 {
			t.Fatalf("invalid creates stored %d workflows", list.Total)
		}
	})
}

// TestWorkflowConcurrentVersions creates one name from many goroutines:
// every create succeeds with its own version, 1..n.
func TestWorkflowConcurrentVersions(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		const n = 8
		var wg sync.WaitGroup
		versions := make(chan int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "race", Description: fmt.Sprint(i)})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				versions <- w.Version
			}()
		}
		wg.Wait()
		close(versions)
		var got []int
		for v := range versions {
			got = append(got, v)
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("versions = %v", got)
		}
	})
}
