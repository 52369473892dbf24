package openlineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// fixtureDir holds copies of the OpenLineage test events (see its README).
const fixtureDir = "../../testdata/openlineage"

// decode decodes JSON as the HTTP layer does: numbers kept as json.Number.
func decode(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

// fixture reads one fixture event.
func fixture(t testing.TB, rel string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, b).(map[string]any)
}

// fixtureCase is one fixture event and what its README says of it.
type fixtureCase struct {
	file string
	kind openlineage.Kind
	// strictValid is whether it validates against the 2-0-2 schema; the
	// others Marquez (and lenient mode) accept anyway.
	strictValid bool
	// problem is, for the others, the location strict mode reports.
	problem string
}

// fixtureCases lists every event fixture but the seed template.
var fixtureCases = []fixtureCase{
	{"marquez/event_additional_facet.json", openlineage.KindRun, true, ""},
	{"marquez/event_dataset_event.json", openlineage.KindDataset, true, ""},
	{"marquez/event_full.json", openlineage.KindRun, true, ""},
	{"marquez/event_job_event.json", openlineage.KindJob, true, ""},
	{"marquez/event_large.json", openlineage.KindRun, true, ""},
	{"marquez/event_namespace_naming.json", openlineage.KindRun, true, ""},
	{"marquez/event_required_nanoseconds.json", openlineage.KindRun, true, ""},
	{"marquez/event_required_no_timezone.json", openlineage.KindRun, false, "#/eventTime"},
	{"marquez/event_required_only.json", openlineage.KindRun, true, ""},
	{"marquez/event_simple.json", openlineage.KindRun, true, ""},
	{"marquez/event_unicode.json", openlineage.KindRun, true, ""},
	{"marquez/event_without_schema_url.json", openlineage.KindRun, false, "#"},
	{"marquez/null_nominal_end_time.json", openlineage.KindRun, true, ""},
	{"marquez/listener/1.json", openlineage.KindRun, false, "#"},
	{"marquez/listener/2.json", openlineage.KindRun, false, "#"},
	{"spec/example_full_event.json", openlineage.KindRun, true, ""},
}

// TestFixtureCasesCoverEveryFile keeps fixtureCases in step with the
// fixture directory: a new file must be classified.
func TestFixtureCasesCoverEveryFile(t *testing.T) {
	t.Parallel()
	var files []string
	err := filepath.WalkDir(fixtureDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(fixtureDir, p)
		if rel != "marquez/seed_metadata.template.json" {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, c := range fixtureCases {
		listed = append(listed, c.file)
	}
	for _, c := range producerCases {
		listed = append(listed, c.file)
	}
	sort.Strings(files)
	sort.Strings(listed)
	if strings.Join(files, ",") != strings.Join(listed, ",") {
		t.Errorf("fixture files %v, cases %v", files, listed)
	}
	if _, err := os.Stat(filepath.Join(fixtureDir, "README.md")); err != nil {
		t.Errorf("the fixtures' README is missing: %v", err)
	}
}

var placeholder = regexp.MustCompile(`\{\{([A-Z0-9_]+)\}\}`)

// seedEvents returns the Marquez seed graph with its placeholders filled:
// RUN_START_TIME is start, RUN_END_TIME_AFTER_<n>_MINUTES is n minutes
// later (RFC 3339), and any other placeholder (a run id) a fresh UUID.
func seedEvents(t testing.TB, start time.Time) []any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "marquez/seed_metadata.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	filled := placeholder.ReplaceAllStringFunc(string(b), func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		switch {
		case name == "RUN_START_TIME":
			return start.UTC().Format(time.RFC3339Nano)
		case strings.HasPrefix(name, "RUN_END_TIME_AFTER_") && strings.HasSuffix(name, "_MINUTES"):
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "RUN_END_TIME_AFTER_"), "_MINUTES"))
			if err != nil {
				t.Fatalf("placeholder %s", name)
			}
			return start.Add(time.Duration(n) * time.Minute).UTC().Format(time.RFC3339Nano)
		}
		if ids[name] == "" {
			ids[name] = uuid.NewString()
		}
		return ids[name]
	})
	if placeholder.MatchString(filled) {
		t.Fatal("placeholders left in the seed")
	}
	return decode(t, []byte(filled)).([]any)
}

// graph is what a list of events describes: datasets, jobs, runs and the
// input -> output edges, by Servo name.
type graph struct {
	datasets map[string]bool
	jobs     map[string]bool
	runs     map[string]bool
	edges    map[[2]string]bool
}

func describe(events []any) graph {
	g := graph{datasets: map[string]bool{}, jobs: map[string]bool{}, runs: map[string]bool{}, edges: map[[2]string]bool{}}
	name := func(v any) string {
		m := v.(map[string]any)
		return m["namespace"].(string) + "/" + m["name"].(string)
	}
	for _, e := range events {
		ev := e.(map[string]any)
		g.jobs[name(ev["job"])] = true
		g.runs[ev["run"].(map[string]any)["runId"].(string)] = true
		ins, _ := ev["inputs"].([]any)
		outs, _ := ev["outputs"].([]any)
		for _, in := range ins {
			g.datasets[name(in)] = true
			for _, out := range outs {
				g.edges[[2]string{name(in), name(out)}] = true
			}
		}
		for _, out := range outs {
			g.datasets[name(out)] = true
		}
	}
	return g
}

// ancestors returns the datasets upstream of n along g's edges.
func (g graph) ancestors(n string) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(x string) {
		for e := range g.edges {
			if e[1] == x && !out[e[0]] {
				out[e[0]] = true
				walk(e[0])
			}
		}
	}
	walk(n)
	return out
}

// clock is a settable clock for the ingester.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fx is one tenant with an ingester, on one backend.
type fx struct {
	t      *testing.T
	b      *testdb.Backend
	svc    *service.Service
	ing    *openlineage.Ingester
	clock  *clock
	tenant string
	ctx    context.Context
}

func newFx(t *testing.T, b *testdb.Backend, mode openlineage.Mode) *fx {
	t.Helper()
	svc := service.New(b.Store, nil, nil)
	c := &clock{t: time.Now()}
	ing, err := openlineage.New(svc, b.Store, openlineage.Options{Mode: mode, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return newFxWith(t, b, svc, ing, c)
}

// newFxWith adds a tenant of its own to an existing ingester.
func newFxWith(t *testing.T, b *testdb.Backend, svc *service.Service, ing *openlineage.Ingester, c *clock) *fx {
	t.Helper()
	tenant := testdb.TenantID("ol")
	if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: tenant}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return &fx{t: t, b: b, svc: svc, ing: ing, clock: c, tenant: tenant, ctx: domain.WithTenant(context.Background(), tenant)}
}

// ingest ingests v and fails the test on error.
func (f *fx) ingest(v any) *openlineage.Result {
	f.t.Helper()
	res, err := f.ing.Ingest(f.ctx, v)
	if err != nil {
		f.t.Fatalf("ingest: %v", err)
	}
	return res
}

// state is a summary of everything the tenant holds, to compare before and
// after an operation that must change nothing.
func (f *fx) state() string {
	f.t.Helper()
	var sb strings.Builder
	assets, err := f.svc.ListAssets(f.ctx, domain.AssetFilter{}, domain.Page{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	names := map[uuid.UUID]string{}
	var lines []string
	for _, a := range assets.Items {
		names[a.ID] = a.Name
		lines = append(lines, fmt.Sprintf("asset %s %s %v", a.Name, a.AssetType, a.Tags))
	}
	for _, a := range assets.Items {
		deps, err := f.svc.AssetDependenciesIn(f.ctx, a.ID, domain.Downstream)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, d := range deps {
			lines = append(lines, fmt.Sprintf("edge %s -> %s %s", names[d.UpstreamAssetID], names[d.DownstreamAssetID], d.DependencyType))
		}
	}
	wfs, err := f.svc.ListWorkflows(f.ctx, domain.Page{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, w := range wfs.Items {
		lines = append(lines, fmt.Sprintf("workflow %s v%d %d assets", w.Name, w.Version, len(w.AssetIDs)))
	}
	runs, err := f.svc.ListRuns(f.ctx, domain.RunFilter{}, domain.Page{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range runs.Items {
		key := ""
		if r.IdempotencyKey != nil {
			key = *r.IdempotencyKey
		}
		evs, err := f.ing.RunEvents(f.ctx, r.ID, domain.Page{Limit: domain.MaxLineageEventsPage})
		if err != nil {
			f.t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("run %s %s attempt %d, %d events", key, r.State, r.Attempt, len(evs)))
	}
	sort.Strings(lines)
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// run returns the tenant's run of an OpenLineage runId.
func (f *fx) run(runID string) *domain.Run {
	f.t.Helper()
	runs, err := f.svc.ListRuns(f.ctx, domain.RunFilter{}, domain.Page{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	for i := range runs.Items {
		if k := runs.Items[i].IdempotencyKey; k != nil && *k == openlineage.IdempotencyKeyPrefix+runID {
			return &runs.Items[i]
		}
	}
	f.t.Fatalf("no run for runId %s", runID)
	return nil
}

// runEvent builds a minimal valid RunEvent.
func runEvent(runID, eventType string, at time.Time, job string, inputs, outputs []string) map[string]any {
	ds := func(names []string) []any {
		out := make([]any, 0, len(names))
		for _, n := range names {
			ns, name, _ := strings.Cut(n, "/")
			out = append(out, map[string]any{"namespace": ns, "name": name})
		}
		return out
	}
	ns, name, _ := strings.Cut(job, "/")
	ev := map[string]any{
		"eventTime": at.UTC().Format(time.RFC3339Nano),
		"producer":  "https://github.com/servo-data/servo/tests",
		"schemaURL": openlineage.SpecURL + "#/$defs/RunEvent",
		"run":       map[string]any{"runId": runID},
		"job":       map[string]any{"namespace": ns, "name": name},
		"inputs":    ds(inputs),
		"outputs":   ds(outputs),
	}
	if eventType != "" {
		ev["eventType"] = eventType
	}
	return ev
}
