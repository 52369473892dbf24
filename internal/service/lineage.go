package service

import (
	"context"
	"sort"

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

type reached struct {
	depth int
	dir   domain.Direction
}

// Lineage walks the graph from q.Root breadth first: upstream through the
// edges entering each node, downstream through those leaving it, so it
// returns ancestors and descendants, never siblings. Each level costs one
// query however wide it is, and the nodes are loaded in one more query, so a
// walk of depth d costs at most d+1 queries. A node is reported once, at its
// shortest distance; the walk stops at MaxDepth, when no new node appears
// (which also ends it on a cycle), or at MaxLineageNodes, setting Truncated.
func (s *Service) Lineage(ctx context.Context, q domain.LineageQuery) (*domain.Lineage, error) {
	if err := normalizeLineage(&q); err != nil {
		return nil, err
	}
	var out *domain.Lineage
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.walk(ctx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) walk(ctx context.Context, q domain.LineageQuery) (*domain.Lineage, error) {
	seen := map[uuid.UUID]reached{q.Root: {}}
	order := []uuid.UUID{}
	edgeSeen := map[uuid.UUID]bool{}
	var edges []domain.AssetDependency
	var down, up []uuid.UUID
	if q.Direction != domain.Upstream {
		down = []uuid.UUID{q.Root}
	}
	if q.Direction != domain.Downstream {
		up = []uuid.UUID{q.Root}
	}
	truncated := false
	for depth := 1; depth <= q.MaxDepth && (len(down) > 0 || len(up) > 0) && !truncated; depth++ {
		level, err := s.store.DependencyEdges(ctx, domain.EdgeQuery{DownstreamOf: down, UpstreamOf: up, Types: q.Types})
		if err != nil {
			return nil, err
		}
		inDown, inUp := set(down), set(up)
		var nextDown, nextUp []uuid.UUID
		// visit records the edge and its far end; it reports whether the far
		// end is new, that is, part of the next frontier.
		visit := func(e domain.AssetDependency, to uuid.UUID, dir domain.Direction) bool {
			_, known := seen[to]
			if !known {
				if len(order) >= domain.MaxLineageNodes {
					truncated = true
					return false
				}
				seen[to] = reached{depth: depth, dir: dir}
				order = append(order, to)
			}
			if !edgeSeen[e.ID] {
				edgeSeen[e.ID] = true
				edges = append(edges, e)
			}
			return !known
		}
		for _, e := range level {
			if inDown[e.UpstreamAssetID] && visit(e, e.DownstreamAssetID, domain.Downstream) {
				nextDown = append(nextDown, e.DownstreamAssetID)
			}
			if inUp[e.DownstreamAssetID] && visit(e, e.UpstreamAssetID, domain.Upstream) {
				nextUp = append(nextUp, e.UpstreamAssetID)
			}
		}
		down, up = nextDown, nextUp
	}
	ids := append([]uuid.UUID{q.Root}, order...)
	assets, err := s.store.AssetGetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]domain.Asset, len(assets))
	for _, a := range assets {
		byID[a.ID] = a
	}
	root, ok := byID[q.Root]
	if !ok {
		return nil, errNotFound("asset")
	}
	nodes := make([]domain.LineageNode, 0, len(order))
	for _, id := range order {
		if a, ok := byID[id]; ok {
			r := seen[id]
			nodes = append(nodes, domain.LineageNode{Asset: a, Depth: r.depth, Direction: r.dir})
		}
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		if nodes[i].Depth != nodes[j].Depth {
			return nodes[i].Depth < nodes[j].Depth
		}
		if nodes[i].Direction != nodes[j].Direction {
			return nodes[i].Direction > nodes[j].Direction // upstream before downstream
		}
		return nodes[i].Asset.Name < nodes[j].Asset.Name
	})
	if edges == nil {
		edges = []domain.AssetDependency{}
	}
	return &domain.Lineage{Root: root, Nodes: nodes, Edges: edges, Truncated: truncated}, nil
}

func set(ids []uuid.UUID) map[uuid.UUID]bool {
	m := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
