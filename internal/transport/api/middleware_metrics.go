package api

import (
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where the server serves its Prometheus metrics.
const MetricsPath = "/metrics"

// routeUnmatched is the route label of a request that no route handled.
const routeUnmatched = "unmatched"

// requestDurationBuckets spans a cached lookup (a millisecond) to the
// write timeout (a minute).
var requestDurationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// PoolStats reports the statistics of a database connection pool;
// *sql.DB and the repository's Store implement it.
type PoolStats interface {
	// Stats returns the pool's current statistics.
	Stats() sql.DBStats
}

// metrics holds a server's Prometheus registry and its HTTP metrics. Each
// server has its own registry, so that servers in one process (tests) do
// not collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// routes indexes the served routes, so that routeLabel can tell them
	// from Echo's catch-alls; it is rebuilt when a lookup misses.
	routes atomic.Pointer[routeSet]
}

// newMetrics builds the registry with the HTTP metrics, the Go runtime and
// process collectors, and, when pool is not nil, the pool's metrics.
func newMetrics(pool PoolStats) (*metrics, error) {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "servo_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "servo_http_request_duration_seconds",
			Help:    "How long HTTP requests took to answer, by route pattern and method.",
			Buckets: requestDurationBuckets,
		}, []string{"route", "method"}),
	}
	cs := []prometheus.Collector{
		m.requests,
		m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if pool != nil {
		cs = append(cs, newPoolCollector(pool))
	}
	for _, c := range cs {
		if err := m.registry.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics collector: %w", err)
		}
	}
	return m, nil
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		Registry:      m.registry,
		ErrorHandling: promhttp.ContinueOnError,
	}))
}

// middleware counts and times every request. It must run outside
// requestLogger, which turns a handler's error into the response, so that
// the status recorded is the one the client got.
func (m *metrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				// requestLogger answers errors itself; this is a safety net
				// should the order of the middleware ever change.
				c.Error(err)
			}
			route := m.routeLabel(c)
			method := methodLabel(c.Request().Method)
			m.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
			m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// routeLabel names the route pattern that handled the request, never the
// raw path, so that the label's values stay few. A request no route
// handled is "unmatched": one that matched no path at all, or that Echo's
// catch-all (a group's not-found route, which may still answer 401 from the
// group's middleware) or its method-not-allowed handler answered.
func (m *metrics) routeLabel(c echo.Context) string {
	path := c.Path()
	if path == "" {
		return routeUnmatched
	}
	key := c.Request().Method + " " + path
	if m.routes.Load().has(key) {
		return path
	}
	// A miss: either no route handled the request, or the route was
	// registered after the index was built.
	if m.indexRoutes(c.Echo()).has(key) {
		return path
	}
	return routeUnmatched
}

// routeSet holds "METHOD /pattern" for every route a handler serves.
type routeSet map[string]struct{}

func (s *routeSet) has(key string) bool {
	if s == nil {
		return false
	}
	_, ok := (*s)[key]
	return ok
}

// indexRoutes rebuilds the set of served routes from the router, leaving
// out Echo's not-found catch-alls.
func (m *metrics) indexRoutes(e *echo.Echo) *routeSet {
	rs := e.Routes()
	set := make(routeSet, len(rs))
	for _, r := range rs {
		if r.Method != echo.RouteNotFound {
			set[r.Method+" "+r.Path] = struct{}{}
		}
	}
	m.routes.Store(&set)
	return &set
}

// methodLabel passes the standard HTTP methods and folds any other into
// "other", so that clients cannot grow the label's values.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// poolCollector reads a connection pool's statistics at scrape time.
type poolCollector struct {
	pool                             PoolStats
	maxOpen, open, inUse, idle       *prometheus.Desc
	waitCount, waitDuration          *prometheus.Desc
	maxIdleClosed, maxIdleTimeClosed *prometheus.Desc
	maxLifetimeClosed                *prometheus.Desc
}

func newPoolCollector(pool PoolStats) *poolCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &poolCollector{
		pool:              pool,
		maxOpen:           d("servo_db_max_open_connections", "The most connections the pool may open; 0 means no limit."),
		open:              d("servo_db_open_connections", "Connections open, in use or idle."),
		inUse:             d("servo_db_in_use_connections", "Connections in use."),
		idle:              d("servo_db_idle_connections", "Idle connections."),
		waitCount:         d("servo_db_wait_count_total", "Times a caller waited for a connection."),
		waitDuration:      d("servo_db_wait_duration_seconds_total", "Total time callers waited for a connection."),
		maxIdleClosed:     d("servo_db_max_idle_closed_total", "Connections closed because the pool had too many idle ones."),
		maxIdleTimeClosed: d("servo_db_max_idle_time_closed_total", "Connections closed because they were idle too long."),
		maxLifetimeClosed: d("servo_db_max_lifetime_closed_total", "Connections closed because they reached their maximum lifetime."),
	}
}

// Describe implements prometheus.Collector.
func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.maxOpen, p.open, p.inUse, p.idle, p.waitCount, p.waitDuration, p.maxIdleClosed, p.maxIdleTimeClosed, p.maxLifetimeClosed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(p.maxOpen, float64(s.MaxOpenConnections))
	gauge(p.open, float64(s.OpenConnections))
	gauge(p.inUse, float64(s.InUse))
	gauge(p.idle, float64(s.Idle))
	counter(p.waitCount, float64(s.WaitCount))
	counter(p.waitDuration, s.WaitDuration.Seconds())
	counter(p.maxIdleClosed, float64(s.MaxIdleClosed))
	counter(p.maxIdleTimeClosed, float64(s.MaxIdleTimeClosed))
	counter(p.maxLifetimeClosed, float64(s.MaxLifetimeClosed))
}
