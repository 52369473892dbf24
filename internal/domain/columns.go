package domain

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Field is one field (column) of a dataset's schema.
type Field struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

// AssetVersion is one distinct schema an asset was seen with, numbered from
// 1 in order of first sight, with the run that produced it (nil for a
// schema read from an input, or once that run is deleted).
type AssetVersion struct {
	ID         uuid.UUID  `json:"id"`
	TenantID   string     `json:"tenant_id"`
	AssetID    uuid.UUID  `json:"asset_id"`
	Version    int        `json:"version"`
	Fields     []Field    `json:"fields"`
	FieldsHash string     `json:"-"`
	RunID      *uuid.UUID `json:"run_id"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Column edge sources.
const (
	ColumnSourceOpenLineage = "openlineage"
	ColumnSourceManual      = "manual"
)

// Limits on column names and edges.
const (
	MaxColumnLen            = 255
	MaxTransformationLen    = 50
	MaxColumnDescriptionLen = 1000
	// MaxColumnNodes caps the nodes of one column lineage answer.
	MaxColumnNodes = 5000
)

// ColumnEdge says that a downstream column is computed from an upstream
// one, with the transformation: a type (DIRECT, INDIRECT) and a subtype
// (IDENTITY, TRANSFORMATION, AGGREGATION, FILTER, JOIN, ...), as
// OpenLineage's columnLineage facet names them; empty for a manual edge
// that says none.
type ColumnEdge struct {
	ID                    uuid.UUID `json:"id"`
	TenantID              string    `json:"tenant_id"`
	UpstreamAssetID       uuid.UUID `json:"upstream_asset_id"`
	UpstreamColumn        string    `json:"upstream_column"`
	DownstreamAssetID     uuid.UUID `json:"downstream_asset_id"`
	DownstreamColumn      string    `json:"downstream_column"`
	TransformationType    string    `json:"transformation_type"`
	TransformationSubtype string    `json:"transformation_subtype"`
	Description           string    `json:"description"`
	Masking               bool      `json:"masking"`
	Source                string    `json:"source"`
	CreatedAt             time.Time `json:"created_at"`
}

// Validate checks a column edge's fields.
func (e *ColumnEdge) Validate() error {
	var v Validator
	col := func(field, s string) {
		n := utf8.RuneCountInString(s)
		v.Check(n >= 1 && n <= MaxColumnLen, field, "must be 1 to %d characters", MaxColumnLen)
	}
	col("upstream_column", e.UpstreamColumn)
	col("downstream_column", e.DownstreamColumn)
	v.Check(utf8.RuneCountInString(e.TransformationType) <= MaxTransformationLen, "transformation_type", "must be at most %d characters", MaxTransformationLen)
	v.Check(utf8.RuneCountInString(e.TransformationSubtype) <= MaxTransformationLen, "transformation_subtype", "must be at most %d characters", MaxTransformationLen)
	v.Check(utf8.RuneCountInString(e.Description) <= MaxColumnDescriptionLen, "description", "must be at most %d characters", MaxColumnDescriptionLen)
	v.Check(e.UpstreamAssetID != e.DownstreamAssetID || e.UpstreamColumn != e.DownstreamColumn, "downstream_column", "a column cannot feed itself")
	v.Check(e.Source == ColumnSourceOpenLineage || e.Source == ColumnSourceManual, "source", "must be openlineage or manual")
	return v.Err()
}

// ColumnRef names one column of one asset.
type ColumnRef struct {
	AssetID   uuid.UUID `json:"asset_id"`
	AssetName string    `json:"asset_name"`
	Column    string    `json:"column"`
}

// ColumnNode is a column reached by a column lineage walk, with its
// shortest distance from the root and the direction it was reached in.
type ColumnNode struct {
	ColumnRef
	Depth     int       `json:"depth"`
	Direction Direction `json:"direction"`
}

// ColumnLineageQuery asks for the columns upstream and/or downstream of
// one column.
type ColumnLineageQuery struct {
	Asset     uuid.UUID
	Column    string
	Direction Direction
	// MaxDepth is the number of hops to walk; 0 means DefaultLineageDepth.
	MaxDepth int
}

// ColumnLineage answers a ColumnLineageQuery: the root column, the columns
// reached, and the edges among them the walk followed.
type ColumnLineage struct {
	Root      ColumnRef    `json:"root"`
	Nodes     []ColumnNode `json:"nodes"`
	Edges     []ColumnEdge `json:"edges"`
	Truncated bool         `json:"truncated"`
}

// ColumnRepository stores the dataset versions and column edges of the
// scope's tenant.
type ColumnRepository interface {
	// AssetVersionRecord returns the asset's version with fieldsHash,
	// creating it as the next version (with fields and the producing run)
	// when the asset has none with that hash.
	AssetVersionRecord(ctx context.Context, v *AssetVersion) (created bool, err error)
	// AssetVersionList lists an asset's versions, newest first.
	AssetVersionList(ctx context.Context, assetID uuid.UUID) ([]AssetVersion, error)
	// AssetVersionGet returns one version of an asset.
	AssetVersionGet(ctx context.Context, assetID uuid.UUID, version int) (*AssetVersion, error)
	// ColumnEdgeCreate stores e; an edge that exists already (same ends
	// and transformation) is ErrConflict.
	ColumnEdgeCreate(ctx context.Context, e *ColumnEdge) error
	// ColumnEdgeFind returns the edge with e's ends and transformation.
	ColumnEdgeFind(ctx context.Context, e *ColumnEdge) (*ColumnEdge, error)
	ColumnEdgeGet(ctx context.Context, id uuid.UUID) (*ColumnEdge, error)
	ColumnEdgeDelete(ctx context.Context, id uuid.UUID) error
	// ColumnHasEdges reports whether any edge starts or ends at the column.
	ColumnHasEdges(ctx context.Context, assetID uuid.UUID, column string) (bool, error)
	// ColumnLineageWalk answers q in one statement, at most maxNodes
	// nodes.
	ColumnLineageWalk(ctx context.Context, q ColumnLineageQuery, maxNodes int) (*ColumnLineage, error)
}
