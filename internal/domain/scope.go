package domain

import (
	"context"
	"fmt"
	"regexp"
)

// Scope says on whose behalf a piece of work runs. Exactly one of a tenant
// scope or the system scope is set; the zero Scope is no scope at all, and
// storage refuses to work without one.
type Scope struct {
	tenantID string
	system   bool
}

// TenantScope returns the scope of one tenant.
func TenantScope(tenantID string) Scope { return Scope{tenantID: tenantID} }

// SystemScope returns the system scope: it manages tenants and API keys and
// reads and writes global rows, and sees no tenant's data.
func SystemScope() Scope { return Scope{system: true} }

// TenantID returns the tenant of a tenant scope, or "" for the system scope.
func (s Scope) TenantID() string { return s.tenantID }

// IsSystem reports whether s is the system scope.
func (s Scope) IsSystem() bool { return s.system }

// IsZero reports whether s carries no scope.
func (s Scope) IsZero() bool { return !s.system && s.tenantID == "" }

// String implements fmt.Stringer for logs.
func (s Scope) String() string {
	switch {
	case s.system:
		return "system"
	case s.tenantID != "":
		return "tenant:" + s.tenantID
	default:
		return "none"
	}
}

type scopeKey struct{}

// WithScope returns a context carrying s.
func WithScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// WithTenant returns a context scoped to one tenant.
func WithTenant(ctx context.Context, tenantID string) context.Context {
	return WithScope(ctx, TenantScope(tenantID))
}

// WithSystem returns a context in the system scope.
func WithSystem(ctx context.Context) context.Context {
	return WithScope(ctx, SystemScope())
}

// ScopeFrom returns the scope carried by ctx. It fails closed: a context
// without a scope, or with an empty or malformed tenant id, is an error
// matching ErrForbidden.
func ScopeFrom(ctx context.Context) (Scope, error) {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	if s.IsZero() {
		return Scope{}, fmt.Errorf("%w: no tenant scope in context", ErrForbidden)
	}
	if !s.system && !validTenantID(s.tenantID) {
		return Scope{}, fmt.Errorf("%w: malformed tenant id in context", ErrForbidden)
	}
	return s, nil
}

// tenantIDPattern is what a tenant id looks like; validTenantID checks it
// without a regular expression, on every ScopeFrom.
var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validTenantID reports whether id matches tenantIDPattern.
func validTenantID(id string) bool {
	if len(id) == 0 || len(id) > 63 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
