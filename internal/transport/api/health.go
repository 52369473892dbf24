package api

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
)

// Status values reported by the health endpoints.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
)

// StatusResponse is the body of /healthz and /readyz.
type StatusResponse struct {
	// Status is "ok" or "unavailable".
	Status string `json:"status"`
}

// HealthResponse is the body of /api/v1/health.
type HealthResponse struct {
	// Status is "ok" when the server can serve requests, else "unavailable".
	Status string `json:"status"`
	// Database is "ok" when the database answered in time, else
	// "unavailable".
	Database string `json:"database"`
	// Version is the server's version.
	Version string `json:"version"`
	// StepIsolation is how this process isolates command steps: bwrap,
	// user or none; empty (absent) when it runs none.
	StepIsolation string `json:"step_isolation,omitempty"`
}

// health serves the health endpoints.
type health struct {
	db       Pinger
	version  string
	timeout  time.Duration
	log      *zap.Logger
	draining *atomic.Bool
	// isolation is the step isolation reported on /api/v1/health.
	isolation string
}

// live answers while the process runs: GET /healthz.
func (h *health) live(c echo.Context) error {
	noStore(c)
	return c.JSON(http.StatusOK, StatusResponse{Status: StatusOK})
}

// ready answers 200 while the database answers and the server is not
// shutting down, 503 otherwise: GET /readyz.
func (h *health) ready(c echo.Context) error {
	noStore(c)
	if h.draining.Load() || h.ping(c) != nil {
		return c.JSON(http.StatusServiceUnavailable, StatusResponse{Status: StatusUnavailable})
	}
	return c.JSON(http.StatusOK, StatusResponse{Status: StatusOK})
}

// health reports the server's and the database's state and the version:
// GET /api/v1/health.
func (h *health) health(c echo.Context) error {
	noStore(c)
	body := HealthResponse{Status: StatusOK, Database: StatusOK, Version: h.version, StepIsolation: h.isolation}
	if err := h.ping(c); err != nil {
		body.Status, body.Database = StatusUnavailable, StatusUnavailable
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, body)
}

// ping asks the database to answer within the timeout. A Pinger that
// ignores its context still cannot hold the request longer than that.
func (h *health) ping(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), h.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.db.Ping(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		h.log.Warn("database ping failed",
			zap.Error(err),
			zap.String("request_id", RequestIDFromContext(c.Request().Context())))
	}
	return err
}

func noStore(c echo.Context) {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
}
