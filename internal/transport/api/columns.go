package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
)

// mountColumns registers dataset versions, column lineage and manual
// column edges.
func (a *api) mountColumns(g *echo.Group, heavy echo.MiddlewareFunc) {
	g.GET("/assets/:asset/versions", a.assetVersions)
	g.GET("/assets/:asset/versions/:version", a.assetVersion)
	g.GET("/assets/:asset/columns/:column/lineage", a.columnLineage, heavy)
	g.POST("/column-dependencies", a.createColumnDependency)
	g.GET("/column-dependencies/:id", a.getColumnDependency)
	g.DELETE("/column-dependencies/:id", a.deleteColumnDependency)
}

// FieldDTO is one field of a dataset version.
type FieldDTO struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

// AssetVersionDTO is one dataset version: its fields and the run that
// produced it.
type AssetVersionDTO struct {
	AssetID   uuid.UUID  `json:"asset_id"`
	Version   int        `json:"version"`
	Fields    []FieldDTO `json:"fields"`
	RunID     *uuid.UUID `json:"run_id"`
	CreatedAt time.Time  `json:"created_at"`
}

// ColumnEdgeDTO is one column edge.
type ColumnEdgeDTO struct {
	ID                    uuid.UUID `json:"id"`
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

// ColumnNodeDTO is one column of a column lineage answer.
type ColumnNodeDTO struct {
	AssetID   uuid.UUID `json:"asset_id"`
	AssetName string    `json:"asset_name"`
	Column    string    `json:"column"`
	Depth     int       `json:"depth"`
	Direction string    `json:"direction"`
}

// ColumnLineageDTO answers GET /assets/{asset}/columns/{column}/lineage.
type ColumnLineageDTO struct {
	Root      ColumnNodeDTO   `json:"root"`
	Nodes     []ColumnNodeDTO `json:"nodes"`
	Edges     []ColumnEdgeDTO `json:"edges"`
	Truncated bool            `json:"truncated"`
}

type assetVersionsDTO struct {
	Versions []AssetVersionDTO `json:"versions"`
}

type assetVersionEnvelope struct {
	Version AssetVersionDTO `json:"version"`
}

type columnEdgeEnvelope struct {
	ColumnDependency ColumnEdgeDTO `json:"column_dependency"`
}

type createColumnDependencyRequest struct {
	Upstream              string `json:"upstream"`
	UpstreamColumn        string `json:"upstream_column"`
	Downstream            string `json:"downstream"`
	DownstreamColumn      string `json:"downstream_column"`
	TransformationType    string `json:"transformation_type"`
	TransformationSubtype string `json:"transformation_subtype"`
	Description           string `json:"description"`
	Masking               bool   `json:"masking"`
}

func assetVersionDTO(v *domain.AssetVersion) AssetVersionDTO {
	fields := make([]FieldDTO, len(v.Fields))
	for i, f := range v.Fields {
		fields[i] = FieldDTO(f)
	}
	return AssetVersionDTO{AssetID: v.AssetID, Version: v.Version, Fields: fields, RunID: v.RunID, CreatedAt: v.CreatedAt}
}

func columnEdgeDTO(e *domain.ColumnEdge) ColumnEdgeDTO {
	return ColumnEdgeDTO{
		ID: e.ID, UpstreamAssetID: e.UpstreamAssetID, UpstreamColumn: e.UpstreamColumn,
		DownstreamAssetID: e.DownstreamAssetID, DownstreamColumn: e.DownstreamColumn,
		TransformationType: e.TransformationType, TransformationSubtype: e.TransformationSubtype,
		Description: e.Description, Masking: e.Masking, Source: e.Source, CreatedAt: e.CreatedAt,
	}
}

func (a *api) assetVersions(c echo.Context) error {
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	vs, err := a.svc.AssetVersions(c.Request().Context(), asset.ID)
	if err != nil {
		return err
	}
	out := assetVersionsDTO{Versions: make([]AssetVersionDTO, len(vs))}
	for i := range vs {
		out.Versions[i] = assetVersionDTO(&vs[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) assetVersion(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n < 1 {
		return badRequest("path parameter \"version\" must be a positive integer", map[string]any{"version": "not a positive integer"})
	}
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	v, err := a.svc.AssetVersion(c.Request().Context(), asset.ID, n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assetVersionEnvelope{Version: assetVersionDTO(v)})
}

func (a *api) columnLineage(c echo.Context) error {
	format, err := lineageFormat(c)
	if err != nil {
		return err
	}
	depth, err := queryInt(c, "depth", domain.DefaultLineageDepth, 1, domain.MaxLineageDepth)
	if err != nil {
		return err
	}
	q := domain.ColumnLineageQuery{Direction: domain.Direction(c.QueryParam("direction")), MaxDepth: depth}
	if q.Direction == "" {
		q.Direction = domain.Both
	}
	if !q.Direction.Valid() {
		return badRequest("query parameter \"direction\" must be upstream, downstream or both", map[string]any{"direction": "unknown direction"})
	}
	if q.Column, err = pathRef(c, "column"); err != nil {
		return err
	}
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	q.Asset = asset.ID
	l, err := a.svc.ColumnLineage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if format != lineageFormatJSON {
		return writeLineageText(c, format, columnGraph(l))
	}
	out := ColumnLineageDTO{
		Root:      ColumnNodeDTO{AssetID: l.Root.AssetID, AssetName: l.Root.AssetName, Column: l.Root.Column},
		Nodes:     make([]ColumnNodeDTO, len(l.Nodes)),
		Edges:     make([]ColumnEdgeDTO, len(l.Edges)),
		Truncated: l.Truncated,
	}
	for i, n := range l.Nodes {
		out.Nodes[i] = ColumnNodeDTO{AssetID: n.AssetID, AssetName: n.AssetName, Column: n.Column, Depth: n.Depth, Direction: string(n.Direction)}
	}
	for i := range l.Edges {
		out.Edges[i] = columnEdgeDTO(&l.Edges[i])
	}
	return c.JSON(http.StatusOK, out)
}

// columnNodeID names a column as a node of the text renderers' graph.
func columnNodeID(asset uuid.UUID, column string) uuid.UUID {
	return uuid.NewSHA1(asset, []byte(column))
}

// columnGraph presents a column lineage as an asset lineage for the DOT
// and Mermaid renderers: a node per column, labelled "asset.column", and
// an edge per column edge, labelled with its transformation.
func columnGraph(l *domain.ColumnLineage) *domain.Lineage {
	node := func(r domain.ColumnRef) domain.Asset {
		return domain.Asset{ID: columnNodeID(r.AssetID, r.Column), Name: r.AssetName + "." + r.Column, AssetType: "column"}
	}
	out := &domain.Lineage{Root: node(l.Root), Nodes: make([]domain.LineageNode, len(l.Nodes)), Edges: make([]domain.AssetDependency, len(l.Edges))}
	for i, n := range l.Nodes {
		out.Nodes[i] = domain.LineageNode{Asset: node(n.ColumnRef), Depth: n.Depth, Direction: n.Direction}
	}
	for i, e := range l.Edges {
		label := e.TransformationType
		if e.TransformationSubtype != "" {
			label += "/" + e.TransformationSubtype
		}
		out.Edges[i] = domain.AssetDependency{
			ID: e.ID, UpstreamAssetID: columnNodeID(e.UpstreamAssetID, e.UpstreamColumn),
			DownstreamAssetID: columnNodeID(e.DownstreamAssetID, e.DownstreamColumn),
			DependencyType:    domain.DependencyType(label), CreatedAt: e.CreatedAt,
		}
	}
	return out
}

func (a *api) createColumnDependency(c echo.Context) error {
	var req createColumnDependencyRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	var v domain.Validator
	v.Check(req.Upstream != "", "upstream", "is required")
	v.Check(req.Downstream != "", "downstream", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	up, err := a.svc.ResolveAsset(ctx, req.Upstream)
	if err != nil {
		return err
	}
	down, err := a.svc.ResolveAsset(ctx, req.Downstream)
	if err != nil {
		return err
	}
	e, err := a.svc.CreateColumnDependency(ctx, domain.ColumnEdge{
		UpstreamAssetID: up.ID, UpstreamColumn: req.UpstreamColumn, DownstreamAssetID: down.ID, DownstreamColumn: req.DownstreamColumn,
		TransformationType: req.TransformationType, TransformationSubtype: req.TransformationSubtype,
		Description: req.Description, Masking: req.Masking,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, columnEdgeEnvelope{ColumnDependency: columnEdgeDTO(e)})
}

func (a *api) getColumnDependency(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	e, err := a.svc.GetColumnDependency(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, columnEdgeEnvelope{ColumnDependency: columnEdgeDTO(e)})
}

func (a *api) deleteColumnDependency(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.svc.DeleteColumnDependency(c.Request().Context(), id); err != nil {
		return err
	}
	return noContent(c)
}
