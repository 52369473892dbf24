package api

import (
	"context"

	"github.com/servo-data/servo/internal/domain"
)

// hideGlobalEnv blanks the compute env values of global assets for a
// tenant caller: a tenant sees the variable names a global asset's step
// gets, never their values (they may be the operator's credentials). A
// tenant's own assets and the system scope are shown whole. It edits the
// assets in place; they must be the request's own copies.
func hideGlobalEnv(ctx context.Context, assets ...*domain.Asset) {
	if s, err := domain.ScopeFrom(ctx); err == nil && s.IsSystem() {
		return
	}
	for _, a := range assets {
		if a == nil || !a.IsGlobal() || a.Compute == nil || len(a.Compute.Env) == 0 {
			continue
		}
		spec := *a.Compute
		spec.Env = make(map[string]string, len(a.Compute.Env))
		for k := range a.Compute.Env {
			spec.Env[k] = ""
		}
		a.Compute = &spec
	}
}
