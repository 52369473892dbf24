package service

import (
	"context"

	"github.com/servo-data/servo/internal/domain"
)

// LineageCapped is Lineage with a node cap of maxNodes instead of
// domain.MaxLineageNodes.
func (s *Service) LineageCapped(ctx context.Context, q domain.LineageQuery, maxNodes int) (*domain.Lineage, error) {
	return s.lineage(ctx, q, maxNodes)
}
