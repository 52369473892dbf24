package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
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
}

type assetEnvelope struct {
	Asset AssetDTO `json:"asset"`
}

type assetList struct {
	Assets []AssetDTO `json:"assets"`
	Total  int64      `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
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
	list, err := a.svc.ListAssets(c.Request().Context(), f, p)
	if err != nil {
		return err
	}
	for i := range list.Items {
		hideGlobalEnv(c.Request().Context(), &list.Items[i])
	}
	return c.JSON(http.StatusOK, assetList{Assets: assetDTOs(list.Items), Total: list.Total, Limit: list.Limit, Offset: list.Offset, NextCursor: nextCursor(list.NextCursor)})
}

func (a *api) createAsset(c echo.Context) error {
	var req createAssetRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	asset, err := a.svc.CreateAsset(c.Request().Context(), service.CreateAssetInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, assetEnvelope{Asset: assetDTO(asset)})
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
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, assetETag(asset))
	hideGlobalEnv(c.Request().Context(), asset)
	return c.JSON(http.StatusOK, assetEnvelope{Asset: assetDTO(asset)})
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
	updated, err := a.svc.UpdateAssetIf(c.Request().Context(), asset.ID, patch, precondition(c, assetETag))
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, assetETag(updated))
	return c.JSON(http.StatusOK, assetEnvelope{Asset: assetDTO(updated)})
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
