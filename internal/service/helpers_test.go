package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// tenant is one tenant on one backend, with its context.
type tenant struct {
	t   *testing.T
	b   *testdb.Backend
	svc *service.Service
	id  string
	ctx context.Context
}

// newTenant creates a fresh tenant on b.
func newTenant(t *testing.T, b *testdb.Backend, svc *service.Service) *tenant {
	t.Helper()
	id := testdb.TenantID("t")
	if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: id, Name: id}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return &tenant{t: t, b: b, svc: svc, id: id, ctx: domain.WithTenant(context.Background(), id)}
}

// setup returns a service on b and two tenants, A and B.
func setup(t *testing.T, b *testdb.Backend) (*service.Service, *tenant, *tenant) {
	t.Helper()
	svc := service.New(b.Store, nil, nil)
	return svc, newTenant(t, b, svc), newTenant(t, b, svc)
}

func sys() context.Context { return domain.WithSystem(context.Background()) }

func (tn *tenant) asset(name string) *domain.Asset {
	tn.t.Helper()
	a, err := tn.svc.CreateAsset(tn.ctx, service.CreateAssetInput{Name: name})
	if err != nil {
		tn.t.Fatalf("create asset %q: %v", name, err)
	}
	return a
}

func (tn *tenant) edge(up, down *domain.Asset) *domain.AssetDependency {
	tn.t.Helper()
	d, err := tn.svc.CreateDependency(tn.ctx, up.ID, down.ID, domain.DependencyData)
	if err != nil {
		tn.t.Fatalf("create edge %s -> %s: %v", up.Name, down.Name, err)
	}
	return d
}

// mustErr fails unless err matches want.
func mustErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
