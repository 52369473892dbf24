package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

type createTenantRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type tenantEnvelope struct {
	Tenant TenantDTO `json:"tenant"`
}

type tenantList struct {
	Tenants []TenantDTO `json:"tenants"`
}

type createKeyRequest struct {
	Name string `json:"name"`
}

// createdKey is the only response that ever carries a key's secret.
type createdKey struct {
	Key      string    `json:"key"`
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	APIKey   APIKeyDTO `json:"api_key"`
}

type keyList struct {
	Keys []APIKeyDTO `json:"keys"`
}

func (a *api) createTenant(c echo.Context) error {
	var req createTenantRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	t, err := a.svc.CreateTenant(c.Request().Context(), domain.Tenant{ID: req.ID, Name: req.Name})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, tenantEnvelope{Tenant: tenantDTO(t)})
}

func (a *api) listTenants(c echo.Context) error {
	ts, err := a.svc.ListTenants(c.Request().Context())
	if err != nil {
		return err
	}
	out := tenantList{Tenants: make([]TenantDTO, len(ts))}
	for i := range ts {
		out.Tenants[i] = tenantDTO(&ts[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) createKey(c echo.Context) error {
	var req createKeyRequest
	if err := decodeJSON(c, &req, true); err != nil {
		return err
	}
	tenant, err := pathRef(c, "tenant")
	if err != nil {
		return err
	}
	secret, k, err := a.svc.CreateAPIKey(c.Request().Context(), service.CreateAPIKeyInput{TenantID: tenant, Name: req.Name})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, createdKey{Key: secret, ID: k.ID.String(), TenantID: k.TenantID, APIKey: apiKeyDTO(k)})
}

func (a *api) listKeys(c echo.Context) error {
	tenant, err := pathRef(c, "tenant")
	if err != nil {
		return err
	}
	ks, err := a.svc.ListAPIKeys(c.Request().Context(), tenant)
	if err != nil {
		return err
	}
	out := keyList{Keys: make([]APIKeyDTO, len(ks))}
	for i := range ks {
		out.Keys[i] = apiKeyDTO(&ks[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) revokeKey(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := a.svc.RevokeAPIKey(c.Request().Context(), id); err != nil {
		return err
	}
	return noContent(c)
}
