package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/testutil"
	"github.com/servo-data/servo/internal/transport/api"
)

// A batch that runs out of time mid-way answers 200 with every event's
// outcome: the events stored are ok, the others are "unavailable" and to be
// resent; never a blanket 503 over a partly committed batch.
func TestLineageBatchDeadlineReportsEachEvent(t *testing.T) {
	t.Parallel()
	bothBackends(t, api.Config{RequestTimeout: 150 * time.Millisecond}, func(t *testing.T, e *env) {
		const n = api.MaxLineageBatch
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		batch := make([]any, n)
		for i := range batch {
			batch[i] = olEvent(uuid.NewString(), "COMPLETE", at, fmt.Sprintf("ns/job-%d", i), nil, nil)
		}
		var out struct {
			Results []struct {
				Index int  `json:"index"`
				OK    bool `json:"ok"`
				Error *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			} `json:"results"`
		}
		e.must(200, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: batch}).json(t, &out)
		if len(out.Results) != n {
			t.Fatalf("%d results for %d events", len(out.Results), n)
		}
		ok, cut, unsure := 0, 0, 0
		for i, r := range out.Results {
			switch {
			case r.Index != i:
				t.Fatalf("result %d has index %d", i, r.Index)
			case r.OK:
				ok++
			case r.Error != nil && r.Error.Code == "unavailable" && strings.HasPrefix(r.Error.Message, "not attempted") && strings.HasSuffix(r.Error.Message, "resend this event"):
				cut++
			case r.Error != nil && r.Error.Code == "unavailable" && strings.HasPrefix(r.Error.Message, "maybe not stored") && strings.HasSuffix(r.Error.Message, "resend this event"):
				unsure++ // the event in flight at the deadline
			default:
				t.Fatalf("result %d: %+v %+v", i, r, r.Error)
			}
		}
		if cut == 0 {
			t.Fatalf("all %d events were stored within 150ms; the deadline was never reached", n)
		}
		// What the answer calls stored is exactly what is stored.
		ctx := domain.WithTenant(context.Background(), e.a)
		list, err := e.svc.ListWorkflows(ctx, domain.Page{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if unsure > 1 || list.Total < int64(ok) || list.Total > int64(ok+unsure) {
			t.Fatalf("answer says %d stored, %d maybe, %d not attempted; the database holds %d", ok, unsure, cut, list.Total)
		}
	})
}

// stalledPost starts a POST whose body (Content-Length size) never comes
// until the returned function is called; the server holds the request in
// flight meanwhile.
func stalledPost(t *testing.T, e *env, path, key string, size int64) (release func() int, ended <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	hr, err := http.NewRequest(http.MethodPost, e.url+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	hr.ContentLength = size
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+key)
	done := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			done <- 0
			return
		}
		_ = res.Body.Close()
		done <- res.StatusCode
	}()
	// More than the transport buffers, so that the headers go out and the
	// server starts reading.
	if _, err := pw.Write([]byte("[" + strings.Repeat(" ", 64<<10))); err != nil {
		t.Fatal(err)
	}
	return func() int {
		_ = pw.CloseWithError(io.ErrUnexpectedEOF)
		return <-done
	}, done
}

// One tenant may hold at most TenantInflight requests on the expensive
// routes (429 with Retry-After at once past it, other tenants unaffected),
// and bodies being read and decoded share a server-wide byte budget (429
// after DecodeWait when it stays full).
func TestExpensiveRouteLimits(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, zap.NewNop(), false, api.Config{TenantInflight: 1, DecodeBudget: 4 << 20, DecodeWait: time.Second})
	e.must(201, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "root"}})
	small := []any{olEvent(uuid.NewString(), "COMPLETE", time.Now(), "ns/j", nil, nil)}

	// A's stalled 4 MiB batch holds A's only slot and the whole budget.
	// B's small batches probe for it (they hold no slot of A's): once one
	// is refused for want of room in the budget, the stalled batch holds it.
	release, ended := stalledPost(t, e, "/api/v1/lineage/batch", e.keyA, 4<<20)
	testutil.WaitFor(t, 30*time.Second, func() bool {
		select {
		case st := <-ended:
			t.Fatalf("the stalled batch ended early: %d", st)
		default:
		}
		t0 := time.Now()
		res := e.do(req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyB, body: small})
		if res.status == http.StatusTooManyRequests {
			if waited := time.Since(t0); waited < 900*time.Millisecond {
				t.Fatalf("B was refused after %s, before the budget wait", waited)
			}
			if d := res.errBody(t); !strings.Contains(d.Message, "request bytes") || res.header.Get("Retry-After") != "1" || d.Code != "rate_limited" {
				t.Fatalf("B's batch: %+v %v", d, res.header)
			}
			return true
		}
		if res.status != http.StatusOK {
			t.Fatalf("B's batch %d while A's stalled batch should hold the budget: %s", res.status, res.body)
		}
		return false
	}, "B's batch to be refused while A's stalled batch holds the budget")
	// A's only slot is taken: its lineage walk and batches are refused at once.
	for _, r := range []req{
		{method: "GET", path: "/api/v1/assets/root/lineage", key: e.keyA},
		{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: small},
		{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: small[0]},
	} {
		res := e.must(429, r)
		if d := res.errBody(t); !strings.Contains(d.Message, "in flight") || res.header.Get("Retry-After") != "1" {
			t.Fatalf("%s %s: %+v %v", r.method, r.path, d, res.header)
		}
	}
	e.must(200, req{method: "GET", path: "/api/v1/assets", key: e.keyA})                                  // cheap routes are not limited
	e.must(404, req{method: "GET", path: "/api/v1/assets/" + uuid.NewString() + "/lineage", key: e.keyB}) // B has slots of its own

	if st := release(); st != 0 && st != http.StatusBadRequest { // 0: the client saw its own write fail
		t.Fatalf("the stalled batch ended %d, want 400 (truncated)", st)
	}
	var out map[string]json.RawMessage
	e.must(200, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyB, body: small}).json(t, &out)
	e.must(200, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: small})
	e.must(200, req{method: "GET", path: "/api/v1/assets/root/lineage", key: e.keyA})
}
