package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// normalizeLineage validates q and fills its defaults.
func normalizeLineage(q *domain.LineageQuery) error {
	var v domain.Validator
	if q.Direction == "" {
		q.Direction = domain.Both
	}
	v.Check(q.Direction.Valid(), "direction", "must be upstream, downstream or both")
	v.Check(q.MaxDepth >= 0 && q.MaxDepth <= domain.MaxLineageDepth, "depth", "must be between 1 and %d", domain.MaxLineageDepth)
	for _, t := range q.Types {
		v.Check(t.Valid(), "types", "must be data, metadata or control")
	}
	v.Check(q.Root != uuid.Nil, "asset", "is required")
	if q.MaxDepth == 0 {
		q.MaxDepth = domain.DefaultLineageDepth
	}
	return v.Err()
}

// Lineage answers q: the ancestors (upstream, through the edges entering
// each node) and descendants (downstream, through the edges leaving it) of
// q.Root, never siblings, each once at its shortest distance, within
// q.MaxDepth hops. The walk is breadth first (walk below): one repository
// round trip per level, whatever its width, and one for the rows; a cycle
// cannot make it loop, and past MaxLineageNodes nodes it stops and sets
// Truncated. Nodes come in order of depth, upstream before downstream, then
// by name; edges oldest first.
func (s *Service) Lineage(ctx context.Context, q domain.LineageQuery) (*domain.Lineage, error) {
	return s.lineage(ctx, q, domain.MaxLineageNodes)
}

// lineage is Lineage with a node cap of maxNodes.
func (s *Service) lineage(ctx context.Context, q domain.LineageQuery, maxNodes int) (*domain.Lineage, error) {
	if err := normalizeLineage(&q); err != nil {
		return nil, err
	}
	return walkLineage(ctx, s.store, q, maxNodes)
}
