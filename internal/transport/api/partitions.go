package api

import (
	"encoding/base64"
	"net/http"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// PartitionDTO is one partition of an asset with its latest run.
type PartitionDTO struct {
	PartitionKey       string     `json:"partition_key"`
	Status             string     `json:"status"`
	LastRunID          *uuid.UUID `json:"last_run_id"`
	LastMaterializedAt *Time      `json:"last_materialized_at"`
}

type partitionList struct {
	Partitions []PartitionDTO `json:"partitions"`
	// NextCursor continues the listing; null on the last page.
	NextCursor *string `json:"next_cursor"`
}

type partitionKeysRequest struct {
	Keys []string `json:"keys"`
}

type partitionKeysResponse struct {
	Keys []string `json:"keys"`
}

// keyCursor reads a partition listing's cursor: the last key of the
// previous page, base64url-encoded.
func keyCursor(c echo.Context) (string, error) {
	raw, ok := c.QueryParams()["cursor"]
	if !ok {
		return "", nil
	}
	bad := badRequest("query parameter \"cursor\" must be a next_cursor from a previous page", map[string]any{"cursor": "malformed"})
	if len(raw) != 1 || raw[0] == "" {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(raw[0])
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", bad
	}
	return string(b), nil
}

func (a *api) listPartitions(c echo.Context) error {
	after, err := keyCursor(c)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	parts, next, err := a.svc.ListPartitions(c.Request().Context(), asset, c.QueryParam("status"), after, limit)
	if err != nil {
		return err
	}
	out := partitionList{Partitions: make([]PartitionDTO, len(parts))}
	for i, p := range parts {
		out.Partitions[i] = PartitionDTO{PartitionKey: p.PartitionKey, Status: p.Status, LastRunID: p.LastRunID, LastMaterializedAt: TimePtrOf(p.LastMaterializedAt)}
	}
	if next != "" {
		s := base64.RawURLEncoding.EncodeToString([]byte(next))
		out.NextCursor = &s
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) addPartitionKeys(c echo.Context) error {
	var req partitionKeysRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := a.svc.AddPartitionKeys(ctx, asset.ID, req.Keys); err != nil {
		return err
	}
	keys, err := a.svc.PartitionKeys(ctx, asset.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, partitionKeysResponse{Keys: keys})
}

// deletePartitionKeys removes the keys of the body ({"keys": [...]}) or the
// one named by the query parameter key.
func (a *api) deletePartitionKeys(c echo.Context) error {
	var req partitionKeysRequest
	if err := decodeJSON(c, &req, true); err != nil {
		return err
	}
	if k := c.QueryParam("key"); k != "" {
		req.Keys = append(req.Keys, k)
	}
	if len(req.Keys) == 0 {
		return badRequest("name the keys to remove: a body {\"keys\": [...]} or ?key=", map[string]any{"keys": "is required"})
	}
	asset, err := a.resolveAsset(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	for _, k := range req.Keys {
		if err := a.svc.DeletePartitionKey(ctx, asset.ID, k); err != nil {
			return err
		}
	}
	return noContent(c)
}
