package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
)

// TestConcurrentCreateOneName: 50 concurrent creates of one name give
// exactly one 201 and 49 409s, and one row.
func TestConcurrentCreateOneName(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	const n = 50
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = rawDo(t, e.url, "POST", "/api/v1/assets", e.keyA, `{"name":"contested"}`, nil).status
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
		t.Fatalf("statuses %v, want one 201 and %d 409", count, n-1)
	}
	var list struct {
		Total int `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?q=contested", key: e.keyA}).json(t, &list)
	if list.Total != 1 {
		t.Fatalf("%d rows named contested, want 1", list.Total)
	}
}

// rawDo is a request safe to send from many goroutines: it reports
// transport errors with t.Error and returns a zero resp.
func rawDo(t *testing.T, base, method, path, key, body string, headers map[string]string) resp {
	hr, err := http.NewRequest(method, base+path, bytes.NewBufferString(body))
	if err != nil {
		t.Error(err)
		return resp{}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+key)
	for k, v := range headers {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Error(err)
		return resp{}
	}
	defer func() { _ = res.Body.Close() }()
	raw, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: raw}
}

// TestETagIfMatch checks the optimistic-concurrency contract on assets and
// workflows: GET and PATCH send an ETag that changes with every update; a
// PATCH with the current ETag (or *) applies; with a stale one it is 412
// and changes nothing; without If-Match the last write wins.
func TestETagIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	up := e.asset(e.keyA, "etag-asset")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "etag-flow", "assets": []string{up}}})
	for _, path := range []string{"/api/v1/assets/etag-asset", "/api/v1/workflows/etag-flow"} {
		got := e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA})
		tag0 := got.header.Get("ETag")
		if len(tag0) < 3 || tag0[0] != '"' {
			t.Fatalf("GET %s: ETag %q, want a strong tag", path, tag0)
		}
		if again := e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA}).header.Get("ETag"); again != tag0 {
			t.Fatalf("GET %s: ETag changed without an update: %s then %s", path, tag0, again)
		}
		p1 := e.must(http.StatusOK, req{method: "PATCH", path: path, key: e.keyA, body: map[string]any{"description": "one"}, headers: map[string]string{"If-Match": tag0}})
		tag1 := p1.header.Get("ETag")
		if tag1 == "" || tag1 == tag0 {
			t.Fatalf("PATCH %s: ETag %q after the update, want a new one (was %s)", path, tag1, tag0)
		}
		stale := e.must(http.StatusPreconditionFailed, req{method: "PATCH", path: path, key: e.keyA, body: map[string]any{"description": "lost"}, headers: map[string]string{"If-Match": tag0}})
		if code := stale.errBody(t).Code; code != "precondition_failed" {
			t.Errorf("stale If-Match: code %q", code)
		}
		e.must(http.StatusPreconditionFailed, req{method: "PATCH", path: path, key: e.keyA, body: map[string]any{"description": "lost"}, headers: map[string]string{"If-Match": "W/" + tag1}})
		var body map[string]map[string]any
		e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA}).json(t, &body)
		for _, v := range body {
			if v["description"] != "one" {
				t.Fatalf("a refused PATCH changed %s: %v", path, v["description"])
			}
		}
		e.must(http.StatusOK, req{method: "PATCH", path: path, key: e.keyA, body: map[string]any{"description": "two"}, headers: map[string]string{"If-Match": `"x", ` + tag1}})
		e.must(http.StatusOK, req{method: "PATCH", path: path, key: e.keyA, body: map[string]any{"description": "three"}, headers: map[string]string{"If-Match": "*"}})
		e.must(http.StatusOK, req{method: "PATCH", path: path, key: e.keyA, body: map[string]any{"description": "four"}})
		// Another tenant with A's current ETag still gets 404, not 412.
		cur := e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA}).header.Get("ETag")
		e.must(http.StatusNotFound, req{method: "PATCH", path: path, key: e.keyB, body: map[string]any{"description": "x"}, headers: map[string]string{"If-Match": cur}})
	}
}

// TestConcurrentPatchIfMatch: rounds of 20 concurrent PATCHes, each sending
// the ETag all of them read. Exactly one wins per ETag generation, the
// others get 412, and the winner's write is what a GET returns: no update
// is lost.
func TestConcurrentPatchIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	e.asset(e.keyA, "contended")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "contended-flow", "assets": []string{"contended"}}})
	for _, path := range []string{"/api/v1/assets/contended", "/api/v1/workflows/contended-flow"} {
		seen := map[string]bool{}
		for round := range 5 {
			tag := e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA}).header.Get("ETag")
			if seen[tag] {
				t.Fatalf("%s: ETag %s came back in round %d", path, tag, round)
			}
			seen[tag] = true
			const n = 20
			results := make([]resp, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					body := fmt.Sprintf(`{"description":"round %d writer %d"}`, round, i)
					results[i] = rawDo(t, e.url, "PATCH", path, e.keyA, body, map[string]string{"If-Match": tag})
				}()
			}
			close(start)
			wg.Wait()
			var winners []int
			count := map[int]int{}
			for i, r := range results {
				count[r.status]++
				if r.status == http.StatusOK {
					winners = append(winners, i)
				}
			}
			if len(winners) != 1 || count[http.StatusPreconditionFailed] != n-1 {
				sort.Ints(winners)
				t.Fatalf("%s round %d: statuses %v (winners %v), want one 200 and %d 412", path, round, count, winners, n-1)
			}
			var body map[string]map[string]any
			e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA}).json(t, &body)
			want := fmt.Sprintf("round %d writer %d", round, winners[0])
			for _, v := range body {
				if v["description"] != want {
					t.Fatalf("%s round %d: description %q, want the winner's %q", path, round, v["description"], want)
				}
			}
			if got := results[winners[0]].header.Get("ETag"); got == tag || got == "" {
				t.Fatalf("%s: the winner's answer carries ETag %q", path, got)
			}
		}
	}
}
