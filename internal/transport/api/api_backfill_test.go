package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testutil"
)

type backfillBody struct {
	Backfill struct {
		ID              string `json:"id"`
		State           string `json:"state"`
		Total           int    `json:"total"`
		Pending         int    `json:"pending"`
		Running         int    `json:"running"`
		Succeeded       int    `json:"succeeded"`
		WaitingUpstream int    `json:"waiting_upstream"`
	} `json:"backfill"`
}

// waitBackfill polls a backfill until it ends.
func (e *env) waitBackfill(key, id string) backfillBody {
	e.t.Helper()
	var b backfillBody
	ended := testutil.Eventually(30*time.Second, func() bool {
		b = backfillBody{}
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/backfills/" + id, key: key}).json(e.t, &b)
		switch b.Backfill.State {
		case "succeeded", "failed", "cancelled":
			return true
		}
		return false
	})
	if !ended {
		e.t.Fatalf("backfill %s still %s", id, b.Backfill.State)
	}
	return b
}

func TestAPIPartitionsAndBackfills(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.keyA
	daily := map[string]any{"type": "time_daily", "start_date": "2026-01-01", "timezone": "Europe/Paris"}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: k, body: map[string]any{"name": "events", "partitions": daily}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: k, body: map[string]any{"name": "plain"}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: k, body: map[string]any{"name": "regions", "partitions": map[string]any{"type": "dynamic"}}})

	// Definitions are checked with field details.
	res := e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/assets", key: k,
		body: map[string]any{"name": "bad", "partitions": map[string]any{"type": "time_daily", "start_date": "soon", "timezone": "Nowhere/Land"}}})
	if d := res.errBody(t).Details; d["partitions.start_date"] == nil || d["partitions.timezone"] == nil {
		t.Errorf("details %v, want partitions.start_date and partitions.timezone", d)
	}
	e.must(http.StatusUnprocessableEntity, req{method: "PATCH", path: "/api/v1/assets/plain", key: k, body: map[string]any{"partitions": map[string]any{"type": "static"}}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/dependencies", key: k,
		body: map[string]any{"upstream": "plain", "downstream": "events", "partition_mapping": map[string]any{"type": "sometimes"}}})

	// Materializing a partitioned asset needs one of its keys.
	for _, key := range []any{nil, "", "2026-13-01", "2999-01-01", "2025-12-31"} {
		body := map[string]any{"asset_name": "events"}
		if key != nil {
			body["partition_key"] = key
		}
		res := e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/materialize", key: k, body: body})
		if res.errBody(t).Details["partition_key"] == nil {
			t.Errorf("key %v: no partition_key detail: %s", key, res.body)
		}
	}
	var trig struct {
		RunID string `json:"run_id"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{"asset_name": "events", "partition_key": "2026-01-02"}}).json(t, &trig)
	e.waitStatus(k, trig.RunID)
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{"asset_name": "plain", "partition_key": "anything"}})
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{"asset_name": "plain"}})

	// Runs filter by partition key.
	var runs struct {
		Runs []struct {
			ID           string `json:"id"`
			PartitionKey string `json:"partition_key"`
		} `json:"runs"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs?partition_key=2026-01-02", key: k}).json(t, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].ID != trig.RunID {
		t.Errorf("runs?partition_key=2026-01-02 = %+v, want the one run", runs.Runs)
	}

	// Partition status: one materialized, the rest missing; pages by cursor.
	type partitions struct {
		Partitions []struct {
			PartitionKey       string  `json:"partition_key"`
			Status             string  `json:"status"`
			LastRunID          *string `json:"last_run_id"`
			LastMaterializedAt *string `json:"last_materialized_at"`
		} `json:"partitions"`
		NextCursor *string `json:"next_cursor"`
	}
	var page1 partitions
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/events/partitions?limit=3", key: k}).json(t, &page1)
	if len(page1.Partitions) != 3 || page1.NextCursor == nil || page1.Partitions[0].PartitionKey != "2026-01-01" ||
		page1.Partitions[1].Status != "materialized" || page1.Partitions[1].LastRunID == nil || *page1.Partitions[1].LastRunID != trig.RunID ||
		page1.Partitions[1].LastMaterializedAt == nil || page1.Partitions[0].Status != "missing" {
		t.Fatalf("first page %+v", page1)
	}
	var page2 partitions
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/events/partitions?limit=3&cursor=" + *page1.NextCursor, key: k}).json(t, &page2)
	if len(page2.Partitions) != 3 || page2.Partitions[0].PartitionKey != "2026-01-04" {
		t.Errorf("second page %+v", page2)
	}
	var done partitions
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/events/partitions?status=materialized", key: k}).json(t, &done)
	if len(done.Partitions) != 1 || done.Partitions[0].PartitionKey != "2026-01-02" {
		t.Errorf("status=materialized %+v", done)
	}
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/assets/events/partitions?cursor=!!", key: k})
	e.must(http.StatusUnprocessableEntity, req{method: "GET", path: "/api/v1/assets/events/partitions?status=weird", key: k})
	e.must(http.StatusUnprocessableEntity, req{method: "GET", path: "/api/v1/assets/plain/partitions", key: k})

	// Dynamic keys.
	var keys struct {
		Keys []string `json:"keys"`
	}
	e.must(http.StatusOK, req{method: "POST", path: "/api/v1/assets/regions/partition-keys", key: k, body: map[string]any{"keys": []string{"eu", "us"}}}).json(t, &keys)
	if strings.Join(keys.Keys, ",") != "eu,us" {
		t.Errorf("keys %v", keys.Keys)
	}
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/assets/events/partition-keys", key: k, body: map[string]any{"keys": []string{"x"}}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{"asset_name": "regions", "partition_key": "apac"}})
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{"asset_name": "regions", "partition_key": "us"}})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/assets/regions/partition-keys?key=us", key: k})
	e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/assets/regions/partition-keys?key=us", key: k})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{"asset_name": "regions", "partition_key": "us"}})

	// Backfills: refusals first.
	for name, body := range map[string]map[string]any{
		"no target":        {"partition_keys": []string{"2026-01-03"}},
		"keys and range":   {"asset": "events", "partition_keys": []string{"2026-01-03"}, "range": map[string]any{"start": "2026-01-01", "end": "2026-01-02"}},
		"concurrency 101":  {"asset": "events", "partition_keys": []string{"2026-01-03"}, "max_concurrency": 101},
		"concurrency -1":   {"asset": "events", "partition_keys": []string{"2026-01-03"}, "max_concurrency": -1},
		"not a key":        {"asset": "events", "partition_keys": []string{"yesterday"}},
		"range on a plain": {"asset": "plain", "range": map[string]any{"start": "a", "end": "b"}},
	} {
		if res := e.do(req{method: "POST", path: "/api/v1/backfills", key: k, body: body}); res.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", name, res.status, res.body)
		}
	}
	tooMany := make([]string, 10001)
	for i := range tooMany {
		tooMany[i] = "k" + strings.Repeat("0", 5) + time.Duration(i).String()
	}
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/backfills", key: k, body: map[string]any{"asset": "plain", "partition_keys": tooMany}})

	var b backfillBody
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/backfills", key: k, headers: map[string]string{"Idempotency-Key": "bf-1"},
		body: map[string]any{"asset": "events", "range": map[string]any{"start": "2026-01-01", "end": "2026-01-10"}, "max_concurrency": 2}}).json(t, &b)
	if b.Backfill.Total != 10 || b.Backfill.ID == "" {
		t.Fatalf("backfill %+v", b)
	}
	var again backfillBody
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/backfills", key: k, headers: map[string]string{"Idempotency-Key": "bf-1"},
		body: map[string]any{"asset": "events", "range": map[string]any{"start": "2026-01-01", "end": "2026-01-10"}}}).json(t, &again)
	if again.Backfill.ID != b.Backfill.ID {
		t.Errorf("same Idempotency-Key made another backfill: %s vs %s", again.Backfill.ID, b.Backfill.ID)
	}
	// An overlapping active backfill is 409 with the other's id, unless the
	// first one has ended already.
	if res := e.do(req{method: "POST", path: "/api/v1/backfills", key: k, body: map[string]any{"asset": "events", "partition_keys": []string{"2026-01-05"}}}); res.status == http.StatusConflict {
		if res.errBody(t).Details["backfill_id"] != b.Backfill.ID {
			t.Errorf("409 details %v, want backfill_id %s", res.errBody(t).Details, b.Backfill.ID)
		}
	} else if res.status != http.StatusAccepted {
		t.Errorf("overlapping backfill: status %d: %s", res.status, res.body)
	}
	final := e.waitBackfill(k, b.Backfill.ID)
	if final.Backfill.State != "succeeded" || final.Backfill.Succeeded != 10 {
		t.Errorf("backfill ended %+v", final.Backfill)
	}
	var parts struct {
		Partitions []struct {
			PartitionKey string  `json:"partition_key"`
			State        string  `json:"state"`
			RunID        *string `json:"run_id"`
		} `json:"partitions"`
		NextCursor *string `json:"next_cursor"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/backfills/" + b.Backfill.ID + "/partitions?limit=4", key: k}).json(t, &parts)
	if len(parts.Partitions) != 4 || parts.NextCursor == nil || parts.Partitions[0].PartitionKey != "2026-01-01" || parts.Partitions[0].RunID == nil {
		t.Errorf("backfill partitions %+v", parts)
	}
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/backfills/" + b.Backfill.ID + "/pause", key: k})
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/backfills/" + b.Backfill.ID + "/retry-failed", key: k})
	var list struct {
		Backfills []json.RawMessage `json:"backfills"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/backfills?state=succeeded", key: k}).json(t, &list)
	if len(list.Backfills) == 0 {
		t.Error("no succeeded backfill listed")
	}
	e.must(http.StatusUnprocessableEntity, req{method: "GET", path: "/api/v1/backfills?state=nope", key: k})

	// Tenant B sees none of it.
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/backfills/" + b.Backfill.ID, key: e.keyB})
	e.must(http.StatusNotFound, req{method: "POST", path: "/api/v1/backfills/" + b.Backfill.ID + "/cancel", key: e.keyB})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/events/partitions", key: e.keyB})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/backfills", key: e.keyB}).json(t, &list)
	if len(list.Backfills) != 0 {
		t.Errorf("tenant B lists %d backfills", len(list.Backfills))
	}
}
