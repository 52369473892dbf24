package api

import (
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/automation"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/schedule"
)

// APIPrefix is where the JSON API lives.
const APIPrefix = "/api/v1"

// APIOptions configure the JSON API.
type APIOptions struct {
	// AdminKey, when set, is accepted as a bearer token acting in the system
	// scope: it manages tenants, keys and global rows.
	AdminKey string
	// OpenLineage ingests OpenLineage events (POST /lineage, /lineage/batch)
	// and serves a run's raw events; without it those routes answer 503.
	OpenLineage *openlineage.Ingester
	// Backfills serves /backfills; without it those routes answer 503.
	Backfills *backfill.Backfills
	// Schedules serves /schedules and inline workflow schedules; without
	// it those routes answer 503.
	Schedules *schedule.Service
	// Freshness adds freshness to asset answers, serves ?stale=true and
	// the servo_assets_stale gauge; without it assets carry no freshness.
	Freshness *freshness.Service
	// Automations serves /automations; without it those routes answer 503.
	Automations *automation.Service
}

// api holds the handlers of the JSON API. They stay thin: decode, call the
// service, encode.
type api struct {
	svc       *service.Service
	backfills *backfill.Backfills
	sched     *schedule.Service
	fresh     *freshness.Service
}

// MountAPI registers every /api/v1 route on the server.
func (s *Server) MountAPI(svc *service.Service, opts APIOptions) {
	a := &api{svc: svc, backfills: opts.Backfills, sched: opts.Schedules, fresh: opts.Freshness}
	if opts.Freshness != nil {
		if err := s.metrics.registry.Register(newStaleCollector(opts.Freshness, s.log)); err != nil {
			s.log.Warn("register the stale assets gauge", zap.Error(err))
		}
	}
	mw := []echo.MiddlewareFunc{requestDeadline(s.cfg.RequestTimeout), authenticate(svc, opts.AdminKey), cleanQuery}
	if s.cfg.RateLimit > 0 {
		mw = append(mw, rateLimit(newRateLimiter(s.cfg.RateLimit, s.cfg.RateBurst)))
	}
	g := s.echo.Group(APIPrefix, mw...)
	// The expensive routes: each tenant gets a bounded share of them, and
	// large bodies take turns (middleware_limits.go).
	heavy := tenantInflight(newTenantSlots(s.cfg.TenantInflight))
	bodies := bodyBudget(s.cfg.DecodeBudget, MaxLineageBodyBytes, s.cfg.DecodeWait)
	var ingestTime *ingestBudget
	if s.cfg.TenantIngestShare > 0 {
		ingestTime = newIngestBudget(s.cfg.TenantIngestShare / 100)
	}

	g.GET("/assets", a.listAssets)
	g.POST("/assets", a.createAsset)
	g.GET("/assets/:asset", a.getAsset)
	g.PATCH("/assets/:asset", a.updateAsset)
	g.DELETE("/assets/:asset", a.deleteAsset)
	g.GET("/assets/:asset/dependencies", a.assetDependencies)
	g.DELETE("/assets/:asset/dependencies", a.deleteAssetDependencies)
	g.GET("/assets/:asset/upstream", a.assetUpstream)
	g.GET("/assets/:asset/downstream", a.assetDownstream)
	g.GET("/assets/:asset/lineage", a.lineage, heavy)
	a.mountColumns(g, heavy)
	g.GET("/assets/:asset/partitions", a.listPartitions)
	g.POST("/assets/:asset/partition-keys", a.addPartitionKeys)
	g.DELETE("/assets/:asset/partition-keys", a.deletePartitionKeys)

	g.POST("/dependencies", a.createDependency)
	g.GET("/dependencies/:id", a.getDependency)
	g.DELETE("/dependencies/:id", a.deleteDependency)

	g.GET("/workflows", a.listWorkflows)
	g.POST("/workflows", a.createWorkflow)
	g.GET("/workflows/:workflow", a.getWorkflow)
	g.PATCH("/workflows/:workflow", a.updateWorkflow)
	g.DELETE("/workflows/:workflow", a.deleteWorkflow)
	g.GET("/workflows/:workflow/versions", a.workflowVersions)
	g.POST("/workflows/:workflow/trigger", a.triggerWorkflow)

	g.POST("/materialize", a.materialize)
	for _, prefix := range []string{"/runs", "/executions"} {
		g.GET(prefix, a.listRuns)
		g.GET(prefix+"/:id", a.getRun)
		g.POST(prefix+"/:id/cancel", a.cancelRun)
		g.DELETE(prefix+"/:id", a.deleteRun)
		g.GET(prefix+"/:id/events", a.runEvents)
		g.GET(prefix+"/:id/logs", a.runLogs)
	}
	g.GET("/workflow-runs/:id", a.getWorkflowRun)
	g.POST("/backfills", a.createBackfill)
	g.GET("/backfills", a.listBackfills)
	g.GET("/backfills/:id", a.getBackfill)
	g.GET("/backfills/:id/partitions", a.backfillPartitions)
	for _, act := range []backfill.Action{backfill.ActionPause, backfill.ActionResume, backfill.ActionCancel, backfill.ActionRetryFailed} {
		g.POST("/backfills/:id/"+string(act), a.backfillAction(act))
	}
	a.mountChecks(g, s.metrics.registry)
	a.mountOpenLineage(g, opts.OpenLineage, s.log, heavy, bodies, ingestLimit(ingestTime))
	a.mountSchedules(g, opts.Schedules)
	a.mountAutomations(g, opts.Automations)

	g.GET("/tenants", a.listTenants, requireSystem)
	g.POST("/tenants", a.createTenant, requireSystem)
	g.GET("/tenants/:tenant/keys", a.listKeys, requireSystem)
	g.POST("/tenants/:tenant/keys", a.createKey, requireSystem)
	g.DELETE("/keys/:id", a.revokeKey, requireSystem)
}

// pathRef reads a path parameter that names a resource by UUID or by name.
// Names may hold any character, escaped in the path.
func pathRef(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath != "" {
		u, err := url.PathUnescape(v)
		if err != nil {
			return "", badRequest(fmt.Sprintf("path parameter %q is badly escaped", name), nil)
		}
		v = u
	}
	if v == "" {
		return "", badRequest(fmt.Sprintf("path parameter %q is required", name), nil)
	}
	if !utf8.ValidString(v) {
		return "", badRequest(fmt.Sprintf("path parameter %q is not valid UTF-8", name), map[string]any{name: "invalid UTF-8"})
	}
	return v, nil
}

// page reads limit, offset, cursor and count. Out-of-range values, a
// malformed cursor, a cursor with an offset and an unknown count are 400,
// not clamped or ignored.
func page(c echo.Context) (domain.Page, error) {
	limit, err := queryInt(c, "limit", domain.DefaultLimit, 1, domain.MaxLimit)
	if err != nil {
		return domain.Page{}, err
	}
	offset, err := queryInt(c, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return domain.Page{}, err
	}
	p := domain.Page{Limit: limit, Offset: offset}
	if raw, ok := c.QueryParams()["cursor"]; ok {
		if len(raw) != 1 || raw[0] == "" {
			return domain.Page{}, badRequest("query parameter \"cursor\" must be a next_cursor from a previous page", map[string]any{"cursor": "malformed"})
		}
		cur, err := domain.DecodeCursor(raw[0])
		if err != nil {
			return domain.Page{}, badRequest("query parameter \"cursor\" must be a next_cursor from a previous page", map[string]any{"cursor": "malformed"})
		}
		if c.QueryParam("offset") != "" {
			return domain.Page{}, badRequest("use either \"cursor\" or \"offset\", not both", map[string]any{"cursor": "cannot be combined with offset"})
		}
		p.Cursor = &cur
	}
	if raw, ok := c.QueryParams()["count"]; ok {
		if len(raw) != 1 || (raw[0] != string(domain.CountExact) && raw[0] != string(domain.CountEstimate)) {
			return domain.Page{}, badRequest("query parameter \"count\" must be exact or estimate", map[string]any{"count": "must be exact or estimate"})
		}
		p.Count = domain.CountMode(raw[0])
	}
	return p, nil
}

// nextCursor renders a list's continuation for the next_cursor field: the
// opaque cursor, or nil (JSON null) on the last page.
func nextCursor(c *domain.Cursor) *string {
	if c == nil {
		return nil
	}
	s := c.Encode()
	return &s
}

func noContent(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
