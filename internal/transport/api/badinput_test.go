package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/automation"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/schedule"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// fuzzEnv is a server on the shared test database built once per fuzz
// target (per fuzzing worker process), without a runtime: fuzzing only
// needs the API and its storage. Each iteration borrows it with its own
// *testing.T (see iter).
type fuzzEnv struct {
	url        string
	keyA, keyB string
	tenantA    string
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	st := testdb.Open(tb, testdb.Shared(tb))
	svc := service.New(st, nil, nil)
	srv, err := api.New(api.Config{}, api.Deps{DB: st, Log: zap.NewNop(), Version: "fuzz"})
	if err != nil {
		tb.Fatal(err)
	}
	ol, err := openlineage.New(svc, st, openlineage.Options{Log: zap.NewNop()})
	if err != nil {
		tb.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{AdminKey: adminKey, OpenLineage: ol, Backfills: backfill.New(st, svc, nil),
		Schedules: schedule.New(st, svc, nil), Freshness: freshness.New(st, nil), Automations: automation.New(st, svc, nil)})
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	f := &fuzzEnv{url: ts.URL, tenantA: testdb.TenantID("fa")}
	sys := domain.WithSystem(context.Background())
	for _, k := range []struct {
		tenant string
		dst    *string
	}{{f.tenantA, &f.keyA}, {testdb.TenantID("fb"), &f.keyB}} {
		secret, _, err := svc.CreateAPIKey(sys, service.CreateAPIKeyInput{TenantID: k.tenant, CreateTenant: true})
		if err != nil {
			tb.Fatal(err)
		}
		*k.dst = secret
	}
	// Rows for the path and query targets to find.
	var up, down struct {
		Asset struct{ ID string } `json:"asset"`
	}
	setupPost(tb, f, "/api/v1/assets", map[string]any{"name": "seed-up"}, &up)
	setupPost(tb, f, "/api/v1/assets", map[string]any{"name": "seed-down"}, &down)
	setupPost(tb, f, "/api/v1/assets", map[string]any{"name": "seed-daily", "partitions": map[string]any{"type": "time_daily", "start_date": "2026-01-01"}}, nil)
	setupPost(tb, f, "/api/v1/dependencies", map[string]any{"upstream": up.Asset.ID, "downstream": down.Asset.ID}, nil)
	setupPost(tb, f, "/api/v1/workflows", map[string]any{"name": "seed-flow", "assets": []string{up.Asset.ID, down.Asset.ID}}, nil)
	setupPost(tb, f, "/api/v1/schedules", map[string]any{"name": "seed-sched", "workflow": "seed-flow", "cron": "0 2 * * *"}, nil)
	setupPost(tb, f, "/api/v1/automations", map[string]any{"name": "seed-auto", "on": "upstream_updated", "assets": []string{"seed-up"}, "asset": "seed-down"}, nil)
	return f
}

// setupPost creates a row as tenant A during set-up and fails tb unless
// the answer is 201.
func setupPost(tb testing.TB, f *fuzzEnv, path string, body, dst any) {
	tb.Helper()
	raw, _ := json.Marshal(body)
	hr, err := http.NewRequest("POST", f.url+path, strings.NewReader(string(raw)))
	if err != nil {
		tb.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+f.keyA)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		tb.Fatalf("set-up POST %s: %d %s", path, res.StatusCode, out)
	}
	if dst != nil {
		if err := json.Unmarshal(out, dst); err != nil {
			tb.Fatal(err)
		}
	}
}

// iter returns an env that reports to t.
func (f *fuzzEnv) iter(t *testing.T) *env {
	return &env{t: t, url: f.url, keyA: f.keyA, keyB: f.keyB, a: f.tenantA}
}

// counts are the row counts a rejected request must leave unchanged.
type counts struct{ assets, edges, workflows, runs, events, backfills int64 }

// counts returns tenant A's rows in every table a request could write.
func (e *env) counts(string) counts {
	e.t.Helper()
	// The owner counts one tenant's rows exactly: through the API a count
	// would also hold the global rows other tests create and delete
	// meanwhile.
	var c counts
	err := testdb.SharedOwner(e.t).QueryRow(`SELECT
		(SELECT count(*) FROM assets WHERE tenant_id = $1),
		(SELECT count(*) FROM asset_dependencies WHERE tenant_id = $1),
		(SELECT count(*) FROM workflows WHERE tenant_id = $1),
		(SELECT count(*) FROM executions WHERE tenant_id = $1),
		(SELECT count(*) FROM lineage_events WHERE tenant_id = $1),
		(SELECT count(*) FROM backfills WHERE tenant_id = $1)`, e.a).Scan(&c.assets, &c.edges, &c.workflows, &c.runs, &c.events, &c.backfills)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// checkAnswer asserts what every answer to bad input must be: below 500,
// with the error envelope when it is an error, and, when rejected, no write.
func (e *env) checkAnswer(what string, res resp, before counts, key string) {
	e.t.Helper()
	if res.status >= 500 {
		e.t.Fatalf("%s: status %d: %s", what, res.status, res.body)
	}
	if res.status >= 400 {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(res.body, &raw); err != nil || len(raw) != 1 || raw["error"] == nil {
			e.t.Fatalf("%s: status %d without the error envelope: %q", what, res.status, res.body)
		}
		res.errBody(e.t)
		if after := e.counts(key); after != before {
			e.t.Fatalf("%s: rejected with %d but rows changed: %+v -> %+v", what, res.status, before, after)
		}
	}
}

// send is do with a raw body and a raw path (already escaped), which it
// refuses to build only when net/http would; such inputs are skipped.
func (e *env) send(method, rawPath, key string, body []byte) (resp, bool) {
	e.t.Helper()
	u, err := url.Parse(e.url + requestTarget(rawPath))
	if err != nil {
		return resp{}, false
	}
	hr, err := http.NewRequest(method, u.String(), strings.NewReader(string(body)))
	if err != nil {
		return resp{}, false
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Authorization", "Bearer "+key)
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(hr)
	if err != nil {
		if strings.Contains(err.Error(), "invalid") {
			return resp{}, false // the client refused the URL
		}
		e.t.Fatalf("%s %s: %v", method, rawPath, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: raw}, true
}

// requestTarget percent-encodes what would not survive the request line:
// bytes outside printable ASCII, '#', and a '%' that starts no escape.
// net/http itself answers a malformed request line with a plain-text 400
// before Servo sees it, so without this the fuzzers would test net/http.
func requestTarget(raw string) string {
	const hex = "0123456789ABCDEF"
	isHex := func(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }
	var sb strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c <= ' ' || c >= 0x7f || c == '#' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}',
			c == '%' && (i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2])):
			sb.WriteByte('%')
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&15])
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// FuzzCreateBackfill posts arbitrary bodies to POST /api/v1/backfills.
func FuzzCreateBackfill(f *testing.F) {
	for _, s := range []string{
		`{"asset":"seed-daily","range":{"start":"2026-01-01","end":"2026-01-02"}}`, `{"asset":"seed-daily","partition_keys":["2026-01-01"]}`,
		`{"asset":"seed-daily","range":{"start":"2026-01-02","end":"2026-01-01"}}`, `{"asset":"seed-daily","range":{}}`,
		`{"asset":"seed-daily","partition_keys":[]}`, `{"asset":"seed-daily","partition_keys":["\u0000"]}`, `{"workflow":"seed-flow","partition_keys":["p"]}`,
		`{"asset":"seed-up","range":{"start":"a","end":"b"}}`, `{"asset":"seed-daily","partition_keys":["2026-01-01"],"max_concurrency":1e9}`,
		`{"asset":1}`, `[]`, `null`, `{"asset":"seed-daily","partition_keys":["2026-01-01"],"wait_for_upstream":"yes"}`,
	} {
		f.Add([]byte(s))
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e := fe.iter(t)
		before := e.counts(fe.keyA)
		res, ok := e.send("POST", "/api/v1/backfills", fe.keyA, body)
		if !ok {
			t.Skip()
		}
		e.checkAnswer("POST /api/v1/backfills", res, before, fe.keyA)
	})
}

// FuzzCreateAsset posts arbitrary bodies to POST /api/v1/assets.
func FuzzCreateAsset(f *testing.F) {
	for _, s := range []string{
		`{"name":"a"}`, `{"name":"a","tags":["x"],"owner":"o","asset_type":"table"}`, `{"name":`, `{"name":1}`,
		`{"name":"a","nope":1}`, `[]`, `null`, `{"name":"a\u0000b"}`, "{\"name\":\"\xff\"}",
		`{"name":"a","compute":{"kind":"command","argv":["/bin/echo"]}}`, `{"name":"a"}{"name":"b"}`,
		`{"name":"` + strings.Repeat("n", 256) + `"}`, `{"name":"x","global":true}`,
	} {
		f.Add([]byte(s))
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e := fe.iter(t)
		before := e.counts(fe.keyA)
		res, ok := e.send("POST", "/api/v1/assets", fe.keyA, body)
		if !ok {
			t.Skip()
		}
		if res.status != http.StatusCreated && res.status >= 500 {
			t.Fatalf("status %d", res.status)
		}
		e.checkAnswer("POST /api/v1/assets", res, before, fe.keyA)
	})
}

// FuzzCreateSchedule posts arbitrary bodies to POST /api/v1/schedules and
// POST /api/v1/automations: never a 5xx, and a rejected body writes nothing.
func FuzzCreateSchedule(f *testing.F) {
	for _, s := range []string{
		`{"name":"s","workflow":"seed-flow","cron":"0 2 * * *"}`,
		`{"name":"s2","workflow":"seed-flow","cron":"0 2 * * *","timezone":"Europe/Berlin","partition":"previous_day","catchup":"all","max_catchup":100}`,
		`{"name":"s","workflow":"seed-flow","cron":"0 2 30 2 *"}`, `{"name":"s","workflow":"seed-flow","cron":"@every 1s"}`,
		`{"name":"s","workflow":"seed-flow","cron":"0 2 * * *","timezone":"../../../etc/localtime"}`,
		`{"name":"s","workflow":"seed-flow","cron":"0 2 * * *","max_catchup":-1}`, `{"name":"s","workflow":"seed-flow","cron":"\u0000"}`,
		`{"name":"s","workflow":"seed-flow","cron":"0 2 * * *","workflow_version":2147483648}`,
		`{"name":"a","on":"upstream_updated","assets":["seed-up"],"asset":"seed-down","min_interval":"1h"}`,
		`{"name":"a","on":"freshness_violated","assets":["seed-up","seed-up"],"workflow":"seed-flow"}`,
		`{"name":"a","on":"upstream_updated","assets":["00000000-0000-0000-0000-000000000000"],"asset":"seed-down"}`,
		`{"name":"a","on":"upstream_updated","assets":["seed-up"],"asset":"seed-down","min_interval":"9999999h"}`,
		`{"name":`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e := fe.iter(t)
		path := "/api/v1/schedules"
		if bytes.Contains(body, []byte(`"on"`)) {
			path = "/api/v1/automations"
		}
		before := e.counts(fe.keyA)
		res, ok := e.send("POST", path, fe.keyA, body)
		if !ok {
			t.Skip()
		}
		if res.status >= 500 {
			t.Fatalf("POST %s %s: status %d %s", path, body, res.status, res.body)
		}
		e.checkAnswer("POST "+path, res, before, fe.keyA)
	})
}

// listPaths are the routes FuzzQueryParams sends query strings to.
var listPaths = []string{
	"/api/v1/assets", "/api/v1/workflows", "/api/v1/runs", "/api/v1/assets/seed-up/lineage",
	"/api/v1/assets/seed-up/upstream", "/api/v1/assets/seed-down/downstream", "/api/v1/workflows/seed-flow/versions",
	"/api/v1/backfills", "/api/v1/assets/seed-daily/partitions",
	"/api/v1/schedules", "/api/v1/schedules/seed-sched/ticks", "/api/v1/automations", "/api/v1/automations/seed-auto/evaluations",
}

// FuzzQueryParams sends arbitrary query strings to the list and lineage
// routes.
func FuzzQueryParams(f *testing.F) {
	for i, s := range []string{
		"limit=10&offset=0", "limit=-1", "limit=1000000000000", "offset=-5", "depth=0", "depth=-1",
		"depth=1000000000", "q=%25", "q=_", "q='; DROP TABLE assets;--", "cursor=garbage", "cursor=&offset=1",
		"direction=sideways", "format=dot", "status=nope", "tag=%00", "limit=1e3", "limit=%ff",
	} {
		f.Add(uint8(i), s)
	}
	// Bytes no text column holds, in the asset list's filters (index 0 of
	// listPaths): the name prefix and the tag go to PostgreSQL as values.
	for _, s := range []string{"q=%00", "q=%ff", "q=a%e2%82", "q=%c0%af", "tag=%ff", "owner=%00", "asset_type=%fe&q=x"} {
		f.Add(uint8(0), s)
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		e := fe.iter(t)
		path := listPaths[int(which)%len(listPaths)]
		before := e.counts(fe.keyA)
		res, ok := e.send("GET", path+"?"+query, fe.keyA, nil)
		if !ok {
			t.Skip()
		}
		e.checkAnswer("GET "+path+"?"+query, res, before, fe.keyA)
	})
}

// refRoutes are the routes FuzzPathRefs fills with a path value; %s is the
// escaped value.
var refRoutes = []struct{ method, path string }{
	{"GET", "/api/v1/assets/%s"}, {"GET", "/api/v1/assets/%s/lineage"}, {"GET", "/api/v1/assets/%s/dependencies"},
	{"GET", "/api/v1/workflows/%s"}, {"GET", "/api/v1/workflows/%s/versions"}, {"GET", "/api/v1/runs/%s"},
	{"GET", "/api/v1/executions/%s/events"}, {"GET", "/api/v1/dependencies/%s"}, {"GET", "/api/v1/workflow-runs/%s"},
	{"PATCH", "/api/v1/assets/%s"}, {"PATCH", "/api/v1/workflows/%s"},
	{"GET", "/api/v1/backfills/%s"}, {"GET", "/api/v1/backfills/%s/partitions"}, {"GET", "/api/v1/assets/%s/partitions"},
	{"GET", "/api/v1/schedules/%s"}, {"GET", "/api/v1/schedules/%s/ticks"},
	{"GET", "/api/v1/automations/%s"}, {"GET", "/api/v1/automations/%s/evaluations"},
}

// FuzzPathRefs fills the {asset}, {workflow} and {id} path values with
// arbitrary strings, escaped or sent raw.
func FuzzPathRefs(f *testing.F) {
	for i, s := range []string{
		"seed-up", "seed-flow", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "../../etc/passwd",
		"%", "%zz", "a/b", "' OR 1=1 --", "\x00", "\xff\xfe", strings.Repeat("x", 300), "ＡＢＣ",
	} {
		f.Add(uint8(i), s, i%2 == 0)
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, which uint8, ref string, escape bool) {
		e := fe.iter(t)
		rt := refRoutes[int(which)%len(refRoutes)]
		v := ref
		if escape {
			v = url.PathEscape(ref)
		}
		path := strings.Replace(rt.path, "%s", v, 1)
		var body []byte
		if rt.method == "PATCH" {
			body = []byte(`{"description":"fuzzed"}`)
		}
		before := e.counts(fe.keyA)
		res, ok := e.send(rt.method, path, fe.keyA, body)
		if !ok {
			t.Skip()
		}
		e.checkAnswer(rt.method+" "+path, res, before, fe.keyA)
	})
}

// FuzzOpenLineage posts arbitrary bodies to POST /api/v1/lineage.
func FuzzOpenLineage(f *testing.F) {
	event := `{"eventType":"COMPLETE","eventTime":"2024-01-01T00:00:00Z","producer":"https://example.com/p",` +
		`"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",` +
		`"run":{"runId":"0190c5c4-7c3a-7a0b-9d7e-0f1e2d3c4b5a"},"job":{"namespace":"ns","name":"job"},` +
		`"inputs":[{"namespace":"ns","name":"in"}],"outputs":[{"namespace":"ns","name":"out"}]}`
	for _, s := range []string{
		event, `{}`, `[]`, `{"eventType":1}`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"eventType":"START","run":{"runId":"nope"}}`, "{\"job\":{\"name\":\"\xff\"}}", `{"eventTime":"yesterday"}`,
	} {
		f.Add([]byte(s))
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e := fe.iter(t)
		before := e.counts(fe.keyA)
		res, ok := e.send("POST", "/api/v1/lineage", fe.keyA, body)
		if !ok {
			t.Skip()
		}
		e.checkAnswer("POST /api/v1/lineage", res, before, fe.keyA)
	})
}
