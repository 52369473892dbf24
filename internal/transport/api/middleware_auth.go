package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
)

// HeaderTenantID names the tenant a request means to act for. When sent,
// it must match the API key's tenant.
const HeaderTenantID = "X-Tenant-ID"

// Authenticator resolves an API key to the tenant it belongs to.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*domain.APIKey, error)
}

type principalKey struct{}

// Principal is who a request acts as.
type Principal struct {
	// Scope is the tenant or the system scope.
	Scope domain.Scope
	// KeyID identifies the API key; empty for the admin key.
	KeyID string
}

// PrincipalFrom returns the request's principal, if it was authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

var errUnauthenticated = &APIError{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "missing, unknown or revoked API key"}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate turns the request's API key into a scope in its context: the
// admin key (compared in constant time) acts in the system scope, any other
// key in its tenant's. A missing, malformed, unknown or revoked key is 401;
// an X-Tenant-ID other than the key's tenant is 403.
func authenticate(auth Authenticator, adminKey string) echo.MiddlewareFunc {
	var adminSum [32]byte
	if adminKey != "" {
		adminSum = sha256.Sum256([]byte(adminKey))
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			token, ok := bearer(req.Header.Get(echo.HeaderAuthorization))
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="servo"`)
				return errUnauthenticated
			}
			wantTenant := req.Header.Get(HeaderTenantID)
			var p Principal
			sum := sha256.Sum256([]byte(token))
			if adminKey != "" && subtle.ConstantTimeCompare(sum[:], adminSum[:]) == 1 {
				if wantTenant != "" {
					return &APIError{Status: http.StatusForbidden, Code: CodeForbidden, Message: "the admin key acts in the system scope and belongs to no tenant"}
				}
				p = Principal{Scope: domain.SystemScope()}
			} else {
				key, err := auth.Authenticate(req.Context(), token)
				if errors.Is(err, domain.ErrUnauthenticated) {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="servo"`)
					return errUnauthenticated
				}
				if err != nil {
					return err
				}
				if wantTenant != "" && wantTenant != key.TenantID {
					return &APIError{Status: http.StatusForbidden, Code: CodeForbidden, Message: "X-Tenant-ID does not match the API key's tenant"}
				}
				p = Principal{Scope: domain.TenantScope(key.TenantID), KeyID: key.ID.String()}
			}
			ctx := context.WithValue(domain.WithScope(req.Context(), p.Scope), principalKey{}, p)
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

// requireSystem lets only the admin key through.
func requireSystem(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, ok := PrincipalFrom(c.Request().Context())
		if !ok || !p.Scope.IsSystem() {
			return &APIError{Status: http.StatusForbidden, Code: CodeForbidden, Message: "requires the admin key"}
		}
		return next(c)
	}
}
