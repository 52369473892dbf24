package service

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"sync"

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

	// Scratch reused by the next walk (walkPool): frontiers, the ids and
	// rows read, the sort keys of the answer.
	frontiers [4][]uuid.UUID
	ids       []uuid.UUID
	assets    []domain.Asset
	nodeKeys  []nodeKey
	edgeKeys  []edgeKey
}

// walkPool keeps the walks' buffers from one request to the next: a walk
// of thousands of nodes would otherwise grow its map and slices anew, and
// clear every grown array, each time.
var walkPool = sync.Pool{New: func() any { return &lineageWalk{index: make(map[uuid.UUID]int32, 64)} }}

// maxPooledEdges bounds the edge buffer a walk hands back to walkPool.
const maxPooledEdges = 1 << 16

// release hands w back to walkPool, unless its buffers grew very large.
func (w *lineageWalk) release() {
	if cap(w.edges) > maxPooledEdges {
		return
	}
	w.store = nil
	w.q = domain.LineageQuery{}
	clear(w.index)
	w.nodes, w.edges, w.ends = w.nodes[:0], w.edges[:0], w.ends[:0]
	w.ids, w.nodeKeys, w.edgeKeys = w.ids[:0], w.nodeKeys[:0], w.edgeKeys[:0]
	// Asset rows hold pointers into the previous answer: drop them.
	clear(w.assets)
	w.assets = w.assets[:0]
	for i := range w.frontiers {
		w.frontiers[i] = w.frontiers[i][:0]
	}
	w.cut, w.cutStart, w.keptEnd = 0, 0, 0
	walkPool.Put(w)
}

// walkLineage walks from q.Root (normalized) by the rules above, with at
// most maxNodes nodes.
func walkLineage(ctx context.Context, store domain.LineageRepository, q domain.LineageQuery, maxNodes int) (*domain.Lineage, error) {
	w := walkPool.Get().(*lineageWalk)
	defer w.release()
	w.store, w.q, w.maxNodes = store, q, maxNodes
	root := walkNode{id: q.Root, down: -1, up: -1}
	down, up, nextDown, nextUp := w.frontiers[0][:0], w.frontiers[1][:0], w.frontiers[2][:0], w.frontiers[3][:0]
	defer func() { w.frontiers = [4][]uuid.UUID{down, up, nextDown, nextUp} }()
	if q.Direction != domain.Upstream {
		root.down, down = 0, append(down, q.Root)
	}
	if q.Direction != domain.Downstream {
		root.up, up = 0, append(up, q.Root)
	}
	w.nodes = append(w.nodes, root)
	w.index[q.Root] = 0
	w.keptEnd = 1
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
		if _, _, err := w.level(ctx, w.cut+1, down, up, nextDown[:0], nextUp[:0], true); err != nil {
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

// nodeKey is a node of the answer in the order the answer lists them:
// depth, upstream before downstream, name, id.
type nodeKey struct {
	depth int32
	down  bool
	asset int32 // position in the rows read
	name  string
	id    uuid.UUID
}

func compareNodeKeys(a, b nodeKey) int {
	if a.depth != b.depth {
		return cmp.Compare(a.depth, b.depth)
	}
	if a.down != b.down {
		if b.down {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// edgeKey is an edge of the answer in the order the answer lists them:
// oldest first, then by id (as two big-endian halves).
type edgeKey struct {
	sec    int64
	nsec   int32
	edge   int32 // position in edges
	hi, lo uint64
}

func compareEdgeKeys(a, b edgeKey) int {
	if a.sec != b.sec {
		return cmp.Compare(a.sec, b.sec)
	}
	if a.nsec != b.nsec {
		return cmp.Compare(a.nsec, b.nsec)
	}
	if a.hi != b.hi {
		return cmp.Compare(a.hi, b.hi)
	}
	return cmp.Compare(a.lo, b.lo)
}

// answer reads the rows of the root and the kept nodes and assembles the
// lineage in its order: nodes by depth, upstream before downstream, name
// and id; edges oldest first, then by id, each once. The sorts run on
// small keys, and the answer's slices are allocated once at their size.
func (w *lineageWalk) answer(ctx context.Context) (*domain.Lineage, error) {
	w.ids = w.ids[:0]
	for i := range w.keptEnd {
		w.ids = append(w.ids, w.nodes[i].id)
	}
	var err error
	w.assets, err = w.store.LineageAssets(ctx, w.ids, slices.Grow(w.assets[:0], len(w.ids)))
	if err != nil {
		return nil, err
	}
	out := &domain.Lineage{Truncated: w.cut > 0}
	foundRoot := false
	keys := w.nodeKeys[:0]
	for i := range w.assets {
		a := &w.assets[i]
		n, ok := w.index[a.ID]
		if !ok || int(n) >= w.keptEnd {
			continue
		}
		node := &w.nodes[n]
		if node.found {
			continue
		}
		node.found = true
		if n == 0 {
			out.Root, foundRoot = *a, true
			continue
		}
		depth, dir := node.depth()
		keys = append(keys, nodeKey{depth: int32(depth), down: dir == domain.Downstream, asset: int32(i), name: a.Name, id: a.ID})
	}
	w.nodeKeys = keys
	if !foundRoot {
		return nil, errNotFound("asset")
	}
	slices.SortFunc(keys, compareNodeKeys)
	out.Nodes = make([]domain.LineageNode, len(keys))
	for i, k := range keys {
		dir := domain.Upstream
		if k.down {
			dir = domain.Downstream
		}
		out.Nodes[i] = domain.LineageNode{Asset: w.assets[k.asset], Depth: int(k.depth), Direction: dir}
	}

	// The edges followed from the root or from a node in its reported
	// direction, both ends in the answer.
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
	ekeys := w.edgeKeys[:0]
	for i := range w.edges {
		end := w.ends[i]
		if (end.via&viaDown != 0 && from(end.up, domain.Downstream) && in(end.down)) ||
			(end.via&viaUp != 0 && from(end.down, domain.Upstream) && in(end.up)) {
			e := &w.edges[i]
			ekeys = append(ekeys, edgeKey{sec: e.CreatedAt.Unix(), nsec: int32(e.CreatedAt.Nanosecond()), edge: int32(i),
				hi: binary.BigEndian.Uint64(e.ID[:8]), lo: binary.BigEndian.Uint64(e.ID[8:])})
		}
	}
	w.edgeKeys = ekeys
	slices.SortFunc(ekeys, compareEdgeKeys)
	// A cycle can bring one edge to the walk from both of its ends (at
	// different levels); sorted, the copies are neighbours.
	ekeys = slices.CompactFunc(ekeys, func(a, b edgeKey) bool { return a.hi == b.hi && a.lo == b.lo })
	out.Edges = make([]domain.AssetDependency, len(ekeys))
	for i, k := range ekeys {
		out.Edges[i] = w.edges[k.edge]
	}
	return out, nil
}
