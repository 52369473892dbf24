package openlineage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// ChunkSize is how many events of a batch share one transaction, unless
// Options.BatchChunk says otherwise.
const ChunkSize = 250

// chunkGrace bounds how long a chunk's transaction may outlive the
// request: its statements stop at the request's end, but its commit is
// never cut, so that a chunk is either stored or not, never unknown.
const chunkGrace = 10 * time.Second

// ErrNotAttempted is the error of a batch event that was not stored
// because the request ended first: nothing of it was written.
var ErrNotAttempted = errors.New("not attempted: the request ran out of time")

// errOutOfTime stops a chunk whose request ended; it rolls back.
var errOutOfTime = errors.New("the request ended")

// BatchOutcome is what one event of a batch did: its result, or why it
// was refused or not stored.
type BatchOutcome struct {
	Result *Result
	Err    error
}

// IngestBatch ingests events in order, in the tenant of ctx, and reports
// each event's outcome as Ingest would have: the same events one after the
// other through Ingest end in the same state. Events are read and
// validated in parallel, then stored in chunks (Options.BatchChunk),
// each chunk in one transaction with a few set-based statements per kind
// of row. An event the set-based path does not cover (dataset and job
// events, parent run facets, a run that another job owns, two terminal
// events that disagree, a workflow at its asset cap) goes alone through
// Ingest's path in its place in the order; so does every event of a chunk
// that lost a race to a concurrent writer. When ctx ends, the chunk in
// flight rolls back and its events, like the rest, are ErrNotAttempted;
// a chunk whose commit began is stored.
func (in *Ingester) IngestBatch(ctx context.Context, events [][]byte) []BatchOutcome {
	out := make([]BatchOutcome, len(events))
	sc, err := domain.ScopeFrom(ctx)
	if err == nil && sc.IsSystem() {
		err = errSystemScope
	}
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	ps, ready := in.prepareAll(ctx, events)
	in.maybePrune(ctx, sc.TenantID())
	for start := 0; start < len(ps); {
		end := min(start+in.chunkSize, len(ps))
		// The next chunk is read and validated meanwhile.
		for i := start; i < end; i++ {
			<-ready[i]
		}
		if ctx.Err() != nil {
			for i := start; i < len(ps); i++ {
				<-ready[i]
				out[i].Err = ErrNotAttempted
			}
			break
		}
		start += in.chunk(ctx, ps[start:end], out[start:end])
	}
	return out
}

// prepareWorkers is how many goroutines of one batch read and validate
// its events.
const prepareWorkers = 1

// prepareAll prepares events in order on one goroutine, in the
// background, while the chunks before are stored: ready[i] closes once
// ps[i] is set. One goroutine, not one per CPU: a tenant's batch must not
// take every core from the other tenants' requests. Events left when ctx ends are marked
// not attempted (err ErrNotAttempted, no hash).
func (in *Ingester) prepareAll(ctx context.Context, events [][]byte) (ps []prepared, ready []chan struct{}) {
	ps = make([]prepared, len(events))
	ready = make([]chan struct{}, len(events))
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	var next atomic.Int64
	for range min(prepareWorkers, len(events)) {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(events) {
					return
				}
				if ctx.Err() != nil {
					ps[i] = prepared{err: ErrNotAttempted}
				} else {
					ps[i] = in.prepare(events[i])
				}
				close(ready[i])
			}
		}()
	}
	return ps, ready
}

// chunk stores a run of prepared events and fills their outcomes; it
// returns how many it handled (at least one).
func (in *Ingester) chunk(ctx context.Context, ps []prepared, out []BatchOutcome) int {
	// Events the set-based path never covers end the chunk before them.
	n := len(ps)
	for i, p := range ps {
		if p.err == nil && !fastKind(p.e) {
			n = i
			break
		}
	}
	if n == 0 {
		in.alone(ctx, ps[0], &out[0])
		return 1
	}
	txCtx, cancel := chunkContext(ctx)
	defer cancel()
	var pl *planner
	err := in.store.InTx(txCtx, func(txCtx context.Context) error {
		pl = &planner{in: in, ctx: txCtx, req: ctx}
		return pl.plan(ps[:n])
	})
	switch {
	case err == nil:
		for i := 0; i < pl.done; i++ {
			out[i] = pl.outcomes[i]
		}
		if pl.done < n || n < len(ps) {
			// The next event needs the per-event path.
			in.alone(ctx, ps[pl.done], &out[pl.done])
			return pl.done + 1
		}
		return n
	case errors.Is(err, errOutOfTime):
		// Rolled back before its commit: nothing of the chunk was written.
		for i := range out {
			out[i].Err = ErrNotAttempted
		}
		return len(ps)
	case errors.Is(err, domain.ErrConflict):
		// A concurrent writer won a race: each event on its own, with the
		// per-event path's retries.
		for i := 0; i < n; i++ {
			if ctx.Err() != nil {
				out[i].Err = ErrNotAttempted
				continue
			}
			in.alone(ctx, ps[i], &out[i])
		}
		return n
	default:
		for i := 0; i < n; i++ {
			out[i].Err = err
		}
		return n
	}
}

// chunkContext returns the context of a chunk's transaction: the
// request's values without its cancellation, bounded by chunkGrace past
// the request's deadline.
func chunkContext(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := chunkGrace
	if d, ok := ctx.Deadline(); ok {
		limit = time.Until(d) + chunkGrace
	}
	return context.WithTimeout(context.WithoutCancel(ctx), limit)
}

// alone stores one event through the per-event path.
func (in *Ingester) alone(ctx context.Context, p prepared, out *BatchOutcome) {
	if p.hash == "" {
		out.Err = p.err
		return
	}
	out.Result, out.Err = in.ingestPrepared(ctx, p)
}

// fastKind reports whether the set-based path may cover an event of this
// shape, whatever the database holds.
func fastKind(e *event) bool {
	return e.Kind == KindRun && e.Parent == nil
}

// planRun is a run as the chunk has it so far.
type planRun struct {
	run     domain.Run
	isNew   bool
	from    domain.State // its state before the chunk, for an existing run
	changed bool
	listed  bool // in planner.runsInOrder
}

type colKey struct {
	up, down       uuid.UUID
	upCol, downCol string
	typ, subtype   string
}

type versionSet struct {
	hashes map[string]bool
	max    int
}

// planner maps a chunk of events in memory, against what it read of the
// database once per kind of row, and writes the result at the end.
type planner struct {
	in  *Ingester
	ctx context.Context // the transaction's
	req context.Context // the request's

	b        domain.LineageBatch
	known    map[string]*domain.LineageEvent
	assets   map[string]uuid.UUID
	wfs      map[string]*domain.Workflow
	wfNames  map[uuid.UUID]string
	runs     map[uuid.UUID]*planRun
	keys     map[string]uuid.UUID
	adj      map[uuid.UUID][]uuid.UUID
	data     map[[2]uuid.UUID]bool
	versions map[uuid.UUID]*versionSet
	colEdges map[colKey]bool
	after    []func(ctx context.Context) error
	// runsInOrder are the runs the chunk touched, in order of first touch.
	runsInOrder []*planRun

	outcomes []BatchOutcome
	done     int // events planned; the one after them, if any, needs the per-event path
}

// check stops the chunk when the request has ended.
func (pl *planner) check() error {
	if pl.req.Err() != nil {
		return errOutOfTime
	}
	return nil
}

func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// run plans ps in order, stopping before the first event the set-based
// path cannot cover, and writes what it planned.
func (pl *planner) plan(ps []prepared) error {
	if err := pl.load(ps); err != nil {
		return err
	}
	pl.outcomes = make([]BatchOutcome, len(ps))
	for i, p := range ps {
		ok, err := pl.event(p, &pl.outcomes[i])
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		pl.done = i + 1
	}
	if err := pl.check(); err != nil {
		return err
	}
	for _, r := range pl.runsInOrder {
		if r.isNew {
			pl.b.Runs = append(pl.b.Runs, r.run)
		} else if r.changed {
			pl.b.RunUpdates = append(pl.b.RunUpdates, domain.RunUpdate{Run: r.run, From: r.from})
		}
	}
	if err := pl.in.store.LineageBatchWrite(pl.ctx, &pl.b); err != nil {
		return err
	}
	for _, f := range pl.after {
		if err := f(pl.ctx); err != nil {
			return err
		}
	}
	return nil
}

// load reads, once per kind, the rows the chunk's events name.
func (pl *planner) load(ps []prepared) error {
	pl.known = map[string]*domain.LineageEvent{}
	pl.assets = map[string]uuid.UUID{}
	pl.wfs = map[string]*domain.Workflow{}
	pl.wfNames = map[uuid.UUID]string{}
	pl.runs = map[uuid.UUID]*planRun{}
	pl.keys = map[string]uuid.UUID{}
	pl.adj = map[uuid.UUID][]uuid.UUID{}
	pl.data = map[[2]uuid.UUID]bool{}
	pl.versions = map[uuid.UUID]*versionSet{}
	pl.colEdges = map[colKey]bool{}
	ctx, st := pl.ctx, pl.in.store

	var hashes []string
	for _, p := range ps {
		if p.hash != "" {
			hashes = append(hashes, p.hash)
		}
	}
	prior, err := st.LineageEventsByHash(ctx, hashes)
	if err != nil {
		return err
	}
	runIDs := map[uuid.UUID]bool{}
	for i := range prior {
		pl.known[prior[i].Hash] = &prior[i]
		if id := prior[i].RunID; id != nil {
			runIDs[*id] = true
		}
	}
	names, jobs := map[string]bool{}, map[string]bool{}
	var keys []string
	edges := false
	for _, p := range ps {
		if p.err != nil {
			continue
		}
		e := p.e
		jobs[e.WorkflowName()] = true
		id := uuid.MustParse(e.RunID)
		if !runIDs[id] {
			runIDs[id] = true
			keys = append(keys, IdempotencyKeyPrefix+e.RunID)
		}
		for _, d := range e.Inputs {
			names[d.AssetName()] = true
		}
		for _, d := range e.Outputs {
			names[d.AssetName()] = true
		}
		edges = edges || len(e.Inputs) > 0 && len(e.Outputs) > 0
	}
	if err := pl.check(); err != nil {
		return err
	}
	assets, err := st.AssetsOwnByName(ctx, sortedKeys(names))
	if err != nil {
		return err
	}
	var assetIDs []uuid.UUID
	for _, a := range assets {
		pl.assets[a.Name] = a.ID
		assetIDs = append(assetIDs, a.ID)
	}
	wfs, err := st.WorkflowsLatestLocked(ctx, sortedKeys(jobs))
	if err != nil {
		return err
	}
	for i := range wfs {
		pl.wfs[wfs[i].Name] = &wfs[i]
		pl.wfNames[wfs[i].ID] = wfs[i].Name
	}
	ids := make([]uuid.UUID, 0, len(runIDs))
	for id := range runIDs {
		ids = append(ids, id)
	}
	runs, err := st.RunsByIDOrKey(ctx, ids, keys)
	if err != nil {
		return err
	}
	var refs []uuid.UUID
	for _, r := range runs {
		pl.runs[r.ID] = &planRun{run: r, from: r.State}
		if r.IdempotencyKey != nil {
			pl.keys[*r.IdempotencyKey] = r.ID
		}
		if w := r.WorkflowID; w != nil && pl.wfNames[*w] == "" {
			refs = append(refs, *w)
		}
	}
	if len(refs) > 0 {
		named, err := st.WorkflowRefs(ctx, refs)
		if err != nil {
			return err
		}
		for _, r := range named {
			pl.wfNames[r.ID] = r.Name
		}
	}
	if err := pl.check(); err != nil {
		return err
	}
	if edges {
		deps, err := st.DependencyReach(ctx, assetIDs)
		if err != nil {
			return err
		}
		for _, d := range deps {
			pl.adj[d.UpstreamAssetID] = append(pl.adj[d.UpstreamAssetID], d.DownstreamAssetID)
			if d.DependencyType == domain.DependencyData {
				pl.data[[2]uuid.UUID{d.UpstreamAssetID, d.DownstreamAssetID}] = true
			}
		}
	}
	versions, err := st.AssetVersionsOf(ctx, assetIDs)
	if err != nil {
		return err
	}
	for _, v := range versions {
		pl.versionSet(v.AssetID).add(v.FieldsHash, v.Version)
	}
	cols, err := st.ColumnEdgesInto(ctx, assetIDs)
	if err != nil {
		return err
	}
	for _, c := range cols {
		pl.colEdges[colKeyOf(&c)] = true
	}
	return pl.check()
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func colKeyOf(c *domain.ColumnEdge) colKey {
	return colKey{up: c.UpstreamAssetID, down: c.DownstreamAssetID, upCol: c.UpstreamColumn, downCol: c.DownstreamColumn,
		typ: c.TransformationType, subtype: c.TransformationSubtype}
}

func (pl *planner) versionSet(id uuid.UUID) *versionSet {
	v := pl.versions[id]
	if v == nil {
		v = &versionSet{hashes: map[string]bool{}}
		pl.versions[id] = v
	}
	return v
}

func (v *versionSet) add(hash string, version int) {
	v.hashes[hash] = true
	v.max = max(v.max, version)
}

// event plans one event and reports false, changing nothing, when it needs
// the per-event path.
func (pl *planner) event(p prepared, out *BatchOutcome) (bool, error) {
	if p.hash != "" {
		if prior := pl.known[p.hash]; prior != nil {
			res := &Result{Kind: Kind(prior.Kind), EventID: prior.ID, Duplicate: true, RunID: prior.RunID, Warnings: prior.Warnings}
			if prior.RunID != nil {
				r := pl.runs[*prior.RunID]
				if r == nil {
					return false, nil // its run is gone: the per-event path says so
				}
				res.RunState, res.WorkflowID = r.run.State, r.run.WorkflowID
			}
			out.Result = res
			return true, nil
		}
	}
	if p.err != nil {
		out.Err = p.err
		return true, nil
	}
	e := p.e
	if !pl.covers(e) {
		return false, nil
	}
	res := &Result{Kind: e.Kind, Warnings: append([]string{}, p.warnings...)}
	names := map[uuid.UUID]string{}
	resolve := func(ds []dataset) []uuid.UUID {
		out := make([]uuid.UUID, 0, len(ds))
		seen := map[uuid.UUID]bool{}
		for _, d := range ds {
			id := pl.asset(d.AssetName())
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
				names[id] = d.AssetName()
			}
		}
		return out
	}
	ins, outs := resolve(e.Inputs), resolve(e.Outputs)
	wf := pl.workflow(e.WorkflowName(), append(append([]uuid.UUID{}, ins...), outs...))
	res.WorkflowID = &wf.ID
	run := pl.run(e, wf)
	res.RunID, res.RunState = &run.ID, run.State
	if pl.in.completed != nil && e.EventType == EventComplete && run.State == domain.StateSucceeded && len(outs) > 0 {
		at := e.EventTime
		pl.after = append(pl.after, func(ctx context.Context) error { return pl.in.completed(ctx, outs, at) })
	}
	pl.edges(ins, outs, names, res)
	if err := pl.columns(e, res); err != nil {
		return false, err
	}
	rec := domain.LineageEvent{
		ID: newID(), RunID: res.RunID, Kind: string(e.Kind), EventType: e.EventType, EventTime: e.EventTime,
		Hash: p.hash, Body: p.body, Warnings: res.Warnings,
	}
	pl.b.Events = append(pl.b.Events, rec)
	known := rec // a copy: the slice may move as it grows
	pl.known[p.hash] = &known
	res.EventID = rec.ID
	out.Result = res
	return true, nil
}

// covers reports whether the set-based path maps e exactly as the
// per-event path would, given the chunk's state; it changes nothing.
func (pl *planner) covers(e *event) bool {
	var newNames []string
	have := map[uuid.UUID]bool{}
	wf := pl.wfs[e.WorkflowName()]
	if wf != nil {
		for _, id := range wf.AssetIDs {
			have[id] = true
		}
	}
	count := len(have)
	seen := map[string]bool{}
	for _, d := range append(append([]dataset{}, e.Inputs...), e.Outputs...) {
		name := d.AssetName()
		if seen[name] {
			continue
		}
		seen[name] = true
		id, ok := pl.assets[name]
		if !ok {
			newNames = append(newNames, name)
			count++
			continue
		}
		if !have[id] {
			count++
		}
	}
	if count > domain.MaxWorkflowAssets {
		return false // the per-event path warns and caps
	}
	for _, name := range newNames {
		a := domain.Asset{Name: name, AssetType: AssetType, Tags: []string{Tag}}
		a.Normalize()
		if a.Validate() != nil {
			return false
		}
	}
	probe := domain.Workflow{Name: e.WorkflowName(), Tags: []string{Tag}, Version: 1}
	probe.Normalize()
	if probe.Validate() != nil {
		return false
	}
	id := uuid.MustParse(e.RunID)
	key := IdempotencyKeyPrefix + e.RunID
	r := pl.runs[id]
	if r == nil {
		return pl.keys[key] == uuid.Nil // a run found by its key only is an older mapping
	}
	if r.run.IdempotencyKey == nil || *r.run.IdempotencyKey != key || r.run.WorkflowID == nil {
		return false
	}
	if pl.wfNames[*r.run.WorkflowID] != e.WorkflowName() {
		return false
	}
	target, ok := targetState(e.EventType)
	if ok && r.run.State.IsTerminal() && target.IsTerminal() && r.run.State != target {
		return false // two terminal events disagree
	}
	return true
}

// asset returns the tenant's asset of a name, planning it when new.
func (pl *planner) asset(name string) uuid.UUID {
	if id, ok := pl.assets[name]; ok {
		return id
	}
	a := domain.Asset{ID: newID(), Name: name, AssetType: AssetType, Tags: []string{Tag}}
	a.Normalize()
	pl.b.Assets = append(pl.b.Assets, a)
	pl.assets[name] = a.ID
	return a.ID
}

// workflow returns the latest version of the job's workflow, planning the
// workflow, or a new version, when it lacks any of assets (as
// Ingester.workflow).
func (pl *planner) workflow(name string, assets []uuid.UUID) *domain.Workflow {
	wf := pl.wfs[name]
	var ids []uuid.UUID
	have := map[uuid.UUID]bool{}
	if wf != nil {
		ids = append(ids, wf.AssetIDs...)
		for _, id := range ids {
			have[id] = true
		}
	}
	added := false
	for _, id := range assets {
		if !have[id] {
			have[id] = true
			ids = append(ids, id)
			added = true
		}
	}
	if wf != nil && !added {
		return wf
	}
	w := domain.Workflow{ID: newID(), Name: name, Version: 1, Tags: []string{Tag}, AssetIDs: ids}
	if wf != nil {
		w.Description, w.Owner, w.Tags, w.Version = wf.Description, wf.Owner, wf.Tags, wf.Version+1
	}
	w.Normalize()
	pl.b.Workflows = append(pl.b.Workflows, w)
	pl.wfs[name] = &w
	pl.wfNames[w.ID] = name
	return &w
}

// run returns the event's run after the event, recording it when new and
// moving it as the event type asks (as Ingester.run and advance).
func (pl *planner) run(e *event, wf *domain.Workflow) domain.Run {
	id := uuid.MustParse(e.RunID)
	r := pl.runs[id]
	if r == nil {
		key := IdempotencyKeyPrefix + e.RunID
		now := time.Now().UTC().Truncate(time.Microsecond)
		run := domain.Run{ID: id, WorkflowID: &wf.ID, Trigger: domain.TriggerOpenLineage, IdempotencyKey: &key, CreatedAt: now, UpdatedAt: now}
		run.Normalize()
		r = &planRun{run: run, isNew: true}
		pl.runs[id] = r
		pl.keys[key] = id
	}
	if !r.listed {
		r.listed = true
		pl.runsInOrder = append(pl.runsInOrder, r)
	}
	target, ok := targetState(e.EventType)
	if !ok {
		return r.run
	}
	steps, _ := plan(r.run.State, target, e.EventType, e.EventTime, time.Time{}, false)
	for _, to := range steps {
		run := &r.run
		at := e.EventTime
		if to.IsTerminal() && run.StartedAt != nil && at.Before(*run.StartedAt) {
			at = *run.StartedAt
		}
		at = at.UTC().Truncate(time.Microsecond)
		from := run.State
		run.State, run.UpdatedAt = to, at
		switch {
		case to == domain.StateRunning:
			started := at
			run.StartedAt, run.CompletedAt, run.ErrorMessage = &started, nil, ""
		case to.IsTerminal():
			completed := at
			run.CompletedAt, run.ErrorMessage = &completed, e.errorMessage(to)
		}
		r.changed = true
		pl.b.RunEvents = append(pl.b.RunEvents, domain.RunEvent{
			ID: newID(), RunID: run.ID, From: from, To: to, At: at, Attempt: run.Attempt,
			Reason: fmt.Sprintf("OpenLineage %s event (eventTime %s)", e.EventType, e.EventTime.Format(time.RFC3339Nano)),
		})
		if to == domain.StateSucceeded {
			snapshot := *run
			pl.after = append(pl.after, func(ctx context.Context) error { return pl.in.svc.RunSucceeded(ctx, &snapshot) })
		}
	}
	return r.run
}

// reaches reports whether to is downstream of from (or is from) along the
// edges the chunk knows.
func (pl *planner) reaches(from, to uuid.UUID) bool {
	seen := map[uuid.UUID]bool{from: true}
	stack := []uuid.UUID{from}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cur == to {
			return true
		}
		for _, next := range pl.adj[cur] {
			if !seen[next] {
				seen[next] = true
				stack = append(stack, next)
			}
		}
	}
	return false
}

// edges plans a data edge for every input -> output pair (as
// Ingester.edges).
func (pl *planner) edges(ins, outs []uuid.UUID, names map[uuid.UUID]string, res *Result) {
	for _, up := range ins {
		for _, down := range outs {
			if up == down || pl.data[[2]uuid.UUID{up, down}] {
				continue
			}
			if pl.reaches(down, up) {
				res.Warnings = append(res.Warnings, fmt.Sprintf("no edge %s -> %s: it would close a cycle", names[up], names[down]))
				continue
			}
			pl.b.Dependencies = append(pl.b.Dependencies, domain.AssetDependency{
				ID: newID(), UpstreamAssetID: up, DownstreamAssetID: down, DependencyType: domain.DependencyData,
			})
			pl.data[[2]uuid.UUID{up, down}] = true
			pl.adj[up] = append(pl.adj[up], down)
		}
	}
}

// columns plans the dataset versions and column edges of the event's
// datasets (as Ingester.columns).
func (pl *planner) columns(e *event, res *Result) error {
	named := map[string]bool{}
	for _, d := range append(append([]dataset{}, e.Inputs...), e.Outputs...) {
		named[d.AssetName()] = true
	}
	skipped := map[string]string{}
	for i, list := range [][]dataset{e.Inputs, e.Outputs} {
		for _, d := range list {
			if d.Fields == nil && len(d.Columns) == 0 {
				continue
			}
			id := pl.asset(d.AssetName())
			if d.Fields != nil {
				var run *uuid.UUID
				if i == 1 {
					run = res.RunID
				}
				if err := pl.version(id, d.Fields, run); err != nil {
					return err
				}
			}
			for _, c := range d.Columns {
				src, edge := columnEdgeOf(d, c, id)
				if !named[src.AssetName()] {
					skipped[src.AssetName()] = src.At
					continue
				}
				edge.UpstreamAssetID = pl.asset(src.AssetName())
				if err := edge.Validate(); err != nil {
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s: column edge %s.%s -> %s skipped: %v", src.At, src.AssetName(), c.Field, c.Output, err))
					continue
				}
				k := colKeyOf(&edge)
				if pl.colEdges[k] {
					continue
				}
				pl.colEdges[k] = true
				edge.ID = newID()
				pl.b.ColumnEdges = append(pl.b.ColumnEdges, edge)
			}
		}
	}
	names := make([]string, 0, len(skipped))
	for n := range skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: dataset %q is not an input or output of the event; its column edges were skipped", skipped[n], n))
	}
	return nil
}

// version plans fields as a version of the asset unless one has exactly
// these fields (as service.RecordAssetVersion).
func (pl *planner) version(assetID uuid.UUID, fields []domain.Field, run *uuid.UUID) error {
	if fields == nil {
		fields = []domain.Field{}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("encode fields: %w", err)
	}
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:])
	vs := pl.versionSet(assetID)
	if vs.hashes[hash] {
		return nil
	}
	v := domain.AssetVersion{ID: newID(), AssetID: assetID, Version: vs.max + 1, Fields: fields, FieldsHash: hash, RunID: run}
	vs.add(hash, v.Version)
	pl.b.Versions = append(pl.b.Versions, v)
	return nil
}
