package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
	"github.com/servo-data/servo/internal/transport/api/apitest"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// olFixtures holds the OpenLineage events of real producers.
const olFixtures = "../../../testdata/openlineage"

// env is Servo's whole HTTP stack, the console and the API, on a loopback
// listener (apitest.Start), and a client for its API.
type env struct {
	t    *testing.T
	url  string
	keyA string
}

// newEnv is a server whose runtime works runs.
func newEnv(t *testing.T) *env {
	t.Helper()
	s := apitest.Start(t, apitest.Options{Runtime: true, OpenLineage: openlineage.Lenient})
	return &env{t: t, url: s.URL, keyA: s.KeyA}
}

// newOLEnv is a server without a runtime, validating OpenLineage events
// in mode.
func newOLEnv(t *testing.T, mode openlineage.Mode) *env {
	t.Helper()
	s := apitest.Start(t, apitest.Options{OpenLineage: mode})
	return &env{t: t, url: s.URL, keyA: s.KeyA}
}

// resp is a response with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.body, dst); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

type req struct {
	method string
	path   string
	key    string
	body   any // nil, raw bytes or a value sent as JSON
}

func (e *env) do(r req) resp {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(r.method, e.url+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: raw}
}

// must sends r and fails unless the status is want.
func (e *env) must(want int, r req) resp {
	e.t.Helper()
	res := e.do(r)
	if res.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, res.status, want, res.body)
	}
	if res.header.Get("X-Request-ID") == "" {
		e.t.Fatalf("%s %s: no X-Request-ID", r.method, r.path)
	}
	if want >= 400 {
		res.errBody(e.t)
	}
	return res
}

// errBody decodes the error envelope and checks its shape.
func (r resp) errBody(t *testing.T) api.ErrorDetail {
	t.Helper()
	var raw map[string]map[string]any
	r.json(t, &raw)
	e, ok := raw["error"]
	if !ok || len(raw) != 1 {
		t.Fatalf("error body %s lacks the error envelope", r.body)
	}
	for _, k := range []string{"code", "message", "details"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("error body %s lacks %q", r.body, k)
		}
	}
	var body api.ErrorBody
	r.json(t, &body)
	return body.Error
}

// asset creates an asset and returns its id.
func (e *env) asset(key, name string) string {
	e.t.Helper()
	var b struct {
		Asset struct {
			ID string `json:"id"`
		} `json:"asset"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: key, body: map[string]any{"name": name}}).json(e.t, &b)
	return b.Asset.ID
}

// waitStatus polls a run until it ends and returns its status.
func (e *env) waitStatus(key, id string) string {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var run struct {
			Status string `json:"status"`
		}
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + id, key: key}).json(e.t, &run)
		switch run.Status {
		case "success", "failed", "skipped", "upstream_failed", "cancelled":
			return run.Status
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s still %s", id, run.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type backfillBody struct {
	Backfill struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"backfill"`
}

// waitBackfill polls a backfill until it ends.
func (e *env) waitBackfill(key, id string) backfillBody {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var b backfillBody
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/backfills/" + id, key: key}).json(e.t, &b)
		switch b.Backfill.State {
		case "succeeded", "failed", "cancelled":
			return b
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("backfill %s still %s", id, b.Backfill.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
