package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/freshness"
)

type createAssetRequest struct {
	Name        string                `json:"name"`
	Description string                `json:"description"`
	AssetType   string                `json:"asset_type"`
	Owner       string                `json:"owner"`
	Tags        []string              `json:"tags"`
	Global      bool                  `json:"global"`
	Compute     *domain.ComputeSpec   `json:"compute"`
	Partitions  *domain.PartitionsDef `json:"partitions"`
	// Freshness sets the asset's freshness policy.
	Freshness *domain.FreshnessPolicy `json:"freshness"`
}

type patchAssetRequest struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	AssetType   *string   `json:"asset_type"`
	Owner       *string   `json:"owner"`
	Tags        *[]string `json:"tags"`
	// Compute is kept raw so that null (remove the spec) differs from absent.
	Compute json.RawMessage `json:"compute"`
	// Partitions is kept raw for the same reason.
	Partitions json.RawMessage `json:"partitions"`
	// Freshness is kept raw too: null removes the policy.
	Freshness json.RawMessage `json:"freshness"`
}

type assetEnvelope struct {
	Asset CatalogAssetDTO `json:"asset"`
}

type catalogAssetList = assetList

type assetList struct {
	Assets []CatalogAssetDTO `json:"assets"`
	Total  int64             `json:"total"`
	// TotalIsEstimate is true when total is an estimate: the listing runs
	// on more than 1,000 rows past the offset and count=exact was not asked.
	TotalIsEstimate bool `json:"total_is_estimate"`
	Limit           int  `json:"limit"`
	Offset          int  `json:"offset"`
	// NextCursor continues the listing; null on the last page.
	NextCursor *string `json:"next_cursor"`
}

func (a *api) listAssets(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	var f domain.AssetFilter
	for _, q := range []struct {
		name string
		max  int
		dst  *string
	}{
		{"asset_type", domain.MaxTypeLen, &f.AssetType},
		{"owner", domain.MaxOwnerLen, &f.Owner},
		{"tag", domain.MaxTagLen, &f.Tag},
		{"q", domain.MaxNameLen, &f.NamePrefix},
	} {
		if *q.dst, err = queryText(c, q.name, q.max); err != nil {
			return err
		}
	}
	switch c.QueryParam("stale") {
	case "", "false":
	case "true":
		if f != (domain.AssetFilter{}) || p.Cursor != nil {
			return badRequest("stale=true cannot be combined with other filters or a cursor", map[string]any{"stale": "use alone, with limit and offset"})
		}
		return a.listStaleAssets(c, p)
	default:
		return badRequest("query parameter \"stale\" must be true or false", map[string]any{"stale": "must be true or false"})
	}
	ctx := c.Request().Context()
	var (
		list domain.List[domain.Asset]
		fs   map[uuid.UUID]domain.AssetFreshness
	)
	if a.fresh != nil && freshnessShown(ctx) {
		list, fs, err = a.fresh.ListAssets(ctx, f, p)
	} else {
		list, err = a.svc.ListAssets(ctx, f, p)
	}
	if err != nil {
		return err
	}
	return a.writeAssetList(c, list, fs)
}

func (a *api) createAsset(c echo.Context) error {
	var req createAssetRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if err := a.checkFreshness(req.Freshness, req.Global); err != nil {
		return err
	}
	ctx := c.Request().Context()
	asset, err := a.svc.CreateAsset(ctx, service.CreateAssetInput{
		Name: req.Name, Description: req.Description, AssetType: req.AssetType, Owner: req.Owner,
		Tags: req.Tags, Global: req.Global, Compute: req.Compute, Partitions: req.Partitions,
	})
	if err != nil {
		return err
	}
	if req.Freshness != nil {
		if _, err := a.fresh.SetPolicy(ctx, asset.ID, req.Freshness); err != nil {
			return err
		}
	}
	dto, err := a.catalogAsset(c, asset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, assetEnvelope{Asset: dto})
}

// resolveAsset reads the {asset} path parameter, a UUID or a name.
func (a *api) resolveAsset(c echo.Context) (*domain.Asset, error) {
	ref, err := pathRef(c, "asset")
	if err != nil {
		return nil, err
	}
	return a.svc.ResolveAsset(c.Request().Context(), ref)
}

func (a *api) getAsset(c echo.Context) error {
	asset, fs, err := a.readCatalogAsset(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, assetETag(asset))
	return a.writeAsset(c, http.StatusOK, asset, fs)
}

func (a *api) updateAsset(c echo.Context) error {
	var req patchAssetRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	patch := domain.AssetPatch{Name: req.Name, Description: req.Description, AssetType: req.AssetType, Owner: req.Owner, Tags: req.Tags}
	switch raw := bytes.TrimSpace(req.Compute); {
	case len(raw) == 0:
	case bytes.Equal(raw, []byte("null")):
		patch.ClearCompute = true
	default:
		var spec domain.ComputeSpec
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return jsonError(err)
		}
		patch.Compute = &spec
	}
	switch raw := bytes.TrimSpace(req.Partitions); {
	case len(raw) == 0:
	case bytes.Equal(raw, []byte("null")):
		patch.ClearPartitions = true
	default:
		var def domain.PartitionsDef
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&def); err != nil {
			return jsonError(err)
		}
		patch.Partitions = &def
	}
	var policy *domain.FreshnessPolicy
	setPolicy := len(bytes.TrimSpace(req.Freshness)) > 0
	if setPolicy && !bytes.Equal(bytes.TrimSpace(req.Freshness), []byte("null")) {
		policy = &domain.FreshnessPolicy{}
		dec := json.NewDecoder(bytes.NewReader(req.Freshness))
		dec.DisallowUnknownFields()
		if err := dec.Decode(policy); err != nil {
			return jsonError(err)
		}
	}
	if setPolicy {
		if err := a.checkFreshness(policy, asset.IsGlobal()); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	updated, err := a.svc.UpdateAssetIf(ctx, asset.ID, patch, precondition(c, assetETag))
	if err != nil {
		return err
	}
	if setPolicy {
		if _, err := a.fresh.SetPolicy(ctx, asset.ID, policy); err != nil {
			return err
		}
	}
	c.Response().Header().Set(headerETag, assetETag(updated))
	dto, err := a.catalogAsset(c, updated)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assetEnvelope{Asset: dto})
}

func (a *api) deleteAsset(c echo.Context) error {
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	if err := a.svc.DeleteAsset(c.Request().Context(), asset.ID); err != nil {
		return err
	}
	return noContent(c)
}

// checkFreshness validates a freshness policy before anything is written:
// it needs the freshness service, and global assets take none.
func (a *api) checkFreshness(p *domain.FreshnessPolicy, global bool) error {
	if p == nil {
		return nil
	}
	if a.fresh == nil {
		return featureOff("freshness policies")
	}
	if global {
		return domain.Invalid("freshness", "global assets carry no freshness policy")
	}
	return freshness.Validate(p)
}
