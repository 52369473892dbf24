package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestAPICursorPaging walks every list by next_cursor, and checks that a
// malformed cursor, or a cursor with an offset, is 400.
func TestAPICursorPaging(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	const n = 7
	for i := range n {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": fmt.Sprintf("cur.%d", i)}})
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "cur-wf", "assets": []string{"cur.0"}}})

	type page struct {
		Assets     []struct{ ID string } `json:"assets"`
		Total      int64                 `json:"total"`
		NextCursor *string               `json:"next_cursor"`
	}
	seen := map[string]bool{}
	path := "/api/v1/assets?limit=3"
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("cursor paging does not end")
		}
		var p page
		e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA}).json(t, &p)
		if p.Total != n {
			t.Fatalf("total = %d, want %d", p.Total, n)
		}
		for _, a := range p.Assets {
			if seen[a.ID] {
				t.Fatalf("asset %s on two pages", a.ID)
			}
			seen[a.ID] = true
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/v1/assets?limit=3&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if len(seen) != n {
		t.Fatalf("pages held %d of %d assets", len(seen), n)
	}

	// The other lists answer next_cursor too (null here: one page).
	for _, p := range []string{"/api/v1/workflows", "/api/v1/workflows/cur-wf/versions", "/api/v1/runs", "/api/v1/executions"} {
		var body map[string]any
		e.must(http.StatusOK, req{method: "GET", path: p, key: e.keyA}).json(t, &body)
		if v, ok := body["next_cursor"]; !ok || v != nil {
			t.Errorf("%s: next_cursor = %v (present %v), want null", p, v, ok)
		}
	}

	var first page
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?limit=1", key: e.keyA}).json(t, &first)
	good := url.QueryEscape(*first.NextCursor)
	for _, p := range []string{
		"/api/v1/assets?cursor=",
		"/api/v1/assets?cursor=not-base64!",
		"/api/v1/assets?cursor=AAAA",
		"/api/v1/assets?cursor=" + good + "x",
		"/api/v1/assets?cursor=" + good + "&cursor=" + good,
		"/api/v1/assets?offset=1&cursor=" + good,
		"/api/v1/assets?offset=0&cursor=" + good,
		"/api/v1/workflows?cursor=%2A%2A",
		"/api/v1/workflows/cur-wf/versions?cursor=zz",
		"/api/v1/runs?cursor=zz",
		"/api/v1/executions?cursor=zz",
	} {
		res := e.do(req{method: "GET", path: p, key: e.keyA})
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", p, res.status, res.body)
		}
	}
}
