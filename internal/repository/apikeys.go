package repository

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

type apiKeyRow struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	TenantID  string
	Name      string
	Prefix    string
	Hash      []byte
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }
func (apiKeyRow) systemTable()      {}

func (r *apiKeyRow) toDomain() domain.APIKey {
	return domain.APIKey{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, Prefix: r.Prefix,
		CreatedAt: r.CreatedAt.UTC(), RevokedAt: utcPtr(r.RevokedAt),
	}
}

// APIKeyCreate implements domain.APIKeyRepository.
func (s *Store) APIKeyCreate(ctx context.Context, k *domain.APIKey, hash []byte) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := apiKeyRow{ID: newID(), TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Hash: hash}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*k = row.toDomain()
		return nil
	})
}

func (s *Store) apiKeyTake(ctx context.Context, q func(*gorm.DB) *gorm.DB) (*domain.APIKey, error) {
	var row apiKeyRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(q(tx).Take(&row).Error, "api key")
	})
	if err != nil {
		return nil, err
	}
	k := row.toDomain()
	return &k, nil
}

// APIKeyGet implements domain.APIKeyRepository.
func (s *Store) APIKeyGet(ctx context.Context, id uuid.UUID) (*domain.APIKey, error) {
	return s.apiKeyTake(ctx, func(tx *gorm.DB) *gorm.DB { return tx.Where("id = ?", id) })
}

// APIKeyGetByHash implements domain.APIKeyRepository.
func (s *Store) APIKeyGetByHash(ctx context.Context, hash []byte) (*domain.APIKey, error) {
	return s.apiKeyTake(ctx, func(tx *gorm.DB) *gorm.DB { return tx.Where("hash = ?", hash) })
}

// APIKeyListForTenant implements domain.APIKeyRepository.
func (s *Store) APIKeyListForTenant(ctx context.Context, tenantID string) ([]domain.APIKey, error) {
	var rows []apiKeyRow
	if err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ?", tenantID).Order("created_at DESC").Order("id DESC").Find(&rows).Error
	}); err != nil {
		return nil, err
	}
	out := make([]domain.APIKey, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// APIKeyRevoke implements domain.APIKeyRepository.
func (s *Store) APIKeyRevoke(ctx context.Context, id uuid.UUID) (*domain.APIKey, error) {
	var out *domain.APIKey
	err := s.run(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&apiKeyRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now())
		if res.Error != nil {
			return res.Error
		}
		var row apiKeyRow
		if err := firstOrNotFound(tx.Where("id = ?", id).Take(&row).Error, "api key"); err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: api key already revoked", domain.ErrConflict)
		}
		k := row.toDomain()
		out = &k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
