package openlineage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/testdb"
)

// sparkLike returns runs*2 events (a START and a COMPLETE per run) over
// jobs jobs chained through datasets, with schema and column lineage
// facets; every third run's COMPLETE comes before its START, and runs
// interleave so that a run's two events fall in different chunks.
func sparkLike(runs, jobs int, at time.Time) []any {
	ds := func(i int, lineage bool) map[string]any {
		facets := map[string]any{"schema": map[string]any{
			"_producer": "https://example.com/spark", "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
			"fields": []any{map[string]any{"name": "id", "type": "long"}, map[string]any{"name": "amount", "type": "decimal"}},
		}}
		if lineage {
			in := func(f string) map[string]any {
				return map[string]any{"inputFields": []any{map[string]any{"namespace": "bq", "name": fmt.Sprintf("t%02d", i-1), "field": f,
					"transformations": []any{map[string]any{"type": "DIRECT", "subtype": "IDENTITY"}}}}}
			}
			facets["columnLineage"] = map[string]any{
				"_producer": "https://example.com/spark", "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
				"fields": map[string]any{"id": in("id"), "amount": in("amount")},
			}
		}
		return map[string]any{"namespace": "bq", "name": fmt.Sprintf("t%02d", i), "facets": facets}
	}
	var starts, completes []any
	for r := range runs {
		id := uuid.NewString()
		job := r % jobs
		for k, typ := range []string{"START", "COMPLETE"} {
			ev := runEvent(id, typ, at.Add(time.Duration(r)*time.Minute+time.Duration(k)*time.Second), fmt.Sprintf("spark/job_%02d", job), nil, nil)
			ev["inputs"] = []any{ds(job, false)}
			ev["outputs"] = []any{ds(job+1, true)}
			if k == 0 {
				starts = append(starts, ev)
			} else {
				completes = append(completes, ev)
			}
		}
	}
	var out []any
	for r := range runs {
		if r%3 == 0 {
			out = append(out, completes[r], starts[r])
		} else {
			out = append(out, starts[r])
		}
		if r >= 2 && r%3 != 2 {
			out = append(out, completes[r-2])
		}
	}
	// The COMPLETEs the loop left.
	have := map[any]bool{}
	for _, e := range out {
		have[fmt.Sprintf("%p", e)] = true
	}
	for _, c := range completes {
		if !have[fmt.Sprintf("%p", c)] {
			out = append(out, c)
		}
	}
	return out
}

// mixedEvents returns events of every shape a batch may hold: replays,
// reordered and disagreeing terminal events, a cycle, a run of another
// job, parent facets, dataset and job events, and refusals.
func mixedEvents(t *testing.T, at time.Time) []any {
	r1, r2, r3, r4, r5, r6 := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	start1 := runEvent(r1, "START", at, "ns/a", []string{"ns/x"}, []string{"ns/y"})
	child := runEvent(r4, "START", at.Add(5*time.Minute), "ns/child", []string{"ns/y"}, []string{"ns/q"})
	child["run"].(map[string]any)["facets"] = map[string]any{"parent": map[string]any{
		"_producer": "https://example.com", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet",
		"run": map[string]any{"runId": r5}, "job": map[string]any{"namespace": "ns", "name": "parent"},
	}}
	fail := runEvent(r6, "FAIL", at.Add(7*time.Minute), "ns/f", nil, []string{"ns/y"})
	fail["run"].(map[string]any)["facets"] = map[string]any{"errorMessage": map[string]any{
		"_producer": "https://example.com", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
		"message": "boom", "programmingLanguage": "python",
	}}
	return []any{
		start1,
		runEvent(r1, "COMPLETE", at.Add(time.Minute), "ns/a", []string{"ns/x"}, []string{"ns/y"}),
		start1, // replayed
		runEvent(r2, "COMPLETE", at.Add(3*time.Minute), "ns/b", []string{"ns/y"}, []string{"ns/z"}),
		runEvent(r2, "START", at.Add(2*time.Minute), "ns/b", []string{"ns/y"}, []string{"ns/z"}), // late START
		runEvent("not-a-uuid", "START", at, "ns/bad", []string{"ns/bad-in"}, nil),
		"not an event",
		runEvent(r3, "START", at.Add(4*time.Minute), "ns/c", []string{"ns/z"}, []string{"ns/x"}), // closes a cycle
		runEvent(r1, "FAIL", at.Add(6*time.Minute), "ns/a", []string{"ns/x"}, []string{"ns/y"}),  // a later FAIL on a success
		runEvent(r1, "COMPLETE", at.Add(time.Minute), "ns/thief", nil, nil),                      // another job's runId
		child,
		fixture(t, "marquez/event_dataset_event.json"),
		fixture(t, "marquez/event_job_event.json"),
		runEvent(r3, "COMPLETE", at.Add(8*time.Minute), "ns/c", []string{"ns/z", "ns/w"}, []string{"ns/x"}), // a new version of ns/c
		fail,
		runEvent(r6, "START", at.Add(6*time.Minute), "ns/f", nil, []string{"ns/y"}), // a START after the FAIL
		runEvent(r5, "COMPLETE", at.Add(9*time.Minute), "ns/parent", nil, nil),
		runEvent(uuid.NewString(), "RUNNING", at, "ns/a", []string{"ns/x"}, []string{"ns/y"}),
	}
}

// outcome describes one event's outcome without what differs between
// tenants (the ids Servo makes).
func outcome(t *testing.T, f *fx, res *openlineage.Result, err error) string {
	t.Helper()
	if err != nil {
		kind := "error"
		for _, k := range []error{domain.ErrInvalid, domain.ErrConflict, domain.ErrNotFound, domain.ErrForbidden} {
			if errors.Is(err, k) {
				kind = k.Error()
			}
		}
		return kind + ": " + err.Error()
	}
	s := fmt.Sprintf("%s dup=%v state=%s warnings=%q", res.Kind, res.Duplicate, res.RunState, res.Warnings)
	if res.RunID != nil {
		s += " run=" + res.RunID.String()
	}
	if res.WorkflowID != nil {
		w, err := f.svc.GetWorkflow(f.ctx, *res.WorkflowID)
		if err != nil {
			t.Fatal(err)
		}
		s += fmt.Sprintf(" workflow=%s v%d", w.Name, w.Version)
	}
	return s
}

// world is state() with what it leaves out: dataset versions, column
// edges, every workflow version's assets, run timestamps and histories.
// Ids Servo makes are left out; run ids are the runIds.
func (f *fx) world() string {
	f.t.Helper()
	lines := []string{f.state()}
	assets, err := f.svc.ListAssets(f.ctx, domain.AssetFilter{}, domain.Page{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	names := map[uuid.UUID]string{}
	for _, a := range assets.Items {
		names[a.ID] = a.Name
	}
	for _, a := range assets.Items {
		vs, err := f.svc.AssetVersions(f.ctx, a.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, v := range vs {
			run := ""
			if v.RunID != nil {
				run = v.RunID.String()
			}
			lines = append(lines, fmt.Sprintf("version %s v%d %v run %s", a.Name, v.Version, v.Fields, run))
		}
	}
	ids := make([]uuid.UUID, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	edges, err := f.b.Store.ColumnEdgesInto(f.ctx, ids)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range edges {
		lines = append(lines, fmt.Sprintf("column edge %s.%s -> %s.%s %s/%s %q masking %v %s", names[e.UpstreamAssetID], e.UpstreamColumn,
			names[e.DownstreamAssetID], e.DownstreamColumn, e.TransformationType, e.TransformationSubtype, e.Description, e.Masking, e.Source))
	}
	wfs, err := f.svc.ListWorkflows(f.ctx, domain.Page{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, w := range wfs.Items {
		vs, err := f.svc.ListWorkflowVersions(f.ctx, w.Name, domain.Page{Limit: 100})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, v := range vs.Items {
			var as []string
			for _, id := range v.AssetIDs {
				as = append(as, names[id])
			}
			lines = append(lines, fmt.Sprintf("workflow %s v%d %v %v", v.Name, v.Version, as, v.Tags))
		}
	}
	runs, err := f.svc.ListRuns(f.ctx, domain.RunFilter{}, domain.Page{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	for _, r := range runs.Items {
		parent, wf := "", ""
		if r.ParentID != nil {
			parent = r.ParentID.String()
		}
		if r.WorkflowID != nil {
			w, err := f.svc.GetWorkflow(f.ctx, *r.WorkflowID)
			if err != nil {
				f.t.Fatal(err)
			}
			wf = fmt.Sprintf("%s v%d", w.Name, w.Version)
		}
		hist, err := f.svc.RunEvents(f.ctx, r.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		var moves []string
		for _, h := range hist {
			moves = append(moves, fmt.Sprintf("%s->%s@%s#%d %s", h.From, h.To, h.At.UTC().Format(time.RFC3339Nano), h.Attempt, h.Reason))
		}
		lines = append(lines, fmt.Sprintf("run %s %s of %s parent %s trigger %s started %s completed %s error %q history %v",
			r.ID, r.State, wf, parent, r.Trigger, ts(r.StartedAt), ts(r.CompletedAt), r.ErrorMessage, moves))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestIngestBatch_SameAsOneByOne sends the same events to one tenant one
// by one (Ingest) and to another as a batch (IngestBatch): every event's
// outcome and everything both tenants end with are the same, across
// chunks, with events the set-based path hands to the per-event path.
func TestIngestBatch_SameAsOneByOne(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	cases := map[string]func(t *testing.T) []any{
		"spark across chunks": func(*testing.T) []any { return sparkLike(40, 6, at) },
		"mixed":               func(t *testing.T) []any { return mixedEvents(t, at) },
		"seed graph":          func(t *testing.T) []any { return seedEvents(t, at) },
	}
	for name, events := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
				one := newFx(t, b, openlineage.Lenient)
				// Small chunks, so that runs and workflows span several.
				small, err := openlineage.New(one.svc, b.Store, openlineage.Options{Now: one.clock.Now, BatchChunk: 7})
				if err != nil {
					t.Fatal(err)
				}
				bulk := newFxWith(t, b, one.svc, small, one.clock)
				evs := events(t)
				var want []string
				for _, ev := range evs {
					res, err := one.ing.Ingest(one.ctx, ev)
					want = append(want, outcome(t, one, res, err))
				}
				oneWorld := one.world()
				outs := bulk.ing.IngestBatch(bulk.ctx, rawEvents(t, evs))
				if len(outs) != len(evs) {
					t.Fatalf("%d outcomes for %d events", len(outs), len(evs))
				}
				for i, o := range outs {
					if got := outcome(t, bulk, o.Result, o.Err); got != want[i] {
						t.Errorf("event %d:\n batch    %s\n one by one %s", i, got, want[i])
					}
				}
				if got := bulk.world(); got != oneWorld {
					t.Errorf("the batch's tenant ends with\n%s\nthe one-by-one tenant with\n%s", got, oneWorld)
				}
				if one.world() != oneWorld {
					t.Error("the batch of one tenant changed the other")
				}
				// The same batch again changes nothing and says so.
				for i, o := range bulk.ing.IngestBatch(bulk.ctx, rawEvents(t, evs)) {
					if o.Err == nil && !o.Result.Duplicate {
						t.Errorf("event %d sent again is not a duplicate", i)
					}
				}
				if got := bulk.world(); got != oneWorld {
					t.Errorf("the batch sent again changed the tenant")
				}
			})
		})
	}
}

// TestIngestBatch_Tenants checks that a batch lands in the tenant of its
// context only, that runIds another tenant holds make runs of its own, and
// that the system scope is refused for every event.
func TestIngestBatch_Tenants(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		a := newFx(t, b, openlineage.Lenient)
		other := newFxWith(t, b, a.svc, a.ing, a.clock)
		evs := sparkLike(20, 4, time.Now().Add(-time.Hour))
		for i, o := range a.ing.IngestBatch(a.ctx, rawEvents(t, evs)) {
			if o.Err != nil {
				t.Fatalf("A's event %d: %v", i, o.Err)
			}
		}
		aWorld := a.world()
		if other.state() != "" {
			t.Fatalf("A's batch reached the other tenant:\n%s", other.state())
		}
		for i, o := range other.ing.IngestBatch(other.ctx, rawEvents(t, evs)) {
			if o.Err != nil || o.Result.Duplicate {
				t.Fatalf("the other tenant's event %d: %+v %v (a duplicate of A's?)", i, o.Result, o.Err)
			}
		}
		if a.world() != aWorld {
			t.Error("the other tenant's batch changed A")
		}
		runID := uuid.MustParse(evs[0].(map[string]any)["run"].(map[string]any)["runId"].(string))
		ra, err := a.svc.GetRun(a.ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := other.svc.GetRun(other.ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		if ra.TenantID == rb.TenantID || *ra.WorkflowID == *rb.WorkflowID {
			t.Errorf("one runId, two tenants: runs %+v and %+v", ra, rb)
		}
		for _, o := range a.ing.IngestBatch(domain.WithSystem(context.Background()), rawEvents(t, evs[:2])) {
			if !errors.Is(o.Err, domain.ErrForbidden) {
				t.Errorf("system scope: %v, want ErrForbidden", o.Err)
			}
		}
	})
}

// TestIngestBatch_EndedRequest checks that a batch whose request has
// ended stores nothing and says that no event was attempted.
func TestIngestBatch_EndedRequest(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Lenient)
		ctx, cancel := context.WithCancel(f.ctx)
		cancel()
		for i, o := range f.ing.IngestBatch(ctx, rawEvents(t, sparkLike(10, 3, time.Now()))) {
			if !errors.Is(o.Err, openlineage.ErrNotAttempted) {
				t.Errorf("event %d: %+v %v, want ErrNotAttempted", i, o.Result, o.Err)
			}
		}
		if s := f.state(); s != "" {
			t.Errorf("an ended request stored\n%s", s)
		}
	})
}

// TestIngestBatch_Concurrent sends overlapping batches of one tenant at
// once: chunks that lose a race to another batch are redone event by
// event, every event is stored exactly once, and the tenant ends as one
// batch alone would leave it.
func TestIngestBatch_Concurrent(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		alone := newFx(t, b, openlineage.Lenient)
		f := newFxWith(t, b, alone.svc, alone.ing, alone.clock)
		events := sparkLike(60, 6, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		for i, o := range alone.ing.IngestBatch(alone.ctx, rawEvents(t, events)) {
			if o.Err != nil {
				t.Fatalf("event %d: %v", i, o.Err)
			}
		}
		const workers = 3
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := map[uuid.UUID]int{}
		for w := range workers {
			// Each worker starts at another place in the list.
			shifted := append(append([]any{}, events[w*40:]...), events[:w*40]...)
			wg.Go(func() {
				for i, o := range f.ing.IngestBatch(f.ctx, rawEvents(t, shifted)) {
					if o.Err != nil {
						t.Errorf("worker %d, event %d: %v", w, i, o.Err)
						continue
					}
					if !o.Result.Duplicate {
						mu.Lock()
						fresh[o.Result.EventID]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if len(fresh) != len(events) {
			t.Errorf("%d events stored, want %d", len(fresh), len(events))
		}
		for id, n := range fresh {
			if n != 1 {
				t.Errorf("event %s stored %d times", id, n)
			}
		}
		// Runs end succeeded and the graph is the same; the workflows'
		// versions may differ with the order the events landed in.
		if got, want := summary(f.state()), summary(alone.state()); got != want {
			t.Errorf("concurrent batches left\n%s\none batch\n%s", got, want)
		}
	})
}

// summary keeps the assets, edges and runs of a state.
func summary(state string) string {
	var keep []string
	for _, l := range strings.Split(state, "\n") {
		if strings.HasPrefix(l, "asset ") || strings.HasPrefix(l, "edge ") || strings.HasPrefix(l, "run ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// rawEvents writes each event as the JSON text a batch request carries.
func rawEvents(t testing.TB, evs []any) [][]byte {
	t.Helper()
	out := make([][]byte, len(evs))
	for i, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		out[i] = b
	}
	return out
}
