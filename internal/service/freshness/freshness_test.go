package freshness_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p     domain.FreshnessPolicy
		field string
	}{
		{domain.FreshnessPolicy{MaxAge: "26h"}, ""},
		{domain.FreshnessPolicy{Cron: "0 9 * * *", Timezone: "Europe/Berlin"}, ""},
		{domain.FreshnessPolicy{Cron: "@daily"}, ""},
		{domain.FreshnessPolicy{}, "freshness"},
		{domain.FreshnessPolicy{MaxAge: "26h", Cron: "0 9 * * *"}, "freshness"},
		{domain.FreshnessPolicy{MaxAge: "soon"}, "freshness.max_age"},
		{domain.FreshnessPolicy{MaxAge: "1s"}, "freshness.max_age"},
		{domain.FreshnessPolicy{MaxAge: "-5h"}, "freshness.max_age"},
		{domain.FreshnessPolicy{MaxAge: "26h", Timezone: "UTC"}, "freshness.timezone"},
		{domain.FreshnessPolicy{Cron: "0 9 * *"}, "freshness.cron"},
		{domain.FreshnessPolicy{Cron: "0 9 * * *", Timezone: "Moon/Base"}, "freshness.timezone"},
	} {
		err := freshness.Validate(&tc.p)
		var ve *domain.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.p, err)
		case tc.field != "" && (!errors.As(err, &ve) || ve.Fields[tc.field] == ""):
			t.Errorf("%+v: %v, want an error on %s", tc.p, err, tc.field)
		}
	}
}

// succeed runs a materialization of asset to success through the state
// machine, as the runtime does.
func succeed(t *testing.T, svc *service.Service, ctx context.Context, asset uuid.UUID, partition string) {
	t.Helper()
	run, _, err := svc.CreateRun(ctx, service.CreateRunInput{AssetID: &asset, PartitionKey: partition})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []domain.State{domain.StateQueued, domain.StateRunning, domain.StateSucceeded} {
		cur, err := svc.GetRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.TransitionRun(ctx, domain.Transition{ID: run.ID, From: cur.State, To: to}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFreshness(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		c := &clock{}
		c.Set("2026-12-01T08:00:00Z")
		svc := service.New(b.Store, nil, nil)
		fresh := freshness.New(b.Store, c)
		svc.ObserveRuns(fresh)
		var ctxs []context.Context
		for range 2 {
			id := testdb.TenantID("fr")
			if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: id}); err != nil {
				t.Fatal(err)
			}
			ctxs = append(ctxs, domain.WithTenant(context.Background(), id))
		}
		a, other := ctxs[0], ctxs[1]
		mk := func(name string) uuid.UUID {
			x, err := svc.CreateAsset(a, service.CreateAssetInput{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			return x.ID
		}
		aged, daily, never, plain := mk("aged"), mk("daily"), mk("never"), mk("plain")
		for id, p := range map[uuid.UUID]*domain.FreshnessPolicy{
			aged: {MaxAge: "26h"}, daily: {Cron: "0 9 * * *", Timezone: "Europe/Berlin"}, never: {MaxAge: "1h"},
		} {
			if _, err := fresh.SetPolicy(a, id, p); err != nil {
				t.Fatal(err)
			}
		}
		// Another tenant cannot set a policy on A's asset.
		if _, err := fresh.SetPolicy(other, aged, &domain.FreshnessPolicy{MaxAge: "1h"}); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("other tenant sets A's policy: %v, want not found", err)
		}
		succeed(t, svc, a, aged, "2026-11-30")
		succeed(t, svc, a, daily, "")
		succeed(t, svc, a, plain, "")
		status := func(at string) map[uuid.UUID]string {
			c.Set(at)
			fs, err := fresh.Get(a, []uuid.UUID{aged, daily, never, plain})
			if err != nil {
				t.Fatal(err)
			}
			out := map[uuid.UUID]string{}
			for id, f := range fs {
				if s := freshness.Status(&f, c.Now()); s != nil {
					out[id] = *s
				} else {
					out[id] = "null"
				}
			}
			return out
		}
		fs, _ := fresh.Get(a, []uuid.UUID{aged, plain})
		if fs[aged].LastMaterializedAt == nil || fs[plain].LastMaterializedAt == nil || fs[plain].Policy != nil {
			t.Fatalf("materializations not recorded: %+v", fs)
		}
		parts, err := fresh.Partitions(a, aged, 10)
		if err != nil || len(parts) != 1 || parts[0].PartitionKey != "2026-11-30" {
			t.Fatalf("partitions %+v (%v)", parts, err)
		}
		// 08:30 UTC: 09:00 in Berlin (08:00 UTC) passed before the
		// materialization, so daily is fresh until 08:00 UTC tomorrow.
		for _, tc := range []struct {
			at   string
			want map[uuid.UUID]string
		}{
			{"2026-12-01T08:30:00Z", map[uuid.UUID]string{aged: "fresh", daily: "fresh", never: "stale", plain: "null"}},
			{"2026-12-02T07:59:00Z", map[uuid.UUID]string{aged: "fresh", daily: "fresh", never: "stale", plain: "null"}},
			{"2026-12-02T08:00:00Z", map[uuid.UUID]string{aged: "fresh", daily: "stale", never: "stale", plain: "null"}},
			{"2026-12-02T10:00:01Z", map[uuid.UUID]string{aged: "stale", daily: "stale", never: "stale", plain: "null"}},
		} {
			got := status(tc.at)
			for id, w := range tc.want {
				if got[id] != w {
					t.Errorf("at %s: %s is %s, want %s", tc.at, id, got[id], w)
				}
			}
		}
		stale, err := fresh.Stale(a, domain.Page{})
		if err != nil || stale.Total != 3 || stale.TotalIsEstimate || len(stale.Items) != 3 || stale.Items[0] != never {
			t.Fatalf("stale at the end: %v total %d (%v); want never, daily, aged", stale.Items, stale.Total, err)
		}
		if l, _ := fresh.Stale(other, domain.Page{}); l.Total != 0 {
			t.Fatalf("the other tenant sees %d stale assets", l.Total)
		}
		// A new materialization makes it fresh again; an OpenLineage
		// COMPLETE naming it as an output counts too.
		succeed(t, svc, a, aged, "")
		if err := fresh.OutputsCompleted(a, []uuid.UUID{never}, c.Now()); err != nil {
			t.Fatal(err)
		}
		if got := status("2026-12-02T10:30:00Z"); got[aged] != "fresh" || got[never] != "fresh" || got[daily] != "stale" {
			t.Fatalf("after new materializations: %v", got)
		}
		counts, err := fresh.StaleCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[tenantOf(a)] != 1 || counts[tenantOf(other)] != 0 {
			t.Fatalf("stale counts %v", counts)
		}
	})
}

func tenantOf(ctx context.Context) string {
	s, _ := domain.ScopeFrom(ctx)
	return s.TenantID()
}

// TestGetAsset checks that GetAsset answers what GetAsset of the asset
// service and Get answer together: with a policy and a materialization,
// with a policy only, with nothing recorded, for a global asset and in the
// system scope; and that another tenant's asset is not found, its
// freshness never joining in.
func TestGetAsset(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		c := &clock{}
		c.Set("2026-12-01T08:00:00Z")
		svc := service.New(b.Store, nil, nil)
		fresh := freshness.New(b.Store, c)
		sys := domain.WithSystem(context.Background())
		var ctxs []context.Context
		for range 2 {
			id := testdb.TenantID("ga")
			if _, err := svc.CreateTenant(sys, domain.Tenant{ID: id}); err != nil {
				t.Fatal(err)
			}
			ctxs = append(ctxs, domain.WithTenant(context.Background(), id))
		}
		a, other := ctxs[0], ctxs[1]
		mk := func(ctx context.Context, name string, global bool) uuid.UUID {
			x, err := svc.CreateAsset(ctx, service.CreateAssetInput{Name: name, Global: global})
			if err != nil {
				t.Fatal(err)
			}
			return x.ID
		}
		done, policy, plain := mk(a, "done", false), mk(a, "policy", false), mk(a, "plain", false)
		global := mk(sys, "ga.global", true)
		theirs := mk(other, "done", false)
		for ctx, id := range map[context.Context]uuid.UUID{a: done, other: theirs} {
			if _, err := fresh.SetPolicy(ctx, id, &domain.FreshnessPolicy{MaxAge: "26h"}); err != nil {
				t.Fatal(err)
			}
			if err := fresh.Record(ctx, id, "", c.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := fresh.SetPolicy(a, policy, &domain.FreshnessPolicy{Cron: "0 9 * * *", Timezone: "Europe/Berlin"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name      string
			ctx       context.Context
			id        uuid.UUID
			wantFresh bool
		}{
			{"policy and materialization", a, done, true},
			{"policy only", a, policy, true},
			{"nothing recorded", a, plain, false},
			{"global asset", a, global, false},
			{"the other tenant's own", other, theirs, true},
			{"system scope", sys, global, false},
		} {
			gotA, gotF, err := fresh.GetAsset(tc.ctx, tc.id)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			wantA, err := svc.GetAsset(tc.ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotA, wantA) {
				t.Errorf("%s: asset %+v, want %+v", tc.name, gotA, wantA)
			}
			if !tc.wantFresh {
				if gotF != nil {
					t.Errorf("%s: freshness %+v, want none", tc.name, gotF)
				}
				continue
			}
			fs, err := fresh.Get(tc.ctx, []uuid.UUID{tc.id})
			if err != nil {
				t.Fatal(err)
			}
			want, ok := fs[tc.id]
			if !ok || gotF == nil || !reflect.DeepEqual(*gotF, want) {
				t.Errorf("%s: freshness %+v, want %+v (recorded: %v)", tc.name, gotF, want, ok)
			}
		}
		for _, tc := range []struct {
			ctx context.Context
			id  uuid.UUID
		}{{a, theirs}, {other, done}, {a, uuid.New()}} {
			if x, f, err := fresh.GetAsset(tc.ctx, tc.id); !errors.Is(err, domain.ErrNotFound) || x != nil || f != nil {
				t.Errorf("asset %s of another tenant: %v, %v, %v; want not found", tc.id, x, f, err)
			}
		}
	})
}
