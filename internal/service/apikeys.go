package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// keyPrefix starts every API key, so leaked keys are easy to recognise and
// scan for.
const keyPrefix = "servo_"

// keyBytes is the entropy of an API key.
const keyBytes = 32

// NewAPIKeySecret returns a fresh random API key.
func NewAPIKeySecret() (string, error) {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate api key: %w", err)
	}
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashAPIKey returns the stored form of a key. Keys carry 256 bits of
// entropy, so a plain SHA-256 is enough; a slow hash would only slow down
// every request.
func HashAPIKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateAPIKeyInput asks for a key for a tenant.
type CreateAPIKeyInput struct {
	TenantID string
	Name     string
	// CreateTenant creates the tenant when it does not exist yet.
	CreateTenant bool
}

// CreateAPIKey makes a key for a tenant and returns its secret, which is
// never stored and cannot be shown again. System scope only.
func (s *Service) CreateAPIKey(ctx context.Context, in CreateAPIKeyInput) (string, *domain.APIKey, error) {
	if err := requireSystem(ctx); err != nil {
		return "", nil, err
	}
	if err := domain.ValidateTenantID(in.TenantID); err != nil {
		return "", nil, err
	}
	if len(in.Name) > 255 {
		return "", nil, domain.Invalid("name", "must be at most 255 characters")
	}
	secret, err := NewAPIKeySecret()
	if err != nil {
		return "", nil, err
	}
	k := domain.APIKey{TenantID: in.TenantID, Name: in.Name, Prefix: secret[:len(keyPrefix)+6]}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.TenantGet(ctx, in.TenantID); err != nil {
			if !errors.Is(err, domain.ErrNotFound) || !in.CreateTenant {
				return err
			}
			if err := s.store.TenantCreate(ctx, &domain.Tenant{ID: in.TenantID, Name: in.TenantID}); err != nil {
				return err
			}
		}
		return s.store.APIKeyCreate(ctx, &k, HashAPIKey(secret))
	})
	if err != nil {
		return "", nil, err
	}
	return secret, &k, nil
}

// Authenticate returns the live key matching secret. A malformed, unknown
// or revoked key is ErrUnauthenticated. A valid key is remembered for
// KeyCacheTTL, so revoking it through another process (or deleting its
// tenant) takes effect within that time; RevokeAPIKey on this Service takes
// effect at once.
func (s *Service) Authenticate(ctx context.Context, secret string) (*domain.APIKey, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) > 200 {
		return nil, fmt.Errorf("%w: malformed api key", domain.ErrUnauthenticated)
	}
	hash := HashAPIKey(secret)
	if k, ok := s.keys.get(hash); ok {
		return k, nil
	}
	k, err := s.store.APIKeyGetByHash(domain.WithSystem(ctx), hash)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown api key", domain.ErrUnauthenticated)
	}
	if err != nil {
		return nil, err
	}
	if k.Revoked() {
		return nil, fmt.Errorf("%w: revoked api key", domain.ErrUnauthenticated)
	}
	s.keys.put(hash, k)
	return k, nil
}

// ListAPIKeys lists a tenant's keys, revoked ones included. System scope
// only.
func (s *Service) ListAPIKeys(ctx context.Context, tenantID string) ([]domain.APIKey, error) {
	if err := requireSystem(ctx); err != nil {
		return nil, err
	}
	if err := domain.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if _, err := s.store.TenantGet(ctx, tenantID); err != nil {
		return nil, err
	}
	return s.store.APIKeyListForTenant(ctx, tenantID)
}

// RevokeAPIKey revokes a key. System scope only.
func (s *Service) RevokeAPIKey(ctx context.Context, id uuid.UUID) (*domain.APIKey, error) {
	if err := requireSystem(ctx); err != nil {
		return nil, err
	}
	k, err := s.store.APIKeyRevoke(ctx, id)
	if err == nil {
		s.keys.forget(id)
	}
	return k, err
}
