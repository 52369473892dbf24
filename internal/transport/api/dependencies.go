package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
)

type createDependencyRequest struct {
	Upstream       string `json:"upstream"`
	Downstream     string `json:"downstream"`
	DependencyType string `json:"dependency_type"`
	// PartitionMapping chooses which upstream partitions a downstream
	// partition reads (identity, all, last, time_offset).
	PartitionMapping *domain.PartitionMapping `json:"partition_mapping"`
}

type dependencyEnvelope struct {
	Dependency DependencyDTO `json:"dependency"`
}

type dependencyList struct {
	Dependencies []DependencyDTO `json:"dependencies"`
}

type assetDependencies struct {
	Upstream   []DependencyDTO `json:"upstream"`
	Downstream []DependencyDTO `json:"downstream"`
}

func (a *api) createDependency(c echo.Context) error {
	var req createDependencyRequest
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
	d, err := a.svc.CreateMappedDependency(ctx, up.ID, down.ID, domain.DependencyType(req.DependencyType), req.PartitionMapping)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, dependencyEnvelope{Dependency: dependencyDTO(d)})
}

func (a *api) getDependency(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := a.svc.GetDependency(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dependencyEnvelope{Dependency: dependencyDTO(d)})
}

func (a *api) deleteDependency(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.svc.DeleteDependency(c.Request().Context(), id); err != nil {
		return err
	}
	return noContent(c)
}

func (a *api) assetDependencies(c echo.Context) error {
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	up, down, err := a.svc.AssetDependencies(c.Request().Context(), asset.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assetDependencies{Upstream: dependencyDTOs(up), Downstream: dependencyDTOs(down)})
}

func (a *api) assetDependenciesIn(c echo.Context, dir domain.Direction) error {
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	ds, err := a.svc.AssetDependenciesIn(c.Request().Context(), asset.ID, dir)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dependencyList{Dependencies: dependencyDTOs(ds)})
}

func (a *api) assetUpstream(c echo.Context) error { return a.assetDependenciesIn(c, domain.Upstream) }

func (a *api) assetDownstream(c echo.Context) error {
	return a.assetDependenciesIn(c, domain.Downstream)
}

func (a *api) deleteAssetDependencies(c echo.Context) error {
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	if _, err := a.svc.DeleteAssetDependencies(c.Request().Context(), asset.ID); err != nil {
		return err
	}
	return noContent(c)
}

// LineageNodeDTO is one node of a lineage answer.
type LineageNodeDTO struct {
	Asset     AssetDTO `json:"asset"`
	Depth     int      `json:"depth"`
	Direction string   `json:"direction"`
}

type lineageResponse struct {
	Root      AssetDTO         `json:"root"`
	Nodes     []LineageNodeDTO `json:"nodes"`
	Edges     []DependencyDTO  `json:"edges"`
	Truncated bool             `json:"truncated"`
}

func (a *api) lineage(c echo.Context) error {
	format, err := lineageFormat(c)
	if err != nil {
		return err
	}
	depth, err := queryInt(c, "depth", domain.DefaultLineageDepth, 1, domain.MaxLineageDepth)
	if err != nil {
		return err
	}
	q := domain.LineageQuery{Direction: domain.Direction(c.QueryParam("direction")), MaxDepth: depth}
	if q.Direction == "" {
		q.Direction = domain.Both
	}
	if !q.Direction.Valid() {
		return badRequest("query parameter \"direction\" must be upstream, downstream or both", map[string]any{"direction": "unknown direction"})
	}
	if raw := c.QueryParam("types"); raw != "" {
		for _, t := range strings.Split(raw, ",") {
			dt := domain.DependencyType(strings.TrimSpace(t))
			if !dt.Valid() {
				return badRequest("query parameter \"types\" must list data, metadata or control", map[string]any{"types": "unknown type"})
			}
			q.Types = append(q.Types, dt)
		}
	}
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	q.Root = asset.ID
	l, err := a.svc.Lineage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	hideGlobalEnv(c.Request().Context(), &l.Root)
	for i := range l.Nodes {
		hideGlobalEnv(c.Request().Context(), &l.Nodes[i].Asset)
	}
	if format != lineageFormatJSON {
		return writeLineageText(c, format, l)
	}
	if _, pretty := c.QueryParams()["pretty"]; !pretty && !c.Echo().Debug {
		return writeLineageJSON(c, l)
	}
	return c.JSON(http.StatusOK, lineageDTO(l))
}

// lineageDTO is l on the wire; writeLineageJSON writes the same bytes
// without building it.
func lineageDTO(l *domain.Lineage) lineageResponse {
	nodes := make([]LineageNodeDTO, len(l.Nodes))
	for i := range l.Nodes {
		nodes[i] = LineageNodeDTO{Asset: assetDTO(&l.Nodes[i].Asset), Depth: l.Nodes[i].Depth, Direction: string(l.Nodes[i].Direction)}
	}
	return lineageResponse{Root: assetDTO(&l.Root), Nodes: nodes, Edges: dependencyDTOs(l.Edges), Truncated: l.Truncated}
}
