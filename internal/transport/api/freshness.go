package api

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/freshness"
)

// CatalogAssetDTO is an asset as the asset routes answer it: the asset and
// its freshness. FreshnessStatus is fresh or stale, and null without a
// policy.
type CatalogAssetDTO struct {
	AssetDTO
	Freshness          *domain.FreshnessPolicy `json:"freshness"`
	LastMaterializedAt *Time                   `json:"last_materialized_at"`
	FreshnessStatus    *string                 `json:"freshness_status"`
}

// catalogAssets adds the recorded freshness to assets, in one read.
func (a *api) catalogAssets(c echo.Context, as ...domain.Asset) ([]CatalogAssetDTO, error) {
	for i := range as {
		hideGlobalEnv(c.Request().Context(), &as[i])
	}
	out := make([]CatalogAssetDTO, len(as))
	for i, d := range assetDTOs(as) {
		out[i] = CatalogAssetDTO{AssetDTO: d}
	}
	if a.fresh == nil || len(as) == 0 {
		return out, nil
	}
	if sc, err := domain.ScopeFrom(c.Request().Context()); err != nil || sc.IsSystem() {
		return out, nil // the system scope writes global assets, which carry no freshness
	}
	var ids []uuid.UUID
	for i := range as {
		if !as[i].IsGlobal() {
			ids = append(ids, as[i].ID)
		}
	}
	fs, err := a.fresh.Get(c.Request().Context(), ids)
	if err != nil {
		return nil, err
	}
	now := a.fresh.Now()
	for i := range out {
		f, ok := fs[as[i].ID]
		if !ok {
			continue
		}
		out[i].Freshness = f.Policy
		out[i].LastMaterializedAt = TimePtrOf(f.LastMaterializedAt)
		out[i].FreshnessStatus = freshness.Status(&f, now)
	}
	return out, nil
}

func (a *api) catalogAsset(c echo.Context, x *domain.Asset) (CatalogAssetDTO, error) {
	out, err := a.catalogAssets(c, *x)
	if err != nil {
		return CatalogAssetDTO{}, err
	}
	return out[0], nil
}

// listStaleAssets answers GET /assets?stale=true: the tenant's stale
// assets, the longest stale first.
func (a *api) listStaleAssets(c echo.Context, p domain.Page) error {
	if a.fresh == nil {
		return featureOff("freshness policies")
	}
	ctx := c.Request().Context()
	if sc, err := domain.ScopeFrom(ctx); err == nil && sc.IsSystem() {
		// Global assets, all the system scope lists, carry no freshness.
		return c.JSON(200, catalogAssetList{Assets: []CatalogAssetDTO{}, Limit: p.Limit, Offset: p.Offset})
	}
	stale, err := a.fresh.Stale(ctx, p)
	if err != nil {
		return err
	}
	ids := stale.Items
	assets, err := a.svc.GetAssets(ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[uuid.UUID]domain.Asset, len(assets))
	for _, x := range assets {
		byID[x.ID] = x
	}
	ordered := make([]domain.Asset, 0, len(ids))
	for _, id := range ids {
		if x, ok := byID[id]; ok {
			ordered = append(ordered, x)
		}
	}
	dtos, err := a.catalogAssets(c, ordered...)
	if err != nil {
		return err
	}
	return c.JSON(200, catalogAssetList{Assets: dtos, Total: stale.Total, TotalIsEstimate: stale.TotalIsEstimate, Limit: stale.Limit, Offset: stale.Offset})
}

// staleCollector reports servo_assets_stale{tenant} at each scrape.
type staleCollector struct {
	fresh *freshness.Service
	desc  *prometheus.Desc
	log   *zap.Logger
}

func newStaleCollector(f *freshness.Service, log *zap.Logger) *staleCollector {
	return &staleCollector{fresh: f, log: log, desc: prometheus.NewDesc(
		"servo_assets_stale", "Assets whose freshness policy is violated, per tenant.", []string{"tenant"}, nil)}
}

// Describe implements prometheus.Collector.
func (s *staleCollector) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect implements prometheus.Collector.
func (s *staleCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := s.fresh.StaleCounts(ctx)
	if err != nil {
		s.log.Warn("count stale assets", zap.Error(err))
		return
	}
	for tenant, n := range counts {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(n), tenant)
	}
}
