// Package api owns Servo's HTTP API: the Echo router with its middleware
// (request ids, request logging, panic recovery, error bodies that never
// show internals, limits), the health endpoints, the /api/v1 handlers, and
// an http.Server with timeouts that shuts down gracefully. The web console
// (package console) is mounted on the same router by the caller.
package api

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/config/defaults"
)

// Pinger reports whether a dependency, such as the database, answers.
type Pinger interface {
	// Ping returns nil when the dependency answers before ctx ends.
	Ping(ctx context.Context) error
}

// Config tunes the server. Zero durations take the defaults named on each
// field.
type Config struct {
	// Addr is the host:port to listen on.
	Addr string
	// ShutdownTimeout bounds how long shutdown drains in-flight requests
	// before it cuts them off; default 15s.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers; default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request; default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, counted from the end of the
	// request headers; default 60s.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long; default 120s.
	IdleTimeout time.Duration
	// PingTimeout bounds the database check of the readiness and health
	// endpoints; default 2s.
	PingTimeout time.Duration
	// RequestTimeout bounds every /api/v1 request, its wait for a pooled
	// database connection included; a request that runs out of time is 503
	// unavailable. Default 15s.
	RequestTimeout time.Duration
	// RateLimit is how many /api/v1 requests per second one tenant may
	// make to this process; 0 (the default) sets no limit.
	RateLimit float64
	// RateBurst is how many requests a tenant may make at once above
	// RateLimit; 0 means twice RateLimit.
	RateBurst int
	// TenantInflight is how many requests one tenant may have in flight
	// at once on the expensive routes (lineage walks, OpenLineage
	// ingestion and raw events); one more is 429. Default 2.
	TenantInflight int
	// DecodeBudget is how many request-body bytes the OpenLineage routes
	// may hold and decode at once, server-wide; a larger body takes all of
	// it. Default DefaultDecodeBudget.
	DecodeBudget int64
	// DecodeWait bounds a request's wait for room in DecodeBudget before
	// it is 429; default half of RequestTimeout.
	DecodeWait time.Duration
	// TenantIngestShare is the percentage of the wall-clock time one
	// tenant's OpenLineage ingestion requests may take, summed and
	// averaged (200: two requests at all times); a tenant past it gets 429
	// until it is back within it. 0 (the default here; servo serve sets
	// http.tenant_ingest_share) sets no budget.
	TenantIngestShare float64
}

// DefaultDecodeBudget is the default Config.DecodeBudget.
const DefaultDecodeBudget = defaults.DecodeBudget

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.ShutdownTimeout, defaults.ShutdownTimeout)
	set(&c.ReadHeaderTimeout, 5*time.Second)
	set(&c.ReadTimeout, 30*time.Second)
	set(&c.WriteTimeout, 60*time.Second)
	set(&c.IdleTimeout, 120*time.Second)
	set(&c.PingTimeout, 2*time.Second)
	set(&c.RequestTimeout, defaults.RequestTimeout)
	set(&c.DecodeWait, c.RequestTimeout/2)
	if c.TenantInflight <= 0 {
		c.TenantInflight = defaults.TenantInflight
	}
	if c.DecodeBudget <= 0 {
		c.DecodeBudget = DefaultDecodeBudget
	}
}

// Deps are what the server's handlers need.
type Deps struct {
	// DB is pinged by the readiness and health endpoints; required.
	DB Pinger
	// Log receives request and server logs; nil discards them.
	Log *zap.Logger
	// Version is reported by the health endpoint.
	Version string
	// Pool, when set, is the database connection pool whose statistics
	// /metrics reports; nil reports none.
	Pool PoolStats
	// StepIsolation is how this process isolates command steps (bwrap,
	// user, none), reported by the health endpoint; empty when it runs none.
	StepIsolation string
}

// Server is Servo's HTTP server. Register further routes on Echo() before
// calling Serve or ListenAndServe.
type Server struct {
	cfg      Config
	log      *zap.Logger
	echo     *echo.Echo
	http     *http.Server
	draining atomic.Bool
	metrics  *metrics
}

// New builds the server with its unauthenticated routes: the health
// endpoints, /metrics and the OpenAPI document. It fails when deps.DB is
// nil.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.DB == nil {
		return nil, errors.New("api: a database Pinger is required")
	}
	cfg.defaults()
	lg := deps.Log
	if lg == nil {
		lg = zap.NewNop()
	}
	lg = lg.Named("http")

	m, err := newMetrics(deps.Pool)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(lg)
	// The metrics middleware wraps requestLogger, which turns errors into
	// responses, so that it records the status the client got.
	e.Use(securityHeaders(), requestID(), m.middleware(), requestLogger(lg), recoverer(lg))

	s := &Server{cfg: cfg, log: lg, echo: e, metrics: m}
	h := &health{db: deps.DB, version: deps.Version, timeout: cfg.PingTimeout, log: lg, draining: &s.draining, isolation: deps.StepIsolation}
	e.GET("/healthz", h.live)
	e.GET("/readyz", h.ready)
	e.GET("/api/v1/health", h.health)
	e.GET(MetricsPath, m.handler())
	e.GET(OpenAPIPath, serveOpenAPI)

	errLog, err := zap.NewStdLogAt(lg, zap.WarnLevel)
	if err != nil {
		errLog = log.New(log.Writer(), "http: ", log.LstdFlags)
	}
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          errLog,
	}
	return s, nil
}

// Echo returns the router, for registering further routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Metrics returns the server's own Prometheus registry, for registering
// further collectors that /metrics then serves.
func (s *Server) Metrics() prometheus.Registerer { return s.metrics.registry }

// Handler returns the server's root handler, for tests.
func (s *Server) Handler() http.Handler { return s.echo }

// ListenAndServe listens on the configured address and serves until ctx
// ends, then shuts down gracefully (see Serve).
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections, reports not ready, and waits up to the shutdown
// timeout for in-flight requests before closing the connections left. It
// returns nil after a clean drain, and an error when serving failed or the
// drain timed out. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	s.log.Info("listening", zap.String("addr", ln.Addr().String()))

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	s.draining.Store(true)
	s.log.Info("shutting down", zap.Duration("timeout", s.cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	var shutdownErr error
	if err := s.http.Shutdown(sctx); err != nil {
		// The drain timed out: cut the requests still running.
		_ = s.http.Close()
		shutdownErr = fmt.Errorf("graceful shutdown: requests still running after %s: %w", s.cfg.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		shutdownErr = errors.Join(shutdownErr, fmt.Errorf("http server: %w", err))
	}
	if shutdownErr == nil {
		s.log.Info("stopped")
	}
	return shutdownErr
}
