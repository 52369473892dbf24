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
	fs, err := a.freshnessOf(c.Request().Context(), as)
	if err != nil {
		return nil, err
	}
	return a.catalogDTOs(c, as, fs), nil
}

// freshnessOf reads the recorded freshness of assets, by id: none without
// freshness policies, in the system scope (which writes global assets) and
// for global assets, which carry none.
func (a *api) freshnessOf(ctx context.Context, as []domain.Asset) (map[uuid.UUID]domain.AssetFreshness, error) {
	if a.fresh == nil || len(as) == 0 || !freshnessShown(ctx) {
		return nil, nil
	}
	var ids []uuid.UUID
	for i := range as {
		if !as[i].IsGlobal() {
			ids = append(ids, as[i].ID)
		}
	}
	return a.fresh.Get(ctx, ids)
}

// freshnessShown reports whether answers in ctx's scope show freshness:
// the system scope's do not.
func freshnessShown(ctx context.Context) bool {
	sc, err := domain.ScopeFrom(ctx)
	return err == nil && !sc.IsSystem()
}

// catalogDTOs answers assets with their freshness in fs.
func (a *api) catalogDTOs(c echo.Context, as []domain.Asset, fs map[uuid.UUID]domain.AssetFreshness) []CatalogAssetDTO {
	for i := range as {
		hideGlobalEnv(c.Request().Context(), &as[i])
	}
	out := make([]CatalogAssetDTO, len(as))
	for i, d := range assetDTOs(as) {
		out[i] = CatalogAssetDTO{AssetDTO: d}
	}
	if len(fs) == 0 {
		return out
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
	return out
}

// readCatalogAsset resolves the {asset} path parameter and reads the
// freshness its answer shows: with the asset, in one read, when the
// reference is an id.
func (a *api) readCatalogAsset(c echo.Context) (*domain.Asset, map[uuid.UUID]domain.AssetFreshness, error) {
	ref, err := pathRef(c, "asset")
	if err != nil {
		return nil, nil, err
	}
	ctx := c.Request().Context()
	if id, ok := domain.ParseRef(ref); ok && a.fresh != nil {
		x, f, err := a.fresh.GetAsset(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if f == nil || x.IsGlobal() || !freshnessShown(ctx) {
			return x, nil, nil
		}
		return x, map[uuid.UUID]domain.AssetFreshness{x.ID: *f}, nil
	}
	x, err := a.svc.ResolveAsset(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	fs, err := a.freshnessOf(ctx, []domain.Asset{*x})
	if err != nil {
		return nil, nil, err
	}
	return x, fs, nil
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
