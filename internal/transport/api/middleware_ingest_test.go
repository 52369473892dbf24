package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/testutil"
	"github.com/servo-data/servo/internal/transport/api"
)

// A tenant that has used its share of the server's time for OpenLineage
// ingestion gets 429 with Retry-After on both ingestion routes, and stores
// nothing of the refused request; the budget is per tenant (all its keys),
// so another tenant ingests at once, and the tenant's other routes are not
// limited.
func TestIngestBudget(t *testing.T) {
	t.Parallel()
	// A share so small that any request puts its tenant in debt for long.
	e := newEnvConfig(t, zap.NewNop(), false, api.Config{TenantIngestShare: 0.001})
	batch := func(job string) []any {
		return []any{olEvent(uuid.NewString(), "COMPLETE", time.Now(), "budget/"+job, []string{"budget/in"}, []string{"budget/out"})}
	}
	e.must(200, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: batch("first")})

	// A's ingestion time so far is far over 0.001% of the time since: the
	// next batch is refused (or, should the first have been quicker than
	// the budget's few microseconds of burst, one of the next).
	var refused resp
	n := 0
	testutil.WaitFor(t, 30*time.Second, func() bool {
		n++
		refused = e.do(req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: batch(fmt.Sprintf("refused-%d", n))})
		if refused.status == http.StatusOK {
			return false
		}
		secs, err := strconv.Atoi(refused.header.Get("Retry-After"))
		return err == nil && secs >= 60 // long enough for the checks below
	}, "A's batches to be refused with a Retry-After of a minute or more")
	if refused.status != http.StatusTooManyRequests {
		t.Fatalf("A's batch past its budget: %d %s", refused.status, refused.body)
	}
	d := refused.errBody(t)
	secs, _ := strconv.Atoi(refused.header.Get("Retry-After"))
	if d.Code != "rate_limited" || !strings.Contains(d.Message, "OpenLineage ingestion") || d.Details["retry_after_seconds"] != float64(secs) {
		t.Fatalf("429 body: %+v, Retry-After %d", d, secs)
	}
	// Nothing of the refused batch was stored.
	e.must(404, req{method: "GET", path: "/api/v1/workflows/" + fmt.Sprintf("budget%%2Frefused-%d", n), key: e.keyA})

	// Both routes, and every key of the tenant.
	for _, r := range []req{
		{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: batch("single")[0]},
		{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA2, body: batch("other-key")},
	} {
		res := e.must(429, r)
		if res.header.Get("Retry-After") == "" || res.errBody(t).Code != "rate_limited" {
			t.Fatalf("%s with %s: %v %s", r.path, r.key, res.header, res.body)
		}
	}
	// A's other routes are not limited.
	e.must(200, req{method: "GET", path: "/api/v1/workflows/budget%2Ffirst", key: e.keyA})
	e.must(200, req{method: "GET", path: "/api/v1/assets", key: e.keyA})

	// B has a budget of its own: its batch is stored at once, in B only.
	e.must(200, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyB, body: batch("of-b")})
	e.must(200, req{method: "GET", path: "/api/v1/workflows/budget%2Fof-b", key: e.keyB})
	e.must(404, req{method: "GET", path: "/api/v1/workflows/budget%2Fof-b", key: e.keyA})
	e.must(404, req{method: "GET", path: "/api/v1/workflows/budget%2Ffirst", key: e.keyB})
	// ... and B's debt now refuses B, not A's other tenant-mates or A more.
	testutil.WaitFor(t, 30*time.Second, func() bool {
		return e.do(req{method: "POST", path: "/api/v1/lineage", key: e.keyB, body: batch("b-more")[0]}).status == http.StatusTooManyRequests
	}, "B's events to be refused once B is past its own budget")
}

// Without a share (the zero Config), ingestion is not budgeted.
func TestIngestBudgetOff(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, zap.NewNop(), false, api.Config{})
	for i := range 20 {
		ev := olEvent(uuid.NewString(), "COMPLETE", time.Now(), fmt.Sprintf("nobudget/j%d", i), nil, nil)
		e.must(200, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: []any{ev}})
	}
}
