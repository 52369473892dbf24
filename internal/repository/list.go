package repository

import (
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// page counts the rows q matches and loads one page of them, newest first,
// ties broken by id so that pages never overlap or skip.
func page[R any](q *gorm.DB, p domain.Page, dest *[]R) (int64, error) {
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return 0, err
	}
	if total == 0 || int64(p.Offset) >= total {
		*dest = []R{}
		return total, nil
	}
	err := q.Session(&gorm.Session{}).
		Order("created_at DESC").Order("id DESC").
		Limit(p.Limit).Offset(p.Offset).
		Find(dest).Error
	return total, err
}
