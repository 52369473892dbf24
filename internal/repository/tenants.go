package repository

import (
	"context"

	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// TenantCreate implements domain.TenantRepository.
func (s *Store) TenantCreate(ctx context.Context, t *domain.Tenant) error {
	return s.run(ctx, func(tx *gorm.DB) error {
		row := tenantRow{ID: t.ID, Name: t.Name}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		*t = row.toDomain()
		return nil
	})
}

// TenantGet implements domain.TenantRepository.
func (s *Store) TenantGet(ctx context.Context, id string) (*domain.Tenant, error) {
	var row tenantRow
	err := s.read(ctx, func(tx *gorm.DB) error {
		return firstOrNotFound(tx.Where("id = ?", id).Take(&row).Error, "tenant")
	})
	if err != nil {
		return nil, err
	}
	t := row.toDomain()
	return &t, nil
}

// TenantList implements domain.TenantRepository.
func (s *Store) TenantList(ctx context.Context) ([]domain.Tenant, error) {
	var rows []tenantRow
	if err := s.read(ctx, func(tx *gorm.DB) error {
		return tx.Order("id").Find(&rows).Error
	}); err != nil {
		return nil, err
	}
	out := make([]domain.Tenant, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}
