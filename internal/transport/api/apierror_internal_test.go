package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/servo-data/servo/internal/domain"
)

// TestNotFoundSaysNoMore checks that every form of "not found" the layers
// below report is 404 "not found" and no more: the resource and reference
// a NotFoundError names stay in the logs, so that another tenant's id reads
// exactly like an id that does not exist.
func TestNotFoundSaysNoMore(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		domain.ErrNotFound,
		domain.NewNotFound("asset", "0190f5d2-7c1a-7e3b-9a4c-1f2e3d4c5b6a"),
		fmt.Errorf("resolve: %w", &domain.NotFoundError{Resource: "workflow", Ref: "nightly"}),
		fmt.Errorf("asset: %w", domain.ErrNoRows),
	} {
		ae, ok := toAPIError(err)
		if !ok || ae.Status != http.StatusNotFound || ae.Code != CodeNotFound || ae.Message != "not found" || len(ae.Details) != 0 {
			t.Errorf("toAPIError(%v) = %+v, %v; want 404 not_found saying only \"not found\"", err, ae, ok)
		}
	}
}
