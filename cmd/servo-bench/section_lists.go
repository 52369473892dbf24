package main

import (
	"context"
	"fmt"
	"net/http"
)

func init() { registerSection(section{Name: "lists", Run: measureLists}) }

// measureLists holds the big tenant's list pages, `total` included, against
// the bare keyset query of the same page: the first page with the default
// count (exact up to 1,000 rows, a cached estimate past them), the same
// with ?count=exact, and the deep page by cursor.
func measureLists(ctx context.Context, e *env) ([]row, error) {
	d := e.data
	n := e.o.Clients
	var first struct {
		Total    int64 `json:"total"`
		Estimate bool  `json:"total_is_estimate"`
	}
	if err := e.getJSON(ctx, "/api/v1/assets?limit=50", d.BigKey, &first); err != nil {
		return nil, err
	}
	logf("lists: first page total %d, estimate %v", first.Total, first.Estimate)
	bareGET := func(path string) func() result {
		return func() result {
			return runLoad(ctx, n, e.o.Duration, func(ctx context.Context, _, _ int) error {
				req, _ := http.NewRequest(http.MethodGet, e.base.url+path, nil)
				return do(ctx, e.client, req, http.StatusOK)
			})
		}
	}
	bareFirst := "/bare-list/" + d.BigTenant + "?limit=50"
	bareDeep := bareFirst + "&cursor=" + e.deepCur
	const baseName = "bare pgx keyset query, same page"
	page := row{Name: fmt.Sprintf("GET /api/v1/assets?limit=50 (first page of %d, default count)", e.o.Sizes.BigAssets), Clients: n,
		Baseline: baseName, Latency: true, Target: "<= 1.5x"}
	exact := row{Name: "... the same with ?count=exact", Clients: n, Baseline: baseName, Latency: true}
	deep := row{Name: fmt.Sprintf("... page %d by cursor, default count", e.deepOff/50+1), Clients: n, Baseline: baseName, Latency: true}
	servoFirst := e.loadGET(ctx, n, d.BigKey, func(int, int) string { return "/api/v1/assets?limit=50" })
	if err := e.profile(ctx, "list", servoFirst); err != nil {
		return nil, err
	}
	res, err := e.interleaved(
		series{"servo list first page", servoFirst},
		series{"baseline bare keyset first page", bareGET(bareFirst)},
		series{"servo list first page, count=exact", e.loadGET(ctx, n, d.BigKey, func(int, int) string { return "/api/v1/assets?limit=50&count=exact" })},
		series{"servo list deep page by cursor", e.loadGET(ctx, n, d.BigKey, func(int, int) string {
			return "/api/v1/assets?limit=50&cursor=" + e.deepCur
		})},
		series{"baseline bare keyset deep page", bareGET(bareDeep)},
	)
	if err != nil {
		return nil, err
	}
	page.Servo, page.Base = res[0], res[1]
	exact.Servo, exact.Base = res[2], res[1]
	deep.Servo, deep.Base = res[3], res[4]
	return []row{page, exact, deep}, nil
}
