package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/freshness"
)

// TestCatalogJSON_SameBytesAsEncodingJSON holds the hand-written asset and
// asset-list answers to what c.JSON writes for assetEnvelope and assetList
// (encoding/json's Encoder with its defaults), byte for byte: every kind of
// string, assets with and without compute, partitions, tags and a tenant,
// global assets whose environment values a tenant must not see, and every
// shape of freshness (none, a policy alone, materialized, stale or fresh,
// each policy field alone).
func TestCatalogJSON_SameBytesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	e := echo.New()
	for _, s := range []string{
		"", "plain.name_1", `quote " and \ backslash`, "<script>&amp;</script>", "tab\there\nnewline\r\x00\x1f",
		"é ü 中文 🚀", "line\u2028sep\u2029", "bad \xff\xfe utf8", "\x7f del", strings.Repeat("long-", 300),
	} {
		assets, fs := catalogFixture(s, now)
		for _, scope := range []context.Context{domain.WithTenant(context.Background(), "t-1"), domain.WithSystem(context.Background())} {
			ctx := func() echo.Context {
				req := httptest.NewRequest("GET", "/", nil).WithContext(scope)
				return e.NewContext(req, httptest.NewRecorder())
			}
			a := &api{fresh: freshness.New(nil, fixedClock(now))}
			// The DTOs are built from copies: both paths hide environment
			// values in place.
			dtos := a.catalogDTOs(ctx(), clone(assets), fs)
			for _, list := range []domain.List[domain.Asset]{
				{Items: assets, Total: 1234, TotalIsEstimate: true, Limit: 50},
				{Items: assets[:1], Total: 1, Limit: 1, Offset: 7, NextCursor: &domain.Cursor{CreatedAt: now, ID: uuid.New()}},
				{Items: []domain.Asset{}, Limit: 10},
			} {
				want := encode(t, assetList{Assets: dtos[:len(list.Items)], Total: list.Total, TotalIsEstimate: list.TotalIsEstimate,
					Limit: list.Limit, Offset: list.Offset, NextCursor: nextCursor(list.NextCursor)})
				list.Items = clone(list.Items)
				got := appendAssetList(nil, catalogEntries(ctx(), list.Items, fs), list, now)
				if !bytes.Equal(got, want) {
					t.Errorf("string %.40q, list of %d:\n got %.400s\nwant %.400s", s, len(list.Items), got, want)
				}
			}
			for i := range assets {
				want := encode(t, assetEnvelope{Asset: dtos[i]})
				as := clone(assets[i : i+1])
				got := appendAssetEnvelope(nil, catalogEntries(ctx(), as, fs)[0], now)
				if !bytes.Equal(got, want) {
					t.Errorf("string %.40q, asset %d:\n got %.400s\nwant %.400s", s, i, got, want)
				}
			}
		}
	}
}

// catalogFixture returns assets whose every string holds s, in every shape
// the catalog answers, and the freshness recorded for some of them.
func catalogFixture(s string, now time.Time) ([]domain.Asset, map[uuid.UUID]domain.AssetFreshness) {
	tenant := "t-1"
	at := time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	earlier, later := now.Add(-time.Hour), now.Add(time.Hour)
	policies := []*domain.FreshnessPolicy{
		nil,
		{MaxAge: s + "1h"},
		{Cron: s + "0 9 * * *"},
		{Timezone: s},
		{MaxAge: "2h", Cron: "0 9 * * *", Timezone: "Europe/Berlin"},
		{},
	}
	var assets []domain.Asset
	fs := map[uuid.UUID]domain.AssetFreshness{}
	for i := range 12 {
		a := domain.Asset{ID: uuid.New(), TenantID: &tenant, Name: s + "n", Description: s, AssetType: s, Owner: s,
			Tags: []string{s, "t"}, CreatedAt: at, UpdatedAt: at.Add(time.Duration(i) * time.Hour)}
		switch i % 4 {
		case 1:
			a.TenantID, a.Tags = nil, nil // global, no tags
			a.Compute = &domain.ComputeSpec{Kind: "command", Argv: []string{s}, Env: map[string]string{"SECRET": s + "value", s: "x"}}
		case 2:
			a.Compute = &domain.ComputeSpec{Kind: "command", Argv: []string{s, "<&>"}, Env: map[string]string{s: s}, Timeout: "1m",
				Retry: &domain.RetryPolicy{MaxAttempts: 3, Multiplier: 1.5}}
			a.Partitions = &domain.PartitionsDef{Type: "static", Keys: []string{s, "eu"}}
		case 3:
			a.Partitions = &domain.PartitionsDef{Type: "daily", StartDate: "2026-01-01", Timezone: s}
		}
		assets = append(assets, a)
		if a.TenantID == nil || i%6 == 0 {
			continue
		}
		f := domain.AssetFreshness{AssetID: a.ID, TenantID: tenant, Policy: policies[i%len(policies)]}
		switch i % 3 {
		case 0:
			f.LastMaterializedAt, f.StaleAfter = &earlier, &later // fresh
		case 1:
			f.LastMaterializedAt, f.StaleAfter = &earlier, &earlier // stale
		case 2:
			f.StaleAfter = &now // stale at exactly now, never materialized
		}
		fs[a.ID] = f
	}
	return assets, fs
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func clone(as []domain.Asset) []domain.Asset {
	out := make([]domain.Asset, len(as))
	copy(out, as)
	return out
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
