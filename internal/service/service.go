package service

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// Service bundles the use cases over one store.
type Service struct {
	store domain.Store
}

// New returns the use cases over store.
func New(store domain.Store) *Service {
	return &Service{store: store}
}

// scope returns the caller's scope, failing closed without one.
func scope(ctx context.Context) (domain.Scope, error) {
	return domain.ScopeFrom(ctx)
}

// ParseID parses a UUID, answering ErrInvalid for anything else.
func ParseID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, domain.Invalid(field, "must be a UUID")
	}
	return id, nil
}

// refID parses ref as a UUID when it is one; ok is false for a name.
func refID(ref string) (uuid.UUID, bool) {
	if len(ref) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(ref)
	return id, err == nil
}

func forbiddenGlobal(what string) error {
	return fmt.Errorf("%w: global %s are read-only for tenants", domain.ErrForbidden, what)
}

func errNotFound(what string) error {
	return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
}
