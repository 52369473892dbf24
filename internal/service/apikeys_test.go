package service_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		secret, key, err := svc.CreateAPIKey(sys(), service.CreateAPIKeyInput{TenantID: a.id, Name: "ci"})
		mustOK(t, err)
		if !strings.HasPrefix(secret, "servo_") || len(secret) < 40 || !strings.HasPrefix(secret, key.Prefix) || key.TenantID != a.id {
			t.Fatalf("secret %q, key %+v", secret, key)
		}
		got, err := svc.Authenticate(a.ctx, secret)
		mustOK(t, err)
		if got.ID != key.ID || got.TenantID != a.id {
			t.Fatalf("authenticated as %+v", got)
		}
		for _, bad := range []string{"", "servo_", "nope", secret + "x", strings.ToUpper(secret), strings.Repeat("servo_", 100)} {
			_, err := svc.Authenticate(a.ctx, bad)
			mustErr(t, err, domain.ErrUnauthenticated)
		}

		// Keys are managed in the system scope only.
		_, _, err = svc.CreateAPIKey(a.ctx, service.CreateAPIKeyInput{TenantID: a.id})
		mustErr(t, err, domain.ErrForbidden)
		_, err = svc.ListAPIKeys(other.ctx, a.id)
		mustErr(t, err, domain.ErrForbidden)
		_, err = svc.RevokeAPIKey(other.ctx, key.ID)
		mustErr(t, err, domain.ErrForbidden)

		// A missing tenant: refused, unless asked to create it.
		fresh := testdb.TenantID("k")
		_, _, err = svc.CreateAPIKey(sys(), service.CreateAPIKeyInput{TenantID: fresh})
		mustErr(t, err, domain.ErrNotFound)
		_, k2, err := svc.CreateAPIKey(sys(), service.CreateAPIKeyInput{TenantID: fresh, CreateTenant: true})
		mustOK(t, err)
		if _, err := svc.GetTenant(sys(), fresh); err != nil {
			t.Fatalf("tenant not created: %v", err)
		}
		_, _, err = svc.CreateAPIKey(sys(), service.CreateAPIKeyInput{TenantID: "Bad Id", CreateTenant: true})
		mustErr(t, err, domain.ErrInvalid)

		keys, err := svc.ListAPIKeys(sys(), a.id)
		mustOK(t, err)
		if len(keys) != 1 || keys[0].ID != key.ID {
			t.Fatalf("keys of a = %+v", keys)
		}
		keys, err = svc.ListAPIKeys(sys(), fresh)
		mustOK(t, err)
		if len(keys) != 1 || keys[0].ID != k2.ID {
			t.Fatalf("keys of fresh = %+v", keys)
		}

		// Authenticated once, the key is cached; revoking it here must
		// still take effect at once.
		_, err = svc.Authenticate(a.ctx, secret)
		mustOK(t, err)
		revoked, err := svc.RevokeAPIKey(sys(), key.ID)
		mustOK(t, err)
		if !revoked.Revoked() {
			t.Fatalf("revoke = %+v", revoked)
		}
		_, err = svc.Authenticate(a.ctx, secret)
		mustErr(t, err, domain.ErrUnauthenticated)
		_, err = svc.RevokeAPIKey(sys(), key.ID)
		mustErr(t, err, domain.ErrConflict)
		_, err = svc.RevokeAPIKey(sys(), uuid.New())
		mustErr(t, err, domain.ErrNotFound)
	})
}
