package service

import (
	"bytes"
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// The lineage walk's rules.
//
//   - Two breadth-first walks leave the root in lockstep, one level per
//     step: downstream through the edges leaving each node, upstream through
//     the edges entering it (only edges of q.Types when set). Each keeps its
//     own visited set, the node's shortest distance that way, so a node that
//     both walks reach (only a cycle does that) is walked on in both.
//   - Level d costs one repository round trip for both walks together: the
//     edges leaving the downstream frontier (the nodes first reached
//     downstream at d-1) and entering the upstream one. The walk stops after
//     q.MaxDepth levels or when both frontiers are empty.
//   - A node is reported once, at the smaller of its two distances, upstream
//     on a tie. The root is never a node, even when a cycle comes back to it.
//   - The nodes kept are the first maxNodes in the order (depth, upstream
//     before downstream, id). A level that would go past maxNodes is cut to
//     fit, Truncated is set and the walk stops, after one more read (short
//     of the depth limit) of the edges of the level's kept nodes, for those
//     that join nodes of the answer. A walk that fills the cap exactly reads
//     one more level to know whether it was cut.
//   - The edges reported are those the walk followed from the root, or from
//     a node in the direction it is reported in (leaving a downstream node,
//     entering an upstream one), whose other end is in the answer.
//   - The rows of the root and the kept nodes are read in one more round
//     trip. A node whose row the scope does not see (deleted since its edge
//     was read) is left out with its edges; a root it does not see is
//     ErrNotFound.

// walkNode is one asset the walk has reached.
type walkNode struct {
	id uuid.UUID
	// down and up are the shortest distances from the root downstream and
	// upstream; -1 when not reached that way.
	down, up int32
	found    bool // its row was read
}

// depth returns the node's reported depth and direction.
func (n *walkNode) depth() (int, domain.Direction) {
	if n.up >= 0 && (n.down < 0 || n.up <= n.down) {
		return int(n.up), domain.Upstream
	}
	return int(n.down), domain.Downstream
}

// How an edge was followed.
const (
	viaDown uint8 = 1 << iota // from its upstream end, in the downstream walk
	viaUp                     // from its downstream end, in the upstream walk
)

// walkEdge is what the walk learnt of edges[i]: the nodes at its ends and
// how it was followed.
type walkEdge struct {
	up, down int32
	via      uint8
}

// lineageWalk is the state of one walk.
type lineageWalk struct {
	store    domain.LineageRepository
	q        domain.LineageQuery
	maxNodes int
	index    map[uuid.UUID]int32 // node id -> position in nodes
	nodes    []walkNode          // nodes[0] is the root
	keptEnd  int                 // nodes[1:keptEnd] are kept
	edges    []domain.AssetDependency
	ends     []walkEdge // ends[i] describes edges[i]
	// cut is the depth of the level the cap cut, 0 if none; the level's
	// nodes start at cutStart.
	cut      int32
	cutStart int
}

// walkLineage walks from q.Root (normalized) by the rules above, with at
// most maxNodes nodes.
func walkLineage(ctx context.Context, store domain.LineageRepository, q domain.LineageQuery, maxNodes int) (*domain.Lineage, error) {
	w := &lineageWalk{store: store, q: q, maxNodes: maxNodes, index: make(map[uuid.UUID]int32, 64)}
	root := walkNode{id: q.Root, down: -1, up: -1}
	var down, up []uuid.UUID
	if q.Direction != domain.Upstream {
		root.down, down = 0, []uuid.UUID{q.Root}
	}
	if q.Direction != domain.Downstream {
		root.up, up = 0, []uuid.UUID{q.Root}
	}
	w.nodes = append(w.nodes, root)
	w.index[q.Root] = 0
	w.keptEnd = 1
	var nextDown, nextUp []uuid.UUID
	for depth := int32(1); depth <= int32(q.MaxDepth) && (len(down) > 0 || len(up) > 0) && w.cut == 0; depth++ {
		var err error
		nextDown, nextUp, err = w.level(ctx, depth, down, up, nextDown[:0], nextUp[:0], false)
		if err != nil {
			return nil, err
		}
		down, nextDown = nextDown, down
		up, nextUp = nextUp, up
	}
	if w.cut > 0 && w.cut < int32(q.MaxDepth) {
		// The edges of the cut level's kept nodes, each from its own side.
		down, up = down[:0], up[:0]
		for i := w.cutStart; i < w.keptEnd; i++ {
			if _, dir := w.nodes[i].depth(); dir == domain.Downstream {
				down = append(down, w.nodes[i].id)
			} else {
				up = append(up, w.nodes[i].id)
			}
		}
		if _, _, err := w.level(ctx, w.cut+1, down, up, nil, nil, true); err != nil {
			return nil, err
		}
	}
	return w.answer(ctx)
}

// level walks one level: it reads the edges of both frontiers (nodes at
// depth-1), records the nodes they reach and appends to nextDown and
// nextUp those that are new to each walk. A closing level (after a cut)
// only records the edges: the nodes they reach are not in the answer.
func (w *lineageWalk) level(ctx context.Context, depth int32, down, up, nextDown, nextUp []uuid.UUID, closing bool) ([]uuid.UUID, []uuid.UUID, error) {
	from := len(w.edges)
	var err error
	w.edges, err = w.store.LineageEdges(ctx, domain.EdgeQuery{DownstreamOf: down, UpstreamOf: up, Types: w.q.Types}, w.edges)
	if err != nil {
		return nil, nil, err
	}
	levelStart := len(w.nodes)
	for i := from; i < len(w.edges); i++ {
		e := &w.edges[i]
		end := walkEdge{up: -1, down: -1}
		if n, ok := w.index[e.UpstreamAssetID]; ok {
			end.up = n
			if w.nodes[n].down == depth-1 {
				end.via |= viaDown
			}
		}
		if n, ok := w.index[e.DownstreamAssetID]; ok {
			end.down = n
			if w.nodes[n].up == depth-1 {
				end.via |= viaUp
			}
		}
		if closing {
			w.ends = append(w.ends, end)
			continue
		}
		if end.via&viaDown != 0 {
			if end.down < 0 {
				end.down = w.add(e.DownstreamAssetID)
			}
			if far := &w.nodes[end.down]; far.down < 0 {
				far.down = depth
				nextDown = append(nextDown, e.DownstreamAssetID)
			}
		}
		if end.via&viaUp != 0 {
			if end.up < 0 {
				end.up = w.add(e.UpstreamAssetID)
			}
			if far := &w.nodes[end.up]; far.up < 0 {
				far.up = depth
				nextUp = append(nextUp, e.UpstreamAssetID)
			}
		}
		w.ends = append(w.ends, end)
	}
	if closing {
		return nil, nil, nil
	}
	kept := w.keptEnd - 1
	fresh := w.nodes[levelStart:]
	if kept+len(fresh) > w.maxNodes {
		// Keep the level's first nodes in the keep order; a new node's
		// depth is this level's, so the order is direction, then id.
		slices.SortFunc(fresh, func(a, b walkNode) int {
			if au, bu := a.up == depth, b.up == depth; au != bu {
				if au {
					return -1
				}
				return 1
			}
			return bytes.Compare(a.id[:], b.id[:])
		})
		for i := levelStart; i < len(w.nodes); i++ {
			w.index[w.nodes[i].id] = int32(i)
		}
		// Edges found this level point at nodes by position: redo them.
		for i := from; i < len(w.edges); i++ {
			w.ends[i].up, w.ends[i].down = w.pos(w.edges[i].UpstreamAssetID), w.pos(w.edges[i].DownstreamAssetID)
		}
		w.keptEnd = levelStart + (w.maxNodes - kept)
		w.cut, w.cutStart = depth, levelStart
		return nextDown, nextUp, nil
	}
	w.keptEnd = len(w.nodes)
	return nextDown, nextUp, nil
}

// pos returns the position of a node, -1 for one not reached.
func (w *lineageWalk) pos(id uuid.UUID) int32 {
	if n, ok := w.index[id]; ok {
		return n
	}
	return -1
}

// add records a node reached for the first time and returns its position.
func (w *lineageWalk) add(id uuid.UUID) int32 {
	n := int32(len(w.nodes))
	w.nodes = append(w.nodes, walkNode{id: id, down: -1, up: -1})
	w.index[id] = n
	return n
}

// answer reads the rows of the root and the kept nodes and assembles the
// lineage: nodes and edges in no particular order.
func (w *lineageWalk) answer(ctx context.Context) (*domain.Lineage, error) {
	ids := make([]uuid.UUID, w.keptEnd)
	for i := range ids {
		ids[i] = w.nodes[i].id
	}
	assets, err := w.store.LineageAssets(ctx, ids, make([]domain.Asset, 0, len(ids)))
	if err != nil {
		return nil, err
	}
	out := &domain.Lineage{Nodes: make([]domain.LineageNode, 0, len(assets)), Truncated: w.cut > 0}
	foundRoot := false
	for i := range assets {
		n, ok := w.index[assets[i].ID]
		if !ok || int(n) >= w.keptEnd {
			continue
		}
		node := &w.nodes[n]
		if node.found {
			continue
		}
		node.found = true
		if n == 0 {
			out.Root, foundRoot = assets[i], true
			continue
		}
		depth, dir := node.depth()
		out.Nodes = append(out.Nodes, domain.LineageNode{Asset: assets[i], Depth: depth, Direction: dir})
	}
	if !foundRoot {
		return nil, errNotFound("asset")
	}
	// Keep, in place, the edges followed from the root or from a node in
	// its reported direction, both ends in the answer.
	in := func(n int32) bool { return n == 0 || (n > 0 && int(n) < w.keptEnd && w.nodes[n].found) }
	from := func(n int32, dir domain.Direction) bool {
		if n == 0 {
			return true
		}
		if !in(n) {
			return false
		}
		_, d := w.nodes[n].depth()
		return d == dir
	}
	edges := w.edges[:0]
	for i, e := range w.edges {
		end := w.ends[i]
		if (end.via&viaDown != 0 && from(end.up, domain.Downstream) && in(end.down)) ||
			(end.via&viaUp != 0 && from(end.down, domain.Upstream) && in(end.up)) {
			edges = append(edges, e)
		}
	}
	out.Edges = edges
	if out.Edges == nil {
		out.Edges = []domain.AssetDependency{}
	}
	return out, nil
}
