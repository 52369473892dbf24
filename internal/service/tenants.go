package service

import (
	"context"
	"fmt"

	"github.com/servo-data/servo/internal/domain"
)

// requireSystem refuses callers outside the system scope.
func requireSystem(ctx context.Context) error {
	s, err := scope(ctx)
	if err != nil {
		return err
	}
	if !s.IsSystem() {
		return fmt.Errorf("%w: requires the system scope", domain.ErrForbidden)
	}
	return nil
}

// CreateTenant creates a tenant. System scope only.
func (s *Service) CreateTenant(ctx context.Context, t domain.Tenant) (*domain.Tenant, error) {
	if err := requireSystem(ctx); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.TenantCreate(ctx, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetTenant returns one tenant. System scope only.
func (s *Service) GetTenant(ctx context.Context, id string) (*domain.Tenant, error) {
	if err := requireSystem(ctx); err != nil {
		return nil, err
	}
	if err := domain.ValidateTenantID(id); err != nil {
		return nil, err
	}
	t, err := s.store.TenantGet(ctx, id)
	return t, notFound(err, "tenant", id)
}

// ListTenants lists every tenant. System scope only.
func (s *Service) ListTenants(ctx context.Context) ([]domain.Tenant, error) {
	if err := requireSystem(ctx); err != nil {
		return nil, err
	}
	return s.store.TenantList(ctx)
}
