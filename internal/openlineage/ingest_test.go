package openlineage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// TestIngest_Fixtures ingests every fixture in both modes with the outcome
// the fixtures' README states: strict refuses the four that do not validate
// and changes nothing for them; lenient takes them with a warning.
func TestIngest_Fixtures(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		for _, mode := range []openlineage.Mode{openlineage.Strict, openlineage.Lenient} {
			t.Run(string(mode), func(t *testing.T) {
				f := newFx(t, b, mode)
				for _, c := range fixtureCases {
					before := f.state()
					res, err := f.ing.Ingest(f.ctx, fixture(t, c.file))
					if mode == openlineage.Strict && !c.strictValid {
						var se *openlineage.SchemaError
						if !errors.As(err, &se) || !errors.Is(err, domain.ErrInvalid) {
							t.Errorf("%s: err = %v, want a schema error", c.file, err)
						}
						if after := f.state(); after != before {
							t.Errorf("%s: a refused event changed the tenant:\nbefore\n%s\nafter\n%s", c.file, before, after)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s: %v", c.file, err)
						continue
					}
					if res.Kind != c.kind || res.Duplicate || res.EventID == uuid.Nil {
						t.Errorf("%s: result %+v, want a new %s", c.file, res, c.kind)
					}
					if (c.kind == openlineage.KindRun) != (res.RunID != nil) {
						t.Errorf("%s: run %v for a %s", c.file, res.RunID, c.kind)
					}
					if (c.kind == openlineage.KindDataset) != (res.WorkflowID == nil) {
						t.Errorf("%s: workflow %v for a %s", c.file, res.WorkflowID, c.kind)
					}
					if forgiven := !c.strictValid; forgiven != (len(res.Warnings) > 0) {
						t.Errorf("%s: warnings %q", c.file, res.Warnings)
					}
				}
				// What the accepted fixtures describe is there.
				want := map[string]bool{
					"my-datasource-namespace/instance.schema.input-1": true,
					"my-dataset-namespace/my-dataset-name":            true,
					"file.localhost/file://localhost/in_file3.txt":    mode == openlineage.Lenient,
				}
				for name, present := range want {
					a, err := f.svc.ResolveAsset(f.ctx, name)
					if present && (err != nil || a.AssetType != openlineage.AssetType || !slices.Contains(a.Tags, openlineage.Tag)) {
						t.Errorf("asset %q: %+v, %v", name, a, err)
					}
					if !present && !errors.Is(err, domain.ErrNotFound) {
						t.Errorf("asset %q of a refused event exists: %v", name, err)
					}
				}
				// event_simple's COMPLETE ended its run; listener 1 (RUNNING)
				// then 2 (COMPLETE) too, in lenient mode.
				if r := f.run("41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7"); r.State != domain.StateSucceeded {
					t.Errorf("event_simple's run is %s, want succeeded", r.State)
				}
				if mode == openlineage.Lenient {
					if r := f.run("5e58a95c-1c71-4231-8984-ac172d5566cf"); r.State != domain.StateSucceeded {
						t.Errorf("the listener's run is %s, want succeeded", r.State)
					}
				}
				// event_required_only has no event type: its run stays pending.
				if r := f.run("43d7db3b-8984-4cda-b237-8c6919b36670"); r.State != domain.StatePending {
					t.Errorf("the run without event types is %s, want pending", r.State)
				}
			})
		}
	})
}

// TestIngest_SeedGraph ingests the Marquez demo graph and checks the 13 jobs,
// the 13 datasets, the edges and the runs, and that lineage walks answer the
// ancestry the events describe.
func TestIngest_SeedGraph(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Strict)
		start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		events := seedEvents(t, start)
		g := describe(events)
		if len(g.jobs) != 13 || len(g.datasets) != 13 || len(g.runs) != 13 {
			t.Fatalf("the seed describes %d jobs, %d datasets, %d runs; want 13 each", len(g.jobs), len(g.datasets), len(g.runs))
		}
		for _, e := range events {
			// One seed event's column lineage names a dataset it does not
			// read (public.menu_item_id): those column edges are skipped.
			res := f.ingest(e)
			for _, w := range res.Warnings {
				if !strings.Contains(w, `dataset "food_delivery/public.menu_item_id" is not an input or output of the event`) {
					t.Errorf("warning %q", w)
				}
			}
		}
		assets, err := f.svc.ListAssets(f.ctx, domain.AssetFilter{AssetType: openlineage.AssetType}, domain.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]uuid.UUID{}
		for _, a := range assets.Items {
			ids[a.Name] = a.ID
		}
		if len(ids) != 13 {
			t.Errorf("%d dataset assets, want 13", len(ids))
		}
		for d := range g.datasets {
			if ids[d] == uuid.Nil {
				t.Errorf("no asset %s", d)
			}
		}
		wfs, err := f.svc.ListWorkflows(f.ctx, domain.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if wfs.Total != 13 {
			t.Errorf("%d workflows, want 13", wfs.Total)
		}
		for _, w := range wfs.Items {
			if !g.jobs[w.Name] {
				t.Errorf("unexpected workflow %s", w.Name)
			}
		}
		// Edges: exactly the input -> output pairs.
		got := map[[2]string]bool{}
		for name, id := range ids {
			deps, err := f.svc.AssetDependenciesIn(f.ctx, id, domain.Downstream)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range deps {
				for n, i := range ids {
					if i == d.DownstreamAssetID {
						got[[2]string{name, n}] = true
					}
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(g.edges) {
			t.Errorf("edges\n%v\nwant\n%v", got, g.edges)
		}
		// Lineage: every dataset's ancestors are those the events describe.
		for name, id := range ids {
			l, err := f.svc.Lineage(f.ctx, domain.LineageQuery{Root: id, Direction: domain.Upstream, MaxDepth: domain.MaxLineageDepth})
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, n := range l.Nodes {
				have[n.Asset.Name] = true
			}
			if want := g.ancestors(name); fmt.Sprint(have) != fmt.Sprint(want) {
				t.Errorf("ancestors of %s: %v, want %v", name, have, want)
			}
		}
		// Runs: each START then COMPLETE, stamped with the event times.
		for runID := range g.runs {
			r := f.run(runID)
			if r.State != domain.StateSucceeded || r.StartedAt == nil || r.CompletedAt == nil || !r.StartedAt.Equal(start) || !r.CompletedAt.After(start) {
				t.Errorf("run %s: %s, started %v, completed %v", runID, r.State, r.StartedAt, r.CompletedAt)
			}
			evs, err := f.ing.RunEvents(f.ctx, r.ID, domain.Page{Limit: 10})
			if err != nil || len(evs) != 2 || !strings.Contains(string(evs[0]), `"START"`) || !strings.Contains(string(evs[1]), `"COMPLETE"`) {
				t.Errorf("run %s events: %d, %v", runID, len(evs), err)
			}
		}
	})
}

// TestIngest_Idempotent sends every event twice: the copies change nothing.
func TestIngest_Idempotent(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Lenient)
		events := seedEvents(t, time.Now().Add(-time.Hour))
		first := map[int]*openlineage.Result{}
		for i, e := range events {
			first[i] = f.ingest(e)
		}
		before := f.state()
		for i, e := range events {
			// A copy decoded anew, keys in another order: the same event.
			raw, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			res := f.ingest(decode(t, raw))
			if !res.Duplicate || res.EventID != first[i].EventID || fmt.Sprint(res.RunID) != fmt.Sprint(first[i].RunID) || res.RunState != domain.StateSucceeded {
				t.Errorf("event %d again: %+v, want a duplicate of %+v", i, res, first[i])
			}
		}
		if after := f.state(); after != before {
			t.Errorf("duplicates changed the tenant:\nbefore\n%s\nafter\n%s", before, after)
		}
		// A changed event is not a duplicate.
		changed := events[0].(map[string]any)
		changed["producer"] = "https://example.com/other"
		if res := f.ingest(changed); res.Duplicate {
			t.Error("a changed event counted as a duplicate")
		}
	})
}

// TestIngest_Order checks that the state machine decides, with eventTime as
// the tie-breaker between terminal events.
func TestIngest_Order(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Strict)
		t0 := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
		t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
		type step struct {
			typ   string
			at    time.Time
			state domain.State
			warn  bool
		}
		tests := []struct {
			name    string
			steps   []step
			attempt int
		}{
			{"in order", []step{{"START", t0, domain.StateRunning, false}, {"RUNNING", t1, domain.StateRunning, false}, {"COMPLETE", t2, domain.StateSucceeded, false}}, 1},
			{"complete before start", []step{{"COMPLETE", t2, domain.StateSucceeded, false}, {"START", t0, domain.StateSucceeded, false}}, 1},
			{"other keeps pending", []step{{"OTHER", t0, domain.StatePending, false}, {"RUNNING", t1, domain.StatePending, false}, {"START", t1, domain.StateRunning, false}}, 1},
			{"abort a pending run", []step{{"ABORT", t0, domain.StateCancelled, false}, {"START", t1, domain.StateCancelled, false}}, 1},
			{"fail then a later complete", []step{{"START", t0, domain.StateRunning, false}, {"FAIL", t1, domain.StateFailed, false}, {"COMPLETE", t2, domain.StateSucceeded, true}}, 2},
			{"complete then an older fail", []step{{"COMPLETE", t2, domain.StateSucceeded, false}, {"FAIL", t1, domain.StateSucceeded, true}}, 1},
			{"complete then a later fail", []step{{"COMPLETE", t1, domain.StateSucceeded, false}, {"FAIL", t2, domain.StateSucceeded, true}}, 1},
			{"fail then an older complete", []step{{"FAIL", t2, domain.StateFailed, false}, {"COMPLETE", t1, domain.StateFailed, true}}, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				runID := uuid.NewString()
				for i, s := range tt.steps {
					res := f.ingest(runEvent(runID, s.typ, s.at, "ns/order-job", []string{"ns/a"}, []string{"ns/b"}))
					if res.RunState != s.state || (len(res.Warnings) > 0) != s.warn {
						t.Errorf("step %d (%s at %s): state %s, warnings %q; want %s, warning %v", i, s.typ, s.at, res.RunState, res.Warnings, s.state, s.warn)
					}
				}
				r := f.run(runID)
				if r.Attempt != tt.attempt {
					t.Errorf("attempt %d, want %d", r.Attempt, tt.attempt)
				}
				if r.CompletedAt != nil && r.StartedAt != nil && r.CompletedAt.Before(*r.StartedAt) {
					t.Errorf("completed %s before started %s", r.CompletedAt, r.StartedAt)
				}
				// The run's events come back in eventTime order.
				evs, err := f.ing.RunEvents(f.ctx, r.ID, domain.Page{Limit: 100})
				if err != nil || len(evs) != len(tt.steps) {
					t.Fatalf("%d events, %v", len(evs), err)
				}
				var times []string
				for _, e := range evs {
					var m struct{ EventTime time.Time }
					if err := json.Unmarshal(e, &m); err != nil {
						t.Fatal(err)
					}
					times = append(times, m.EventTime.UTC().Format(time.RFC3339Nano))
				}
				if !slices.IsSorted(times) {
					t.Errorf("events not in eventTime order: %v", times)
				}
			})
		}
	})
}

// TestIngest_CycleIsSkipped checks that an edge closing a cycle is skipped
// with a warning while the rest of the event is applied.
func TestIngest_CycleIsSkipped(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Strict)
		now := time.Now()
		f.ingest(runEvent(uuid.NewString(), "COMPLETE", now, "ns/forward", []string{"ns/x"}, []string{"ns/y"}))
		res := f.ingest(runEvent(uuid.NewString(), "COMPLETE", now, "ns/backward", []string{"ns/y", "ns/z"}, []string{"ns/x"}))
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ns/y -> ns/x") || !strings.Contains(res.Warnings[0], "cycle") {
			t.Errorf("warnings %q, want one about the cycle", res.Warnings)
		}
		if res.RunState != domain.StateSucceeded {
			t.Errorf("run %s, want succeeded", res.RunState)
		}
		st := f.state()
		for _, want := range []string{"edge ns/x -> ns/y data", "edge ns/z -> ns/x data", "workflow ns/backward v1 3 assets"} {
			if !strings.Contains(st, want) {
				t.Errorf("state lacks %q:\n%s", want, st)
			}
		}
		if strings.Contains(st, "edge ns/y -> ns/x") {
			t.Errorf("the cycle was closed:\n%s", st)
		}
		// The warning is stored with the event.
		evs, err := f.ing.RunEvents(f.ctx, *res.RunID, domain.Page{Limit: 10})
		if err != nil || len(evs) != 1 {
			t.Fatalf("events %d, %v", len(evs), err)
		}
	})
}

// TestIngest_WorkflowVersions checks that a job's workflow grows a version
// when an event names new datasets, and that existing edges are kept.
func TestIngest_WorkflowVersions(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Strict)
		now := time.Now()
		r1 := f.ingest(runEvent(uuid.NewString(), "START", now, "ns/grow", []string{"ns/a"}, []string{"ns/b"}))
		r2 := f.ingest(runEvent(uuid.NewString(), "START", now, "ns/grow", []string{"ns/b"}, []string{"ns/a"}))
		if *r1.WorkflowID != *r2.WorkflowID {
			t.Error("the same datasets made a new version")
		}
		runID := uuid.NewString()
		r3 := f.ingest(runEvent(runID, "START", now, "ns/grow", []string{"ns/a", "ns/c"}, []string{"ns/b"}))
		w, err := f.svc.GetWorkflow(f.ctx, *r3.WorkflowID)
		if err != nil || w.Version != 2 || len(w.AssetIDs) != 3 || w.Name != "ns/grow" {
			t.Fatalf("workflow %+v, %v; want version 2 with 3 assets", w, err)
		}
		// The run stays on its version when a later event grows the
		// workflow again.
		r4 := f.ingest(runEvent(runID, "COMPLETE", now.Add(time.Second), "ns/grow", []string{"ns/d"}, []string{"ns/b"}))
		if *r4.WorkflowID == w.ID || r4.RunState != domain.StateSucceeded {
			t.Errorf("result %+v", r4)
		}
		if r := f.run(runID); *r.WorkflowID != w.ID {
			t.Errorf("the run moved to workflow %s", r.WorkflowID)
		}
	})
}

// TestIngest_RefusalsChangeNothing checks refusals: each is a clear error
// and leaves the tenant as it was.
func TestIngest_RefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Lenient)
		runID := uuid.NewString()
		res := f.ingest(runEvent(runID, "START", time.Now(), "ns/owner", []string{"ns/in"}, []string{"ns/out"}))
		servoRun, _, err := f.svc.CreateRun(f.ctx, service.CreateRunInput{WorkflowID: res.WorkflowID})
		if err != nil {
			t.Fatal(err)
		}
		many := make([]string, 60)
		for i := range many {
			many[i] = fmt.Sprintf("ns/d%d", i)
		}
		tests := []struct {
			name string
			ev   any
			want error
		}{
			{"not an object", []any{1, 2}, domain.ErrInvalid},
			{"NUL in a string", runEvent(uuid.NewString(), "START", time.Now(), "ns/j\x00b", nil, nil), domain.ErrInvalid},
			{"invalid in lenient mode too", runEvent("not-a-uuid", "START", time.Now(), "ns/j", nil, nil), domain.ErrInvalid},
			{"name too long", runEvent(uuid.NewString(), "START", time.Now(), "ns/"+strings.Repeat("j", 300), nil, nil), domain.ErrInvalid},
			{"too many pairs", runEvent(uuid.NewString(), "START", time.Now(), "ns/wide", many, many), domain.ErrInvalid},
			{"a runId of another job", runEvent(runID, "COMPLETE", time.Now(), "ns/thief", []string{"ns/new-in"}, []string{"ns/new-out"}), domain.ErrConflict},
			// Lenient mode still needs a usable core.
			{"a job without a name", withChange(runEvent(uuid.NewString(), "START", time.Now(), "ns/j", nil, nil), func(ev map[string]any) { delete(ev["job"].(map[string]any), "name") }), domain.ErrInvalid},
			{"a dataset without a namespace", withChange(runEvent(uuid.NewString(), "START", time.Now(), "ns/j", []string{"ns/in"}, nil), func(ev map[string]any) {
				delete(ev["inputs"].([]any)[0].(map[string]any), "namespace")
			}), domain.ErrInvalid},
			{"an eventTime that is no time", withChange(runEvent(uuid.NewString(), "START", time.Now(), "ns/j", nil, nil), func(ev map[string]any) { ev["eventTime"] = "yesterday" }), domain.ErrInvalid},
			{"the id of a run Servo started", runEvent(servoRun.ID.String(), "START", time.Now(), "ns/owner", nil, nil), domain.ErrConflict},
		}
		for _, tt := range tests {
			before := f.state()
			_, err := f.ing.Ingest(f.ctx, tt.ev)
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			}
			if after := f.state(); after != before {
				t.Errorf("%s changed the tenant:\nbefore\n%s\nafter\n%s", tt.name, before, after)
			}
		}
		if _, err := f.ing.Ingest(domain.WithSystem(context.Background()), runEvent(uuid.NewString(), "START", time.Now(), "ns/j", nil, nil)); !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("system scope: err = %v, want ErrForbidden", err)
		}
		if _, err := f.ing.Ingest(context.Background(), runEvent(uuid.NewString(), "START", time.Now(), "ns/j", nil, nil)); !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("no scope: err = %v, want ErrForbidden", err)
		}
	})
}

// TestIngest_TenantsApart checks that the same events in two tenants make
// two separate worlds, and that one tenant cannot read the other's events.
func TestIngest_TenantsApart(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		a := newFx(t, b, openlineage.Lenient)
		bt := newFxWith(t, b, a.svc, a.ing, a.clock)
		events := seedEvents(t, time.Now())
		for _, e := range events[:10] {
			a.ingest(e)
		}
		aBefore := a.state()
		for _, e := range events {
			if res := bt.ingest(e); res.Duplicate {
				t.Fatal("tenant B's event counted as a duplicate of tenant A's")
			}
		}
		if after := a.state(); after != aBefore {
			t.Errorf("tenant B's events changed tenant A:\nbefore\n%s\nafter\n%s", aBefore, after)
		}
		// A run only A has is not B's; a runId both sent is a run of each,
		// under the same id, each with its own events.
		aOnly := uuid.NewString()
		a.ingest(runEvent(aOnly, "START", time.Now(), "a-only/job", nil, nil))
		if _, err := bt.ing.RunEvents(bt.ctx, uuid.MustParse(aOnly), domain.Page{Limit: 10}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("B reads A's run events: err = %v, want ErrNotFound", err)
		}
		if _, err := bt.svc.GetRun(bt.ctx, uuid.MustParse(aOnly)); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("B reads A's run: err = %v, want ErrNotFound", err)
		}
		shared := events[0].(map[string]any)["run"].(map[string]any)["runId"].(string)
		aRun, bRun := a.run(shared), bt.run(shared)
		if aRun.ID.String() != shared || bRun.ID.String() != shared || aRun.TenantID == bRun.TenantID {
			t.Errorf("shared runId: A's run %s (%s), B's %s (%s)", aRun.ID, aRun.TenantID, bRun.ID, bRun.TenantID)
		}
		for _, x := range []*fx{a, bt} {
			evs, err := x.ing.RunEvents(x.ctx, aRun.ID, domain.Page{Limit: 10})
			if err != nil || len(evs) != 2 {
				t.Errorf("tenant %s reads %d events of the shared run, want its two (START, COMPLETE): %v", x.tenant, len(evs), err)
			}
		}
		if err := bt.svc.DeleteRun(bt.ctx, bRun.ID); err != nil {
			t.Fatal(err)
		}
		if r, err := a.svc.GetRun(a.ctx, aRun.ID); err != nil || r.State != aRun.State {
			t.Errorf("B deleting its run of a shared runId touched A's: %+v, %v", r, err)
		}
		if n := strings.Count(bt.state(), "asset "); n != 13 {
			t.Errorf("tenant B has %d assets, want 13", n)
		}
	})
}

// TestIngest_Concurrent sends the same events from several goroutines: each
// is stored once, and racing events over shared datasets all land.
func TestIngest_Concurrent(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Strict)
		events := seedEvents(t, time.Now())
		const workers = 4
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := map[uuid.UUID]int{}
		errs := make(chan error, workers*len(events))
		for w := range workers {
			wg.Go(func() {
				for i := range events {
					e := events[(i+w*7)%len(events)]
					res, err := f.ing.Ingest(f.ctx, e)
					if err != nil {
						errs <- err
						continue
					}
					if !res.Duplicate {
						mu.Lock()
						fresh[res.EventID]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("ingest: %v", err)
		}
		if len(fresh) != len(events) {
			t.Errorf("%d events stored, want %d", len(fresh), len(events))
		}
		for id, n := range fresh {
			if n != 1 {
				t.Errorf("event %s stored %d times", id, n)
			}
		}
		st := f.state()
		if n := strings.Count(st, "asset "); n != 13 {
			t.Errorf("%d assets, want 13", n)
		}
		if n := strings.Count(st, "succeeded"); n != 13 {
			t.Errorf("%d succeeded runs, want 13:\n%s", n, st)
		}
	})
}

// TestIngest_Retention checks the prune: on ingestion at most once a
// PruneInterval per tenant, deleting events received longer than the
// retention ago, and never the runs they made.
func TestIngest_Retention(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc := service.New(b.Store, nil, nil)
		c := &clock{t: time.Now()}
		ing, err := openlineage.New(svc, b.Store, openlineage.Options{Retention: time.Hour, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		f := newFxWith(t, b, svc, ing, c)
		runID := uuid.NewString()
		events := func() int {
			t.Helper()
			evs, err := ing.RunEvents(f.ctx, f.run(runID).ID, domain.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		at := time.Now()
		f.ingest(runEvent(runID, "START", at, "ns/kept", nil, nil))
		c.Add(2 * time.Hour) // the first event is now past the retention
		f.ingest(runEvent(runID, "RUNNING", at.Add(time.Second), "ns/kept", nil, nil))
		if n := events(); n != 1 {
			t.Errorf("%d events after the prune, want 1 (the new one)", n)
		}
		f.ingest(runEvent(runID, "OTHER", at.Add(2*time.Second), "ns/kept", nil, nil))
		if n := events(); n != 2 {
			t.Errorf("%d events, want 2: a second prune within a minute must not run", n)
		}
		c.Add(openlineage.PruneInterval)
		f.ingest(runEvent(runID, "COMPLETE", at.Add(3*time.Second), "ns/kept", nil, nil))
		if n := events(); n != 1 {
			t.Errorf("%d events, want 1: the prune runs again after a minute", n)
		}
		if r := f.run(runID); r.State != domain.StateSucceeded {
			t.Errorf("run %s, want succeeded: pruning keeps runs", r.State)
		}
		// A pruned event may be sent again; it is stored anew.
		if res := f.ingest(runEvent(runID, "START", at, "ns/kept", nil, nil)); res.Duplicate || res.RunState != domain.StateSucceeded {
			t.Errorf("resent pruned event: %+v", res)
		}
		// Prune on its own, for the tenant in the context only.
		other := newFxWith(t, b, svc, ing, c)
		other.ingest(runEvent(uuid.NewString(), "START", at, "ns/other", nil, nil))
		c.Add(2 * time.Hour)
		n, err := ing.Prune(f.ctx)
		if err != nil || n != 2 {
			t.Errorf("Prune = %d, %v; want 2", n, err)
		}
		if strings.Contains(other.state(), "0 events") {
			t.Error("pruning one tenant pruned another")
		}
	})
}

func TestNew_Options(t *testing.T) {
	t.Parallel()
	st := testdb.OpenSQLite(t)
	svc := service.New(st, nil, nil)
	for _, o := range []openlineage.Options{{Mode: "loose"}, {Retention: -time.Second}, {BatchChunk: -1}} {
		if _, err := openlineage.New(svc, st, o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	ing, err := openlineage.New(svc, st, openlineage.Options{})
	if err != nil || ing.Mode() != openlineage.Lenient {
		t.Errorf("default mode: %v, %v", ing, err)
	}
}

// withChange returns ev changed by fn.
func withChange(ev map[string]any, fn func(map[string]any)) map[string]any {
	fn(ev)
	return ev
}
