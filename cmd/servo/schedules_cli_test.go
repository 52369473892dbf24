package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/schedule"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// TestSchedulesCLI drives servo schedules against a real server on SQLite.
func TestSchedulesCLI(t *testing.T) {
	t.Parallel()
	st := testdb.OpenSQLite(t)
	svc := service.New(st, nil, nil)
	srv, err := api.New(api.Config{}, api.Deps{DB: st, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{Schedules: schedule.New(st, svc, nil)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	key, _, err := svc.CreateAPIKey(domain.WithSystem(context.Background()), service.CreateAPIKeyInput{TenantID: "cli", CreateTenant: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := domain.WithTenant(context.Background(), "cli")
	if _, err := svc.CreateAsset(ctx, service.CreateAssetInput{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateWorkflow(ctx, service.CreateWorkflowInput{Name: "nightly", Assets: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	env := []string{"SERVO_URL=" + ts.URL, "SERVO_API_KEY=" + key}
	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(context.Background(), append([]string{"schedules"}, args...), &out, &errOut, env); code != want {
			t.Fatalf("servo schedules %v: exit %d, want %d: %s%s", args, code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	out := cli(0, "create", "nightly-2am", "--workflow", "nightly", "--cron", "0 2 * * *", "--timezone", "Europe/Berlin", "--partition", "previous_day")
	if !strings.Contains(out, "created schedule nightly-2am; next tick 20") {
		t.Fatalf("create: %s", out)
	}
	if out := cli(1, "create", "bad", "--workflow", "nightly", "--cron", "0 2 * *"); !strings.Contains(out, "422") || !strings.Contains(out, "cron") {
		t.Fatalf("bad cron: %s", out)
	}
	if out := cli(0, "pause", "nightly-2am"); !strings.Contains(out, "paused") {
		t.Fatalf("pause: %s", out)
	}
	if out := cli(0, "list"); !strings.Contains(out, "nightly-2am") || !strings.Contains(out, "false") {
		t.Fatalf("list after pause: %s", out)
	}
	if out := cli(0, "resume", "nightly-2am"); !strings.Contains(out, "resumed; next tick") {
		t.Fatalf("resume: %s", out)
	}
	if out := cli(1, "pause", "missing"); !strings.Contains(out, "404") {
		t.Fatalf("pause of a missing schedule: %s", out)
	}
	env = []string{"SERVO_URL=" + ts.URL}
	if out := cli(1, "list"); !strings.Contains(out, "API key is required") {
		t.Fatalf("without a key: %s", out)
	}
}
