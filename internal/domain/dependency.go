package domain

import (
	"time"

	"github.com/google/uuid"
)

// DependencyType says what flows along an edge.
type DependencyType string

// Dependency types.
const (
	DependencyData     DependencyType = "data"
	DependencyMetadata DependencyType = "metadata"
	DependencyControl  DependencyType = "control"
)

// DependencyTypes lists every dependency type.
var DependencyTypes = []DependencyType{DependencyData, DependencyMetadata, DependencyControl}

// Valid reports whether t is a known dependency type.
func (t DependencyType) Valid() bool {
	switch t {
	case DependencyData, DependencyMetadata, DependencyControl:
		return true
	}
	return false
}

// AssetDependency is a directed edge: the downstream asset depends on the
// upstream one. Both ends belong to the edge's tenant, and the graph of a
// tenant's edges stays acyclic.
type AssetDependency struct {
	ID                uuid.UUID      `json:"id"`
	TenantID          string         `json:"tenant_id"`
	UpstreamAssetID   uuid.UUID      `json:"upstream_asset_id"`
	DownstreamAssetID uuid.UUID      `json:"downstream_asset_id"`
	DependencyType    DependencyType `json:"dependency_type"`
	// PartitionMapping chooses which upstream partitions a downstream
	// partition reads; nil is the default mapping.
	PartitionMapping *PartitionMapping `json:"partition_mapping"`
	CreatedAt        time.Time         `json:"created_at"`
}

// Validate checks an edge before it is stored.
func (d *AssetDependency) Validate() error {
	var v Validator
	v.Check(d.UpstreamAssetID != uuid.Nil, "upstream", "is required")
	v.Check(d.DownstreamAssetID != uuid.Nil, "downstream", "is required")
	v.Check(d.UpstreamAssetID != d.DownstreamAssetID || d.UpstreamAssetID == uuid.Nil, "downstream", "an asset cannot depend on itself")
	v.Check(d.DependencyType.Valid(), "dependency_type", "must be one of data, metadata, control")
	return v.Err()
}

// Direction selects which way a lineage walk goes.
type Direction string

// Lineage directions.
const (
	Upstream   Direction = "upstream"
	Downstream Direction = "downstream"
	Both       Direction = "both"
)

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool {
	return d == Upstream || d == Downstream || d == Both
}

// Lineage limits.
const (
	DefaultLineageDepth = 5
	MaxLineageDepth     = 50
	MaxLineageNodes     = 10000
)

// LineageQuery asks for the ancestors and/or descendants of one asset.
type LineageQuery struct {
	Root      uuid.UUID
	Direction Direction
	// MaxDepth is the number of hops to walk; 0 means DefaultLineageDepth.
	MaxDepth int
	// Types restricts the walk to edges of these types; empty means all.
	Types []DependencyType
}

// LineageNode is one asset reached by a lineage walk, with its shortest
// distance from the root and the direction it was reached in.
type LineageNode struct {
	Asset     Asset     `json:"asset"`
	Depth     int       `json:"depth"`
	Direction Direction `json:"direction"`
}

// Lineage is the answer to a LineageQuery: the root, the reached nodes in
// order of depth, the edges among root and nodes that the walk followed,
// and whether the node cap cut the walk short.
type Lineage struct {
	Root      Asset             `json:"root"`
	Nodes     []LineageNode     `json:"nodes"`
	Edges     []AssetDependency `json:"edges"`
	Truncated bool              `json:"truncated"`
}
