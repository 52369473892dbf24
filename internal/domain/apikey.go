package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// APIKey is a credential bound to one tenant. The secret itself is shown
// once, at creation; storage keeps only its hash.
type APIKey struct {
	ID        uuid.UUID  `json:"id"`
	TenantID  string     `json:"tenant_id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// APIKeyRepository stores API keys. Every method needs the system scope:
// keys are looked up before the caller's tenant is known.
type APIKeyRepository interface {
	// APIKeyCreate stores k with the hash of its secret.
	APIKeyCreate(ctx context.Context, k *APIKey, hash []byte) error
	APIKeyGet(ctx context.Context, id uuid.UUID) (*APIKey, error)
	APIKeyGetByHash(ctx context.Context, hash []byte) (*APIKey, error)
	APIKeyListForTenant(ctx context.Context, tenantID string) ([]APIKey, error)
	// APIKeyRevoke marks the key revoked; revoking twice is ErrConflict.
	APIKeyRevoke(ctx context.Context, id uuid.UUID) (*APIKey, error)
}
