package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

type catalogAssetBody struct {
	Asset struct {
		ID                 string  `json:"id"`
		LastMaterializedAt *string `json:"last_materialized_at"`
		FreshnessStatus    *string `json:"freshness_status"`
		Freshness          *struct {
			MaxAge string `json:"max_age"`
		} `json:"freshness"`
	} `json:"asset"`
}

func TestFreshnessAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var orders, never, plain catalogAssetBody
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{
		"name": "fresh.orders", "freshness": map[string]any{"max_age": "26h"},
		"compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo", "ok"}},
	}}).json(t, &orders)
	if orders.Asset.FreshnessStatus == nil || *orders.Asset.FreshnessStatus != "stale" || orders.Asset.LastMaterializedAt != nil ||
		orders.Asset.Freshness == nil || orders.Asset.Freshness.MaxAge != "26h" {
		t.Fatalf("a never-materialized asset with a policy: %+v", orders.Asset)
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{
		"name": "fresh.never", "freshness": map[string]any{"cron": "0 9 * * *", "timezone": "Europe/Berlin"},
	}}).json(t, &never)
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "fresh.plain"}}).json(t, &plain)
	if plain.Asset.FreshnessStatus != nil || plain.Asset.Freshness != nil {
		t.Fatalf("an asset without a policy: %+v", plain.Asset)
	}
	// Bad policies are 422 on the field and create nothing.
	for _, tc := range []struct {
		policy any
		field  string
	}{
		{map[string]any{"max_age": "a while"}, "freshness.max_age"},
		{map[string]any{"cron": "0 9 * *"}, "freshness.cron"},
		{map[string]any{"cron": "0 9 * * *", "timezone": "Atlantis/Capital"}, "freshness.timezone"},
		{map[string]any{}, "freshness"},
	} {
		res := e.do(req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "fresh.bad", "freshness": tc.policy}})
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("freshness %v: %d %s", tc.policy, res.status, res.body)
			continue
		}
		if _, ok := res.errBody(t).Details[tc.field]; !ok {
			t.Errorf("freshness %v: %s does not name %s", tc.policy, res.body, tc.field)
		}
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/fresh.bad", key: e.keyA})
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "fresh.bad", "freshness": map[string]any{"max_age": "1h", "extra": 1}}})

	// A successful materialization makes it fresh.
	var trig struct {
		RunID string `json:"run_id"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: e.keyA, body: map[string]any{"asset_name": "fresh.orders"}}).json(t, &trig)
	if run := e.waitStatus(e.keyA, trig.RunID); run.Status != "success" {
		t.Fatalf("materialization %s", run.Status)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/fresh.orders", key: e.keyA}).json(t, &orders)
	if orders.Asset.LastMaterializedAt == nil || orders.Asset.FreshnessStatus == nil || *orders.Asset.FreshnessStatus != "fresh" {
		t.Fatalf("after a materialization: %+v", orders.Asset)
	}
	// The list shows the same freshness as the point read, for the asset
	// on the page; tenant B's list, of its own assets, shows none of it.
	var listed struct {
		Assets []struct {
			Name               string  `json:"name"`
			FreshnessStatus    *string `json:"freshness_status"`
			LastMaterializedAt *string `json:"last_materialized_at"`
			Freshness          *struct {
				MaxAge string `json:"max_age"`
				Cron   string `json:"cron"`
			} `json:"freshness"`
		} `json:"assets"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?q=fresh.&limit=2", key: e.keyA}).json(t, &listed)
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyB, body: map[string]any{"name": "fresh.of-b"}})
	var seen int
	for cursor := ""; ; {
		for _, a := range listed.Assets {
			seen++
			switch a.Name {
			case "fresh.orders":
				if a.FreshnessStatus == nil || *a.FreshnessStatus != "fresh" || a.LastMaterializedAt == nil || a.Freshness == nil || a.Freshness.MaxAge != "26h" {
					t.Errorf("fresh.orders listed: %+v", a)
				}
			case "fresh.never":
				if a.FreshnessStatus == nil || *a.FreshnessStatus != "stale" || a.LastMaterializedAt != nil || a.Freshness == nil || a.Freshness.Cron != "0 9 * * *" {
					t.Errorf("fresh.never listed: %+v", a)
				}
			case "fresh.plain":
				if a.FreshnessStatus != nil || a.Freshness != nil || a.LastMaterializedAt != nil {
					t.Errorf("fresh.plain listed: %+v", a)
				}
			}
		}
		var next struct {
			NextCursor *string `json:"next_cursor"`
		}
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?q=fresh.&limit=2" + cursor, key: e.keyA}).json(t, &next)
		if next.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *next.NextCursor
		listed.Assets = nil
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?q=fresh.&limit=2" + cursor, key: e.keyA}).json(t, &listed)
	}
	if seen != 3 {
		t.Errorf("tenant A's list of fresh.* holds %d assets, want 3", seen)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?q=fresh.", key: e.keyB}).json(t, &listed)
	if len(listed.Assets) != 1 || listed.Assets[0].Name != "fresh.of-b" || listed.Assets[0].FreshnessStatus != nil || listed.Assets[0].Freshness != nil {
		t.Errorf("tenant B's list: %+v, want its own fresh.of-b alone, without freshness", listed.Assets)
	}
	var stale struct {
		Assets []struct {
			Name            string  `json:"name"`
			FreshnessStatus *string `json:"freshness_status"`
		} `json:"assets"`
		Total int `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?stale=true", key: e.keyA}).json(t, &stale)
	if stale.Total != 1 || len(stale.Assets) != 1 || stale.Assets[0].Name != "fresh.never" || *stale.Assets[0].FreshnessStatus != "stale" {
		t.Fatalf("stale assets: %+v", stale)
	}
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/assets?stale=maybe", key: e.keyA})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?stale=true", key: adminKey}).json(t, &stale)
	if stale.Total != 0 {
		t.Fatalf("the system scope lists stale assets: %+v", stale)
	}
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/assets?stale=true&owner=x", key: e.keyA})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?stale=true", key: e.keyB}).json(t, &stale)
	if stale.Total != 0 {
		t.Fatalf("B sees A's stale assets: %+v", stale)
	}
	// Removing the policy: no status any more; the gauge counts per tenant.
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/assets/fresh.never", key: e.keyA, body: map[string]any{"freshness": map[string]any{"max_age": "2h"}}}).json(t, &never)
	metrics := string(e.must(http.StatusOK, req{method: "GET", path: "/metrics"}).body)
	if !strings.Contains(metrics, `servo_assets_stale{tenant="`+e.a+`"} 1`) {
		t.Errorf("/metrics lacks servo_assets_stale 1 for %s", e.a)
	}
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/assets/fresh.never", key: e.keyA, body: map[string]any{"freshness": nil}}).json(t, &never)
	if never.Asset.FreshnessStatus != nil || never.Asset.Freshness != nil {
		t.Fatalf("after removing the policy: %+v", never.Asset)
	}
	// An OpenLineage COMPLETE naming an asset as output records it as
	// materialized at the event's time; a START does not.
	at := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	runID := uuid.NewString()
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: olEvent(runID, "START", at, "ol/job", []string{"ol/in"}, []string{"ol/out"})})
	var out catalogAssetBody
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape("ol/out"), key: e.keyA}).json(t, &out)
	if out.Asset.LastMaterializedAt != nil {
		t.Fatalf("a START recorded a materialization: %v", *out.Asset.LastMaterializedAt)
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: olEvent(runID, "COMPLETE", at.Add(time.Hour), "ol/job", []string{"ol/in"}, []string{"ol/out"})})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape("ol/out"), key: e.keyA}).json(t, &out)
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape("ol/in"), key: e.keyA}).json(t, &orders)
	if out.Asset.LastMaterializedAt == nil || !strings.HasPrefix(*out.Asset.LastMaterializedAt, "2026-11-30T07:00:00") || orders.Asset.LastMaterializedAt != nil {
		t.Fatalf("after COMPLETE: output %v, input %v", out.Asset.LastMaterializedAt, orders.Asset.LastMaterializedAt)
	}
	// B cannot set a policy on A's asset.
	e.must(http.StatusNotFound, req{method: "PATCH", path: "/api/v1/assets/fresh.orders", key: e.keyB, body: map[string]any{"freshness": map[string]any{"max_age": "1h"}}})
}

// TestFreshnessAPI_AssetByIDAnswersAsByName checks that GET /assets/{id},
// which reads the asset and its freshness together, answers byte for byte
// what GET /assets/{name} answers from two reads, with and without a
// policy or a materialization, on both backends; and that another tenant's
// asset id is 404.
func TestFreshnessAPI_AssetByIDAnswersAsByName(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := checksEnv(t, backend)
			echo := map[string]any{"kind": "command", "argv": []string{"/bin/echo", "ok"}}
			create := func(key string, body map[string]any) string {
				var out catalogAssetBody
				e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: key, body: body}).json(t, &out)
				return out.Asset.ID
			}
			materialize := func(key, name string) {
				var trig struct {
					RunID string `json:"run_id"`
				}
				e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: key, body: map[string]any{"asset_name": name}}).json(t, &trig)
				if run := e.waitStatus(key, trig.RunID); run.Status != "success" {
					t.Fatalf("materialize %s: %s", name, run.Status)
				}
			}
			ids := map[string]string{
				"fr.orders": create(e.keyA, map[string]any{"name": "fr.orders", "freshness": map[string]any{"max_age": "26h"}, "compute": echo}),
				"fr.never":  create(e.keyA, map[string]any{"name": "fr.never", "freshness": map[string]any{"cron": "0 9 * * *", "timezone": "Europe/Berlin"}}),
				"fr.done":   create(e.keyA, map[string]any{"name": "fr.done", "compute": echo}),
				"fr.plain":  create(e.keyA, map[string]any{"name": "fr.plain"}),
			}
			materialize(e.keyA, "fr.orders")
			materialize(e.keyA, "fr.done")
			// Tenant B's asset of the same name, materialized: its
			// freshness is B's alone.
			theirs := create(e.keyB, map[string]any{"name": "fr.orders", "freshness": map[string]any{"max_age": "1h"}, "compute": echo})
			materialize(e.keyB, "fr.orders")

			var withFreshness int
			for name, id := range ids {
				byID := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + id, key: e.keyA})
				byName := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + name, key: e.keyA})
				if string(byID.body) != string(byName.body) {
					t.Errorf("%s by id:\n%s\nby name:\n%s", name, byID.body, byName.body)
				}
				if byID.header.Get("ETag") == "" || byID.header.Get("ETag") != byName.header.Get("ETag") {
					t.Errorf("%s: ETag %q by id, %q by name", name, byID.header.Get("ETag"), byName.header.Get("ETag"))
				}
				var got catalogAssetBody
				byID.json(t, &got)
				if got.Asset.LastMaterializedAt != nil {
					withFreshness++
				}
				if name == "fr.orders" && (got.Asset.Freshness == nil || got.Asset.Freshness.MaxAge != "26h" || got.Asset.FreshnessStatus == nil || *got.Asset.FreshnessStatus != "fresh") {
					t.Errorf("fr.orders by id: %s", byID.body)
				}
			}
			if withFreshness != 2 {
				t.Errorf("%d assets answered a materialization, want 2", withFreshness)
			}
			e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + ids["fr.orders"], key: e.keyB})
			e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + theirs, key: e.keyA})
			var mine catalogAssetBody
			e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + theirs, key: e.keyB}).json(t, &mine)
			if mine.Asset.Freshness == nil || mine.Asset.Freshness.MaxAge != "1h" || mine.Asset.LastMaterializedAt == nil {
				t.Errorf("B's own asset: %+v", mine.Asset)
			}
		})
	}
}
