// Package apitest starts Servo's whole HTTP stack for tests: the API and
// the web console on one router, as `servo serve` mounts them, over a
// service on a test database, with a run runtime of the test's own and two
// tenants with keys.
package apitest

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/automation"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/schedule"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
	"github.com/servo-data/servo/internal/transport/console"
)

// AdminKey is the admin key of every test server.
const AdminKey = "test-admin-key-0123456789abcdef0123456789"

// Options choose what a test server runs on.
type Options struct {
	// DB is the database; nil takes testdb.Shared.
	DB *testdb.Database
	// Log receives the server's logs; nil discards them.
	Log *zap.Logger
	// Runtime starts a run runtime; without it triggered runs stay
	// pending.
	Runtime bool
	// Config is the server's configuration.
	Config api.Config
	// OpenLineage is the OpenLineage validation mode.
	OpenLineage openlineage.Mode
}

// Server is a running test server on a loopback listener, on PostgreSQL as
// the application role, with two tenants (A and B) and their keys. It
// closes when the test ends.
type Server struct {
	// URL is the server's base URL.
	URL string
	// Service is the service the API calls.
	Service *service.Service
	// API is the HTTP server.
	API *api.Server
	// TenantA and TenantB are the ids of the two tenants.
	TenantA, TenantB string
	// KeyA and KeyB are API keys of tenants A and B; KeyA2 is a second
	// key of tenant A, for tests that revoke one.
	KeyA, KeyB, KeyA2 string
}

// Start starts a test server.
func Start(t *testing.T, o Options) *Server {
	t.Helper()
	if o.DB == nil {
		o.DB = testdb.Shared(t)
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	st := testdb.Open(t, o.DB)
	svc := service.New(st, nil, nil)
	bf := backfill.New(st, svc, nil)
	if o.Runtime {
		// A runtime that works runs, on a queue of this test's own (tests
		// share the database), allowing one harmless command; its workers
		// listen for new jobs, as `servo serve` wires them.
		pool, err := st.JobPool()
		if err != nil {
			t.Fatal(err)
		}
		db := runtime.DB{Pool: st.SQLDB(), Postgres: true, TxFrom: repository.SQLTx, Listen: runtime.WorkDriverOf(riverpgxv5.New(pool))}
		rcfg := runtime.Config{
			Policy:            runtime.Policy{Commands: []string{"/bin/echo"}},
			FetchPollInterval: 50 * time.Millisecond, WaitPoll: 50 * time.Millisecond, CancelPoll: 100 * time.Millisecond,
			Lease: time.Minute, Queue: "api_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16],
		}
		d, err := runtime.NewDispatcher(db, rcfg.Queue, log)
		if err != nil {
			t.Fatal(err)
		}
		svc = service.New(st, d, rcfg.ComputePolicy())
		rt, err := runtime.New(svc, svc.Engine(), d, rcfg, log)
		if err != nil {
			t.Fatal(err)
		}
		bf = backfill.New(st, svc, d)
		rt.UseBackfills(bf)
		if err := rt.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = rt.Stop(ctx)
		})
	}
	srv, err := api.New(o.Config, api.Deps{DB: st, Log: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	console.Mount(srv.Echo())
	fresh := freshness.New(st, nil)
	svc.ObserveRuns(fresh)
	ol, err := openlineage.New(svc, st, openlineage.Options{Log: log, Mode: o.OpenLineage, OutputsCompleted: fresh.OutputsCompleted})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{AdminKey: AdminKey, OpenLineage: ol, Backfills: bf, Schedules: schedule.New(st, svc, nil), Freshness: fresh, Automations: automation.New(st, svc, nil)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	s := &Server{URL: ts.URL, Service: svc, API: srv, TenantA: testdb.TenantID("a"), TenantB: testdb.TenantID("b")}
	sys := domain.WithSystem(context.Background())
	for _, k := range []struct {
		tenant string
		dst    *string
	}{{s.TenantA, &s.KeyA}, {s.TenantB, &s.KeyB}, {s.TenantA, &s.KeyA2}} {
		secret, _, err := svc.CreateAPIKey(sys, service.CreateAPIKeyInput{TenantID: k.tenant, CreateTenant: true})
		if err != nil {
			t.Fatal(err)
		}
		*k.dst = secret
	}
	return s
}
