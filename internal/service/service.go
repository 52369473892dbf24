package service

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/engine"
	"github.com/servo-data/servo/internal/service/checks"
)

// Service bundles the use cases over one store.
type Service struct {
	store      domain.Store
	dispatcher Dispatcher
	policy     ComputePolicy
	engine     *engine.Engine
	keys       *keyCache
	checks     *checks.Service
}

// RunObserver hears of every run that succeeded, in the transaction that
// records the success: an error undoes the success.
type RunObserver = engine.RunObserver

// ObserveRuns adds o to the observers of successful runs.
func (s *Service) ObserveRuns(o RunObserver) {
	s.engine.ObserveRuns(o)
}

// Dispatcher hands runs to the workers for execution.
type Dispatcher = engine.Dispatcher

// ComputePolicy decides whether a compute spec may run on this deployment.
type ComputePolicy interface {
	// Allow returns an error matching domain.ErrInvalid for a spec the
	// operator has not allowed.
	Allow(spec *domain.ComputeSpec) error
}

// New returns the use cases over store. Triggered runs are dispatched to
// d and compute specs are checked against p when written; a nil d leaves
// triggered runs pending, a nil p allows every valid spec.
func New(store domain.Store, d Dispatcher, p ComputePolicy) *Service {
	return &Service{
		store: store, dispatcher: d, policy: p, engine: engine.New(store, d),
		keys: newKeyCache(), checks: checks.New(store),
	}
}

// Engine returns the run engine over the same store and dispatcher.
func (s *Service) Engine() *engine.Engine { return s.engine }

// Checks returns the data-quality checks of the same store.
func (s *Service) Checks() *checks.Service { return s.checks }

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

func forbiddenGlobal(what string) error {
	return fmt.Errorf("%w: global %s are read-only for tenants", domain.ErrForbidden, what)
}

// errNotFound is the service's own report that no what answers the
// caller's reference.
func errNotFound(what string) error {
	return domain.NewNotFound(what, "")
}

// notFound names the resource and reference of a repository's absent row
// (domain.NameNotFound); other errors pass through.
func notFound(err error, resource string, ref any) error {
	if err == nil {
		return nil
	}
	return domain.NameNotFound(err, resource, fmt.Sprint(ref))
}
