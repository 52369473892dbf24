package repository

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// SystemTables are the tables without a tenant column that only the
// system scope may touch (row-level security on PostgreSQL).
var SystemTables = []string{"system_settings"}

type settingRow struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	CreatedAt time.Time
}

func (settingRow) TableName() string { return "system_settings" }
func (settingRow) systemTable()      {}

// SettingGetOrCreate implements domain.SettingRepository: it stores value
// under name unless a value is already there, and returns the stored one,
// so that concurrent first starts agree.
func (s *Store) SettingGetOrCreate(ctx context.Context, name, value string) (string, error) {
	var row settingRow
	err := s.run(ctx, func(tx *gorm.DB) error {
		// Raw SQL: the tenancy callbacks refuse upserts, and this table has
		// no tenant (row-level security admits the system scope only).
		if err := tx.Exec("INSERT INTO system_settings (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
			name, value, time.Now().UTC()).Error; err != nil {
			return err
		}
		return firstOrNotFound(tx.Where("name = ?", name).Take(&row).Error, "setting")
	})
	if err != nil {
		return "", err
	}
	return row.Value, nil
}
