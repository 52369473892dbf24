package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// SigningKeySetting names the stored http signing key.
const SigningKeySetting = "http_signing_key"

// SigningKey returns the key that signs http steps, kept in the database:
// the one stored, or a new random 256-bit key stored on first use (every
// process of a deployment then agrees on it). System scope only.
func (s *Service) SigningKey(ctx context.Context) ([]byte, error) {
	if err := requireSystem(ctx); err != nil {
		return nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	v, err := s.store.SettingGetOrCreate(ctx, SigningKeySetting, hex.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return []byte(v), nil
}
