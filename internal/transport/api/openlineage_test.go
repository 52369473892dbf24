package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// olFixtures holds copies of the OpenLineage test events (see its README).
const olFixtures = "../../../testdata/openlineage"

// olStrictInvalid are the fixtures the README says do not validate against
// the 2-0-2 schema (though Marquez accepts them), with the location strict
// mode reports.
var olStrictInvalid = map[string]string{
	"marquez/event_without_schema_url.json":   "#",
	"marquez/event_required_no_timezone.json": "#/eventTime",
	"marquez/listener/1.json":                 "#",
	"marquez/listener/2.json":                 "#",
	"marquez/seed_metadata.template.json":     "", // not an event: sent by TestOpenLineageAPI_SeedGraph
	"spec/example_full_event.json":            "", // valid
	"marquez/event_dataset_event.json":        "", // valid
	"marquez/event_required_nanoseconds.json": "", // valid
	"marquez/event_unicode.json":              "", // valid
	"marquez/null_nominal_end_time.json":      "", // valid
	"marquez/event_namespace_naming.json":     "", // valid
	"marquez/event_job_event.json":            "", // valid
	"marquez/event_full.json":                 "", // valid
	"marquez/event_large.json":                "", // valid
	"marquez/event_simple.json":               "", // valid
	"marquez/event_additional_facet.json":     "", // valid
	"marquez/event_required_only.json":        "", // valid
}

// olMatrixEvent is a valid RunEvent of a run of its own, which the
// isolation matrix sends as tenant B.
func olMatrixEvent() map[string]any {
	return olEvent(uuid.NewString(), "COMPLETE", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "a/flow", []string{"a/up"}, []string{"a/down"})
}

// olEvent builds a RunEvent; jobs and datasets are "namespace/name".
func olEvent(runID, eventType string, at time.Time, job string, inputs, outputs []string) map[string]any {
	ds := func(names []string) []any {
		out := []any{}
		for _, n := range names {
			ns, name, _ := strings.Cut(n, "/")
			out = append(out, map[string]any{"namespace": ns, "name": name})
		}
		return out
	}
	ns, name, _ := strings.Cut(job, "/")
	return map[string]any{
		"eventType": eventType, "eventTime": at.UTC().Format(time.RFC3339Nano),
		"producer": "https://github.com/servo-data/servo/tests", "schemaURL": openlineage.SpecURL + "#/$defs/RunEvent",
		"run": map[string]any{"runId": runID}, "job": map[string]any{"namespace": ns, "name": name},
		"inputs": ds(inputs), "outputs": ds(outputs),
	}
}

// newOLEnv is newEnv with an ingester in the given mode (and no runtime:
// OpenLineage runs are never dispatched anyway).
func newOLEnv(t *testing.T, mode openlineage.Mode) *env {
	t.Helper()
	return newEnvFull(t, zap.NewNop(), false, api.Config{}, mode)
}

// olDoc checks responses against the OpenAPI document.
type olDoc struct {
	t   *testing.T
	doc *openapi3.T
}

// check validates a response body against the operation at template.
func (d olDoc) check(template, method string, res resp) {
	d.t.Helper()
	op := d.doc.Paths.Find(template).GetOperation(method)
	if op == nil {
		d.t.Fatalf("no operation %s %s", method, template)
	}
	r := op.Responses.Status(res.status)
	if r == nil || r.Value == nil {
		d.t.Errorf("%s %s: status %d is not documented", method, template, res.status)
		return
	}
	var v any
	res.json(d.t, &v)
	uuidFormat := openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	if err := r.Value.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.EnableFormatValidation(), uuidFormat, openapi3.MultiErrors()); err != nil {
		d.t.Errorf("%s %s %d: body %.300s does not match the document: %v", method, template, res.status, res.body, err)
	}
}

// checkRequest validates a request body against the operation at template.
func (d olDoc) checkRequest(template string, body any) {
	d.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		d.t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		d.t.Fatal(err)
	}
	op := d.doc.Paths.Find(template).GetOperation("POST")
	if err := op.RequestBody.Value.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.VisitAsRequest(), openapi3.MultiErrors()); err != nil {
		d.t.Errorf("POST %s: request body does not match the document: %v", template, err)
	}
}

type olResult struct {
	Index      *int      `json:"index"`
	OK         bool      `json:"ok"`
	Duplicate  bool      `json:"duplicate"`
	Kind       string    `json:"kind"`
	EventID    string    `json:"event_id"`
	RunID      *string   `json:"run_id"`
	RunState   *string   `json:"run_state"`
	WorkflowID *string   `json:"workflow_id"`
	Warnings   []string  `json:"warnings"`
	Error      *struct{} `json:"error"`
	ErrorBody  *api.ErrorDetail
}

func olFixtureFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(olFixtures, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(olFixtures, p)
			if !strings.HasPrefix(filepath.ToSlash(rel), "servo/") { // TestOpenLineageAPI_Producers
				files = append(files, filepath.ToSlash(rel))
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var known []string
	for f := range olStrictInvalid {
		known = append(known, f)
	}
	sort.Strings(known)
	if !slices.Equal(files, known) {
		t.Fatalf("fixture files %v; classified %v", files, known)
	}
	return files
}

// TestOpenLineageAPI_Fixtures sends every fixture event, in strict and in
// lenient mode, and checks the outcome the fixtures' README states.
func TestOpenLineageAPI_Fixtures(t *testing.T) {
	t.Parallel()
	files := olFixtureFiles(t)
	for _, mode := range []openlineage.Mode{openlineage.Strict, openlineage.Lenient} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			e := newOLEnv(t, mode)
			docT, _ := fetchOpenAPI(t, e)
			doc := olDoc{t: t, doc: docT}
			for _, f := range files {
				if strings.Contains(f, "seed_metadata") {
					continue
				}
				body, err := os.ReadFile(filepath.Join(olFixtures, f))
				if err != nil {
					t.Fatal(err)
				}
				var v any
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatal(err)
				}
				doc.checkRequest("/api/v1/lineage", v)
				problem := olStrictInvalid[f]
				r := req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: body}
				if mode == openlineage.Strict && problem != "" {
					res := e.must(http.StatusUnprocessableEntity, r)
					doc.check("/api/v1/lineage", "POST", res)
					eb := res.errBody(t)
					if eb.Code != api.CodeInvalid || eb.Details[problem] == nil || !strings.Contains(eb.Message, "strict mode") {
						t.Errorf("%s: error %+v, want validation_failed with details at %s", f, eb, problem)
					}
					continue
				}
				res := e.must(http.StatusCreated, r)
				doc.check("/api/v1/lineage", "POST", res)
				var out olResult
				res.json(t, &out)
				wantKind := map[string]string{"marquez/event_dataset_event.json": "DatasetEvent", "marquez/event_job_event.json": "JobEvent"}[f]
				if wantKind == "" {
					wantKind = "RunEvent"
				}
				if !out.OK || out.Duplicate || out.Kind != wantKind || (problem != "") != (len(out.Warnings) > 0) {
					t.Errorf("%s: %+v", f, out)
				}
				again := e.must(http.StatusOK, r)
				doc.check("/api/v1/lineage", "POST", again)
				var dup olResult
				again.json(t, &dup)
				if !dup.Duplicate || dup.EventID != out.EventID {
					t.Errorf("%s again: %+v, want a duplicate of %s", f, dup, out.EventID)
				}
			}
			// The refused events left nothing behind.
			assets := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?limit=500&q=file.localhost", key: e.keyA})
			if has := strings.Contains(string(assets.body), "in_file1.txt"); has != (mode == openlineage.Lenient) {
				t.Errorf("listener's dataset present %v in %s mode", has, mode)
			}
		})
	}
}

// TestOpenLineageAPI_SeedGraph sends the Marquez seed graph as a batch and
// checks the jobs, datasets, runs and the lineage the API answers; another
// tenant sending it in reverse order gets the same world of its own.
func TestOpenLineageAPI_SeedGraph(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	docT, _ := fetchOpenAPI(t, e)
	doc := olDoc{t: t, doc: docT}
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	events := olSeed(t, start)
	doc.checkRequest("/api/v1/lineage/batch", events)

	res := e.must(http.StatusOK, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: events})
	doc.check("/api/v1/lineage/batch", "POST", res)
	var batch struct{ Results []olResult }
	res.json(t, &batch)
	if len(batch.Results) != 26 {
		t.Fatalf("%d results, want 26", len(batch.Results))
	}
	for i, r := range batch.Results {
		if r.Index == nil || *r.Index != i || !r.OK || r.RunID == nil || r.Kind != "RunEvent" {
			t.Errorf("result %d: %+v", i, r)
		}
	}

	// 13 jobs, 13 datasets, 13 runs, all succeeded.
	var wfs struct {
		Workflows []struct{ Name string }
		Total     int
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflows?limit=100", key: e.keyA}).json(t, &wfs)
	var assets struct {
		Assets []struct{ Name, ID string }
		Total  int
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?asset_type=dataset&tag=openlineage&limit=100", key: e.keyA}).json(t, &assets)
	var runs struct{ Total int }
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs?status=success&limit=100", key: e.keyA}).json(t, &runs)
	if wfs.Total != 13 || assets.Total != 13 || runs.Total != 13 {
		t.Errorf("%d workflows, %d datasets, %d succeeded runs; want 13 each", wfs.Total, assets.Total, runs.Total)
	}

	// The lineage API answers the ancestry and descendants the events
	// describe.
	edges := olEdges(events)
	for _, a := range assets.Assets {
		for _, dir := range []string{"upstream", "downstream"} {
			var l struct {
				Nodes []struct {
					Asset     struct{ Name string }
					Direction string
				}
			}
			e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape(a.Name) + "/lineage?direction=" + dir + "&depth=50&types=data", key: e.keyA}).json(t, &l)
			got := map[string]bool{}
			for _, n := range l.Nodes {
				got[n.Asset.Name] = true
			}
			if want := olReach(edges, a.Name, dir == "upstream"); !reflect.DeepEqual(got, want) {
				t.Errorf("%s of %s: %v, want %v", dir, a.Name, got, want)
			}
		}
	}

	// A run's raw events, in eventTime order, through both route aliases.
	runID := *batch.Results[0].RunID
	for _, prefix := range []string{"/api/v1/runs/", "/api/v1/executions/"} {
		res := e.must(http.StatusOK, req{method: "GET", path: prefix + runID + "/lineage-events", key: e.keyA})
		doc.check(strings.TrimPrefix(prefix, "")+"{id}/lineage-events", "GET", res)
		var out struct{ Events []map[string]any }
		res.json(t, &out)
		if len(out.Events) != 2 || out.Events[0]["eventType"] != "START" || out.Events[1]["eventType"] != "COMPLETE" {
			t.Errorf("%s events: %v", prefix, out.Events)
		}
	}
	var page struct{ Events []map[string]any }
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + runID + "/lineage-events?limit=1&offset=1", key: e.keyA}).json(t, &page)
	if len(page.Events) != 1 || page.Events[0]["eventType"] != "COMPLETE" {
		t.Errorf("second page: %v", page.Events)
	}
	var run struct{ Status, State string }
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + runID, key: e.keyA}).json(t, &run)
	if run.Status != "success" || run.State != "succeeded" {
		t.Errorf("run %+v", run)
	}

	// Tenant B sends the same graph in reverse order: every COMPLETE before
	// its START. B gets runs that end succeeded, and A's world is untouched.
	snapshot := func() string {
		var sb strings.Builder
		for _, p := range []string{"/api/v1/assets?limit=100", "/api/v1/workflows?limit=100", "/api/v1/runs?limit=100",
			"/api/v1/assets/" + url.PathEscape("food_delivery/public.delivery_7_days") + "/lineage?depth=50"} {
			sb.Write(e.must(http.StatusOK, req{method: "GET", path: p, key: e.keyA}).body)
		}
		return sb.String()
	}
	before := snapshot()
	reversed := slices.Clone(events)
	slices.Reverse(reversed)
	var bBatch struct{ Results []olResult }
	e.must(http.StatusOK, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyB, body: reversed}).json(t, &bBatch)
	for i, r := range bBatch.Results {
		if !r.OK || r.Duplicate || r.RunState == nil || *r.RunState != "succeeded" {
			t.Errorf("B's result %d: %+v", i, r)
		}
		// Runs take their runId as id, in each tenant.
		if r.RunID == nil || *r.RunID != *batch.Results[len(events)-1-i].RunID {
			t.Errorf("B's event %d: run %v, want the runId's", i, r.RunID)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("tenant B's events changed tenant A's answers")
	}
	var bRuns struct{ Total int }
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs?status=success&limit=100", key: e.keyB}).json(t, &bRuns)
	if bRuns.Total != 13 {
		t.Errorf("B has %d succeeded runs, want 13", bRuns.Total)
	}
	// B reads its own events under the shared id, not A's.
	var bEvents, aEvents struct{ Events []json.RawMessage }
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + runID + "/lineage-events", key: e.keyB}).json(t, &bEvents)
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + runID + "/lineage-events", key: e.keyA}).json(t, &aEvents)
	if len(bEvents.Events) != 2 || len(aEvents.Events) != 2 {
		t.Errorf("events of the shared run: A %d, B %d; want 2 each", len(aEvents.Events), len(bEvents.Events))
	}
	// A run only A has is not B's.
	aOnly := uuid.NewString()
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA,
		body: olEvent(aOnly, "START", time.Now(), "food_delivery/a_only", nil, nil)})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + aOnly + "/lineage-events", key: e.keyB})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + aOnly, key: e.keyB})
	before = snapshot()

	// B's event on the shared runId reaches B's run only.
	var own olResult
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyB,
		body: olEvent(runID, "FAIL", time.Now(), "food_delivery/etl_menus", nil, []string{"food_delivery/public.menus"})}).json(t, &own)
	if own.RunID == nil || *own.RunID != runID || own.RunState == nil || *own.RunState != "succeeded" || len(own.Warnings) == 0 {
		t.Errorf("B's late FAIL on its succeeded run: %+v", own)
	}
	if after := snapshot(); after != before {
		t.Errorf("tenant B's event on A's run id changed tenant A's answers")
	}
}

// TestOpenLineageAPI_Refusals checks the clear 4xx of each kind of bad
// request, and that a batch reports each event's failure on its own.
func TestOpenLineageAPI_Refusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	docT, _ := fetchOpenAPI(t, e)
	doc := olDoc{t: t, doc: docT}
	good := olEvent(uuid.NewString(), "START", time.Now(), "ns/job", []string{"ns/in"}, []string{"ns/out"})

	for _, p := range []string{"/api/v1/lineage", "/api/v1/lineage/batch"} {
		e.must(http.StatusUnauthorized, req{method: "POST", path: p, body: good})
		res := e.must(http.StatusForbidden, req{method: "POST", path: p, key: adminKey, body: good})
		doc.check(p, "POST", res)
		e.must(http.StatusUnsupportedMediaType, req{method: "POST", path: p, key: e.keyA, body: "{}", headers: map[string]string{"Content-Type": "text/plain"}})
		e.must(http.StatusBadRequest, req{method: "POST", path: p, key: e.keyA, body: `{"eventTime": `})
		e.must(http.StatusBadRequest, req{method: "POST", path: p, key: e.keyA, body: `{} {}`})
		e.must(http.StatusBadRequest, req{method: "POST", path: p, key: e.keyA, body: " "})
		huge := `[` + strings.Repeat(" ", api.MaxLineageBodyBytes) + `]`
		doc.check(p, "POST", e.must(http.StatusRequestEntityTooLarge, req{method: "POST", path: p, key: e.keyA, body: huge}))
	}
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: []any{good}})
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: good})
	tooMany := make([]any, api.MaxLineageBatch+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{}
	}
	res := e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: tooMany})
	doc.check("/api/v1/lineage/batch", "POST", res)

	// A body bigger than the API's usual 1 MiB is fine here.
	big := olEvent(uuid.NewString(), "START", time.Now(), "ns/big", []string{"ns/in"}, []string{"ns/out"})
	big["run"].(map[string]any)["facets"] = map[string]any{"blob": map[string]any{
		"_producer": "https://example.com", "_schemaURL": "https://example.com/blob.json", "data": strings.Repeat("x", 2<<20)}}
	doc.check("/api/v1/lineage", "POST", e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: big}))

	// Invalid events: 422 with the failing locations, nothing stored.
	bad := olEvent("not-a-uuid", "START", time.Now(), "ns/bad", []string{"ns/bad-in"}, nil)
	res = e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: bad})
	doc.check("/api/v1/lineage", "POST", res)
	if eb := res.errBody(t); eb.Details["#/run/runId"] == nil {
		t.Errorf("details %v lack #/run/runId", eb.Details)
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape("ns/bad-in"), key: e.keyA})
	nul := olEvent(uuid.NewString(), "START", time.Now(), "ns/nul", nil, nil)
	nul["producer"] = "https://example.com/\x00"
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: nul})

	// A run id of another job: 409.
	owned := olEvent(uuid.NewString(), "START", time.Now(), "ns/owner", nil, nil)
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: owned})
	thief := olEvent(owned["run"].(map[string]any)["runId"].(string), "COMPLETE", time.Now(), "ns/thief", nil, nil)
	doc.check("/api/v1/lineage", "POST", e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: thief}))

	// A mixed batch: each event succeeds or fails on its own.
	mixed := []any{good, bad, "not an event", thief, good}
	res = e.must(http.StatusOK, req{method: "POST", path: "/api/v1/lineage/batch", key: e.keyA, body: mixed})
	doc.check("/api/v1/lineage/batch", "POST", res)
	var out struct {
		Results []struct {
			Index     int
			OK        bool
			Duplicate bool
			Error     *api.ErrorDetail
		}
	}
	res.json(t, &out)
	want := []struct {
		ok   bool
		code string
	}{{true, ""}, {false, api.CodeInvalid}, {false, api.CodeInvalid}, {false, api.CodeConflict}, {true, ""}}
	if len(out.Results) != len(want) {
		t.Fatalf("results %+v", out.Results)
	}
	for i, w := range want {
		r := out.Results[i]
		if r.Index != i || r.OK != w.ok || (w.ok && r.Error != nil) || (!w.ok && (r.Error == nil || r.Error.Code != w.code)) {
			t.Errorf("result %d: %+v, want ok %v code %q", i, r, w.ok, w.code)
		}
	}
	if !out.Results[4].Duplicate {
		t.Error("the second copy of an event in a batch is not a duplicate")
	}

	// Reading a run's events.
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/runs/nope/lineage-events", key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + uuid.NewString() + "/lineage-events", key: e.keyA})
	for _, q := range []string{"limit=0", "limit=1001", "offset=-1"} {
		e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/runs/" + uuid.NewString() + "/lineage-events?" + q, key: e.keyA})
	}
	doc.check("/api/v1/runs/{id}/lineage-events", "GET", e.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/runs/" + uuid.NewString() + "/lineage-events", key: adminKey}))
}

// TestOpenLineageAPI_NotEnabled checks that without an ingester the routes
// exist and say so.
func TestOpenLineageAPI_NotEnabled(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, testdb.Shared(t))
	svc := service.New(st, nil, nil)
	srv, err := api.New(api.Config{}, api.Deps{DB: st, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{AdminKey: adminKey})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, url: ts.URL}
	e.must(http.StatusServiceUnavailable, req{method: "POST", path: "/api/v1/lineage", key: adminKey, body: map[string]any{}})
	e.must(http.StatusServiceUnavailable, req{method: "GET", path: "/api/v1/runs/" + uuid.NewString() + "/lineage-events", key: adminKey})
}

// TestOpenLineageAPI_SchemasMatchDTOs checks that the OpenLineage response
// schemas name exactly the JSON fields of the types the handlers encode
// (embedded structs flattened, as encoding/json does).
func TestOpenLineageAPI_SchemasMatchDTOs(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	var fields func(rt reflect.Type) (all, required []string)
	fields = func(rt reflect.Type) (all, required []string) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if f.Anonymous {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				a, r := fields(ft)
				all = append(all, a...)
				if f.Type.Kind() != reflect.Pointer {
					required = append(required, r...)
				}
				continue
			}
			tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			all = append(all, tag)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, tag)
			}
		}
		return all, required
	}
	for name, typ := range map[string]any{
		"LineageResult": api.LineageResultDTO{}, "LineageBatchItem": api.LineageBatchItemDTO{},
		"LineageBatchResult": api.LineageBatchDTO{}, "LineageEvents": api.LineageEventsDTO{},
	} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("no schema %s", name)
			continue
		}
		all, required := fields(reflect.TypeOf(typ))
		var props []string
		for p := range ref.Value.Properties {
			props = append(props, p)
		}
		got := slices.Clone(ref.Value.Required)
		for _, s := range [][]string{all, required, props, got} {
			sort.Strings(s)
		}
		if !slices.Equal(all, props) {
			t.Errorf("schema %s has properties %v, the Go type %v", name, props, all)
		}
		if !slices.Equal(required, got) {
			t.Errorf("schema %s requires %v, the Go type always sends %v", name, got, required)
		}
	}
}

var olPlaceholder = regexp.MustCompile(`\{\{([A-Z0-9_]+)\}\}`)

// olSeed returns the Marquez seed graph with its placeholders filled: times
// in RFC 3339 from start, any other placeholder a fresh UUID.
func olSeed(t *testing.T, start time.Time) []any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(olFixtures, "marquez/seed_metadata.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	filled := olPlaceholder.ReplaceAllStringFunc(string(b), func(m string) string {
		name := olPlaceholder.FindStringSubmatch(m)[1]
		if name == "RUN_START_TIME" {
			return start.Format(time.RFC3339)
		}
		if n, ok := strings.CutPrefix(name, "RUN_END_TIME_AFTER_"); ok {
			mins, err := strconv.Atoi(strings.TrimSuffix(n, "_MINUTES"))
			if err != nil {
				t.Fatalf("placeholder %s", name)
			}
			return start.Add(time.Duration(mins) * time.Minute).Format(time.RFC3339)
		}
		if ids[name] == "" {
			ids[name] = uuid.NewString()
		}
		return ids[name]
	})
	var events []any
	if err := json.Unmarshal([]byte(filled), &events); err != nil {
		t.Fatal(err)
	}
	return events
}

// olEdges returns the input -> output pairs of events, by asset name.
func olEdges(events []any) map[[2]string]bool {
	name := func(v any) string {
		m := v.(map[string]any)
		return fmt.Sprint(m["namespace"]) + "/" + fmt.Sprint(m["name"])
	}
	out := map[[2]string]bool{}
	for _, e := range events {
		ev := e.(map[string]any)
		ins, _ := ev["inputs"].([]any)
		outs, _ := ev["outputs"].([]any)
		for _, i := range ins {
			for _, o := range outs {
				out[[2]string{name(i), name(o)}] = true
			}
		}
	}
	return out
}

// olReach returns the assets reachable from n along edges, upstream or
// downstream.
func olReach(edges map[[2]string]bool, n string, upstream bool) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(x string) {
		for e := range edges {
			from, to := e[0], e[1]
			if upstream {
				from, to = to, from
			}
			if from == x && !out[to] {
				out[to] = true
				walk(to)
			}
		}
	}
	walk(n)
	return out
}
