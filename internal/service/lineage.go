package service

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"strings"

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
	l, err := walkLineage(ctx, s.store, q, maxNodes)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(l.Nodes, func(a, b domain.LineageNode) int {
		if c := cmp.Compare(a.Depth, b.Depth); c != 0 {
			return c
		}
		if a.Direction != b.Direction {
			return -strings.Compare(string(a.Direction), string(b.Direction)) // upstream before downstream
		}
		if c := strings.Compare(a.Asset.Name, b.Asset.Name); c != 0 {
			return c
		}
		return bytes.Compare(a.Asset.ID[:], b.Asset.ID[:])
	})
	slices.SortFunc(l.Edges, func(a, b domain.AssetDependency) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	// A cycle can bring one edge to the walk from both of its ends (at
	// different levels); sorted, the copies are neighbours.
	l.Edges = slices.CompactFunc(l.Edges, func(a, b domain.AssetDependency) bool { return a.ID == b.ID })
	return l, nil
}
