package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

func init() { registerSection(section{Name: "checks", Run: measureChecks}) }

// checksPerAsset and checkHistory size the checks section: one asset with
// that many checks, each with that long a history of results.
const (
	checksPerAsset    = 5
	checkHistory      = 20000
	checkHistoryShort = 200
)

// postJSON sends one JSON request to Servo as key and decodes the answer.
func (e *env) postJSON(ctx context.Context, path, key string, body, dst any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.servo+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: status %d", path, res.StatusCode)
	}
	return json.NewDecoder(res.Body).Decode(dst)
}

// measureChecks holds an asset's checks with their last outcomes (one
// newest result per check out of a long history) against a point read of
// the same asset.
func measureChecks(ctx context.Context, e *env) ([]row, error) {
	d := e.data
	history := checkHistory
	if e.o.Short {
		history = checkHistoryShort
	}
	long, err := e.seedChecked(ctx, "bench-checked", history)
	if err != nil {
		return nil, err
	}
	short, err := e.seedChecked(ctx, "bench-checked-new", 1)
	if err != nil {
		return nil, err
	}
	logf("checks: %d checks with %d results each", checksPerAsset, history)

	n := e.o.Clients
	id := long.String()
	fresh := row{Name: "... the same, held against a short history", Clients: n,
		Baseline: fmt.Sprintf("the same, %d checks x 1 result", checksPerAsset), Latency: true}
	list := row{Name: fmt.Sprintf("GET /api/v1/assets/{asset}/checks (%d checks x %d results)", checksPerAsset, history), Clients: n,
		Baseline: "GET /api/v1/assets/{asset}, same asset", Latency: true}
	failing := row{Name: "GET /api/v1/checks/failing (the same asset)", Clients: n, Baseline: "GET /api/v1/assets/{asset}, same asset", Latency: true}
	res, err := e.interleaved(
		series{"servo asset checks with last outcomes", e.loadGET(ctx, n, d.BigKey, func(int, int) string { return "/api/v1/assets/" + id + "/checks" })},
		series{"servo failing assets", e.loadGET(ctx, n, d.BigKey, func(int, int) string { return "/api/v1/checks/failing?asset_ids=" + id })},
		series{"servo point read of the asset", e.loadGET(ctx, n, d.BigKey, func(int, int) string { return "/api/v1/assets/" + id })},
		series{"servo asset checks, short history", e.loadGET(ctx, n, d.BigKey, func(int, int) string { return "/api/v1/assets/" + short.String() + "/checks" })},
	)
	if err != nil {
		return nil, err
	}
	list.Servo, failing.Servo = res[0], res[1]
	list.Base, failing.Base = res[2], res[2]
	fresh.Servo, fresh.Base = res[0], res[3]
	return []row{list, fresh, failing}, nil
}

// seedChecked creates an asset of the big tenant with checksPerAsset
// checks through the API, and bulk-loads history results of each as the
// owner: one run, results an hour apart.
func (e *env) seedChecked(ctx context.Context, name string, history int) (uuid.UUID, error) {
	d := e.data
	var asset struct {
		Asset struct{ ID uuid.UUID } `json:"asset"`
	}
	if err := e.postJSON(ctx, "/api/v1/assets", d.BigKey, map[string]any{"name": name}, &asset); err != nil {
		return uuid.Nil, err
	}
	checkIDs := make([]uuid.UUID, checksPerAsset)
	for i := range checkIDs {
		var c struct{ ID uuid.UUID }
		body := map[string]any{"asset_id": asset.Asset.ID, "name": fmt.Sprintf("check_%d", i),
			"check_type": map[string]any{"type": "not_null", "columns": []string{"id"}}}
		if err := e.postJSON(ctx, "/api/v1/checks", d.BigKey, body, &c); err != nil {
			return uuid.Nil, err
		}
		checkIDs[i] = c.ID
	}
	// The history, bulk-loaded as the owner: one finished run an hour
	// apart, each with one result per check, as a scheduled check run
	// leaves them. (Every result on one run would skew the planner's
	// statistics of check_results for the whole tenant.)
	now := time.Now().UTC()
	runRows := make([][]any, 0, history)
	var rows [][]any
	outcomes := []string{"passed", "failed", "skipped"}
	for k := range history {
		at := now.Add(-time.Duration(k) * time.Hour)
		run := uuid.New()
		runRows = append(runRows, []any{run, d.BigTenant, asset.Asset.ID, "succeeded", at, at})
		for i, id := range checkIDs {
			rows = append(rows, []any{uuid.New(), d.BigTenant, run, 1, id, fmt.Sprintf("check_%d", i), outcomes[k%3], "error", true, "step", at, at})
		}
	}
	if _, err := e.base.owner.CopyFrom(ctx, pgx.Identifier{"executions"}, []string{"id", "tenant_id", "asset_id", "state", "created_at", "updated_at"},
		pgx.CopyFromRows(runRows)); err != nil {
		return uuid.Nil, fmt.Errorf("seed the runs: %w", err)
	}
	cols := []string{"id", "tenant_id", "execution_id", "attempt", "check_id", "check_name", "outcome", "severity", "blocking", "source", "executed_at", "created_at"}
	if _, err := e.base.owner.CopyFrom(ctx, pgx.Identifier{"check_results"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return uuid.Nil, fmt.Errorf("seed the results: %w", err)
	}
	if _, err := e.base.owner.Exec(ctx, "ANALYZE check_results"); err != nil {
		return uuid.Nil, err
	}
	return asset.Asset.ID, nil
}
