package openlineage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/config/defaults"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

// Defaults and limits.
const (
	// DefaultRetention is how long raw events are kept by default.
	DefaultRetention = defaults.OpenLineageRetention
	// PruneInterval is the least time between two prunes of one tenant's
	// events.
	PruneInterval = time.Minute
	// MaxDatasets caps the inputs and outputs of one event.
	MaxDatasets = domain.MaxWorkflowAssets
	// MaxEdges caps the input -> output pairs of one event.
	MaxEdges = 2500
	// AssetType is the type of the assets datasets become.
	AssetType = "dataset"
	// Tag marks the assets and workflows ingestion creates.
	Tag = "openlineage"
	// IdempotencyKeyPrefix prefixes a runId to make the idempotency key of
	// its run.
	IdempotencyKeyPrefix = "openlineage:"
)

// attempts bounds how often an event is retried after losing a race to a
// concurrent writer, beyond one retry per dataset it names: each lost race
// over a dataset leaves that dataset's asset created, so it is lost once at
// most, and an event naming many datasets that other writers create at the
// same moment can lose that many races in a row.
const attempts = 5

// Store is what ingestion needs from storage besides the service layer:
// transactions, the raw events, and the set-based reads and writes of the
// batch path.
type Store interface {
	domain.Transactor
	domain.LineageEventRepository
	domain.LineageBatchRepository
	// WorkflowRefs returns the names and versions of workflow ids.
	WorkflowRefs(ctx context.Context, ids []uuid.UUID) ([]domain.WorkflowRef, error)
}

// Options configure an Ingester.
type Options struct {
	// Mode is Strict or Lenient; empty means Lenient.
	Mode Mode
	// Retention is how long raw events are kept, counted from when they were
	// received; zero means DefaultRetention.
	Retention time.Duration
	// Log receives prune failures; nil discards them.
	Log *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// BatchChunk is how many events of a batch share one transaction;
	// zero means ChunkSize.
	BatchChunk int
	// OutputsCompleted, when set, hears of the output assets of a run
	// event that left its run succeeded (a COMPLETE), in the event's
	// transaction.
	OutputsCompleted func(ctx context.Context, assets []uuid.UUID, at time.Time) error
}

// Ingester turns OpenLineage events into assets, workflows, runs and edges
// of the tenant in the context, and keeps the events. It is safe for
// concurrent use.
type Ingester struct {
	svc       *service.Service
	store     Store
	schema    *Schema
	mode      Mode
	retention time.Duration
	log       *zap.Logger
	now       func() time.Time
	completed func(ctx context.Context, assets []uuid.UUID, at time.Time) error
	chunkSize int

	mu        sync.Mutex
	lastPrune map[string]time.Time // by tenant
}

// New returns an Ingester over the service and store.
func New(svc *service.Service, store Store, opts Options) (*Ingester, error) {
	if svc == nil || store == nil {
		return nil, errors.New("openlineage: a service and a store are required")
	}
	if opts.Mode == "" {
		opts.Mode = Lenient
	}
	if !opts.Mode.Valid() {
		return nil, fmt.Errorf("openlineage: mode %q is not strict or lenient", opts.Mode)
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("openlineage: retention %s is negative", opts.Retention)
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.BatchChunk < 0 {
		return nil, fmt.Errorf("openlineage: batch chunk %d is negative", opts.BatchChunk)
	}
	if opts.BatchChunk == 0 {
		opts.BatchChunk = ChunkSize
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	schema, err := LoadSchema()
	if err != nil {
		return nil, fmt.Errorf("openlineage: %w", err)
	}
	return &Ingester{
		svc: svc, store: store, schema: schema, mode: opts.Mode, retention: opts.Retention,
		log: opts.Log, now: opts.Now, lastPrune: map[string]time.Time{}, completed: opts.OutputsCompleted,
		chunkSize: opts.BatchChunk,
	}, nil
}

// Mode returns how strictly the Ingester reads events.
func (in *Ingester) Mode() Mode { return in.mode }

// Result says what one event did.
type Result struct {
	// Kind is the event's kind.
	Kind Kind
	// EventID identifies the stored event.
	EventID uuid.UUID
	// Duplicate reports that the tenant had sent the same event before; it
	// changed nothing.
	Duplicate bool
	// RunID is the run a RunEvent concerns.
	RunID *uuid.UUID
	// RunState is that run's state after the event; empty without a run.
	RunState domain.State
	// WorkflowID is the workflow version the job maps to (for a duplicate,
	// the version of its run, if any).
	WorkflowID *uuid.UUID
	// Warnings lists what a lenient reading forgave and what the mapping
	// skipped; they are stored with the event.
	Warnings []string
}

// permanent marks a conflict that retrying cannot resolve.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// IngestJSON is Ingest of an event sent as JSON text. It never decodes the
// event whole: the facets are decoded one at a time to be validated (see
// skeleton.go), so the memory an event takes stays near its size.
func (in *Ingester) IngestJSON(ctx context.Context, raw []byte) (*Result, error) {
	sc, err := domain.ScopeFrom(ctx)
	if err != nil {
		return nil, err
	}
	if sc.IsSystem() {
		return nil, errSystemScope
	}
	p := in.prepare(raw)
	if p.hash == "" {
		return nil, p.err
	}
	in.maybePrune(ctx, sc.TenantID())
	return in.ingestPrepared(ctx, p)
}

// errSystemScope refuses events sent in the system scope.
var errSystemScope = fmt.Errorf("%w: OpenLineage events belong to a tenant; send them with a tenant's API key", domain.ErrForbidden)

// prepared is an event read and checked before it touches the database:
// its canonical body and hash (empty when it has none), what the mapping
// reads of it, the warnings of a lenient reading, or why it is refused.
type prepared struct {
	body     []byte
	hash     string
	e        *event
	warnings []string
	err      error
}

// prepare reads one event's JSON text: canonical JSON and hash,
// validation, and what the mapping needs. It needs no database.
func (in *Ingester) prepare(raw []byte) prepared {
	if !isObject(raw) {
		return prepared{err: domain.Invalid("#", "an event must be a JSON object")}
	}
	body, hash, err := canonicalJSON(raw)
	if err != nil {
		return prepared{err: err}
	}
	p := prepared{body: body, hash: hash}
	e, warnings, err := in.schema.read(body, in.mode)
	if err != nil {
		p.err = err
		return p
	}
	if err := checkSize(e); err != nil {
		p.err = err
		return p
	}
	p.e, p.warnings = e, warnings
	return p
}

// ingestPrepared stores and maps one prepared event in a transaction of
// its own: a second copy of a stored event is a duplicate, whether or not
// it reads as valid now.
func (in *Ingester) ingestPrepared(ctx context.Context, p prepared) (*Result, error) {
	if prior, err := in.store.LineageEventGetByHash(ctx, p.hash); err == nil {
		return in.duplicate(ctx, prior)
	} else if !errors.Is(err, domain.ErrNotFound) {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	limit := attempts + len(p.e.Inputs) + len(p.e.Outputs)
	for attempt := 1; ; attempt++ {
		res, err := in.apply(ctx, p.e, p.body, p.hash, p.warnings)
		if err == nil {
			return res, nil
		}
		var perm permanent
		if errors.As(err, &perm) {
			return nil, perm.err
		}
		if !errors.Is(err, domain.ErrConflict) {
			return nil, err
		}
		// A concurrent writer won a race: maybe with this very event.
		if prior, gerr := in.store.LineageEventGetByHash(ctx, p.hash); gerr == nil {
			return in.duplicate(ctx, prior)
		}
		if attempt == limit {
			return nil, fmt.Errorf("ingest OpenLineage event: %w", err)
		}
		if err := raceBackoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// raceBackoff waits a random while, longer after each lost race, before
// an event is applied again: writers that collide on the same datasets
// retrying at once would collide again, and a few in a row used up the
// attempts.
func raceBackoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(time.Duration(min(attempt, 10)) * 2 * time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// checkSize refuses events whose mapping would be unreasonably large.
func checkSize(e *event) error {
	if n := len(e.Inputs) + len(e.Outputs); n > MaxDatasets {
		return domain.Invalid("#", "the event names %d datasets; Servo maps at most %d per event", n, MaxDatasets)
	}
	if n := len(e.Inputs) * len(e.Outputs); n > MaxEdges {
		return domain.Invalid("#", "the event names %d input -> output pairs; Servo maps at most %d per event", n, MaxEdges)
	}
	n := 0
	for _, d := range append(append([]dataset{}, e.Inputs...), e.Outputs...) {
		n += len(d.Columns)
	}
	if n > maxColumnInputs {
		return domain.Invalid("#", "the event's column lineage names %d column edges; Servo maps at most %d per event", n, maxColumnInputs)
	}
	return nil
}

// duplicate answers for an event the tenant had sent before.
func (in *Ingester) duplicate(ctx context.Context, prior *domain.LineageEvent) (*Result, error) {
	res := &Result{Kind: Kind(prior.Kind), EventID: prior.ID, Duplicate: true, RunID: prior.RunID, Warnings: prior.Warnings}
	if prior.RunID != nil {
		run, err := in.svc.GetRun(ctx, *prior.RunID)
		if err != nil {
			return nil, err
		}
		res.RunState, res.WorkflowID = run.State, run.WorkflowID
	}
	return res, nil
}

// apply maps the event and stores it, in one transaction.
func (in *Ingester) apply(ctx context.Context, e *event, body []byte, hash string, warnings []string) (*Result, error) {
	res := &Result{Kind: e.Kind, Warnings: append([]string{}, warnings...)}
	err := in.store.InTx(ctx, func(ctx context.Context) error {
		if e.Kind == KindDataset {
			id, err := in.asset(ctx, *e.Dataset)
			if err != nil {
				return err
			}
			if e.Dataset.Fields != nil {
				if _, _, err := in.svc.RecordAssetVersion(ctx, id, e.Dataset.Fields, nil); err != nil {
					return err
				}
			}
		} else if err := in.applyJob(ctx, e, res, assetIDs{}); err != nil {
			return err
		}
		rec := domain.LineageEvent{
			RunID: res.RunID, Kind: string(e.Kind), EventType: e.EventType, EventTime: e.EventTime,
			Hash: hash, Body: body, Warnings: res.Warnings,
		}
		if err := in.store.LineageEventCreate(ctx, &rec); err != nil {
			return err
		}
		res.EventID = rec.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// applyJob maps the job of a run or job event, its datasets, its run and
// its edges.
func (in *Ingester) applyJob(ctx context.Context, e *event, res *Result, ids assetIDs) error {
	names := map[uuid.UUID]string{}
	resolve := func(ds []dataset) ([]uuid.UUID, error) {
		out := make([]uuid.UUID, 0, len(ds))
		seen := map[uuid.UUID]bool{}
		for _, d := range ds {
			id, err := ids.get(ctx, in, d)
			if err != nil {
				return nil, err
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
				names[id] = d.AssetName()
			}
		}
		return out, nil
	}
	ins, err := resolve(e.Inputs)
	if err != nil {
		return err
	}
	outs, err := resolve(e.Outputs)
	if err != nil {
		return err
	}
	wf, err := in.workflow(ctx, e.WorkflowName(), append(append([]uuid.UUID{}, ins...), outs...), res)
	if err != nil {
		return err
	}
	res.WorkflowID = &wf.ID
	if e.Kind == KindRun {
		run, err := in.run(ctx, e, wf, res)
		if err != nil {
			return err
		}
		res.RunID, res.RunState = &run.ID, run.State
		if in.completed != nil && e.EventType == "COMPLETE" && run.State == domain.StateSucceeded && len(outs) > 0 {
			if err := in.completed(ctx, outs, e.EventTime); err != nil {
				return err
			}
		}
	}
	if err := in.edges(ctx, ins, outs, names, res); err != nil {
		return err
	}
	return in.columns(ctx, e, res, ids)
}

// assetIDs remembers the assets of one attempt at an event by name, so
// that a dataset named several times is looked up once. It lives no longer
// than the attempt's transaction.
type assetIDs map[string]uuid.UUID

// get returns the tenant's asset for d, creating it when missing.
func (ids assetIDs) get(ctx context.Context, in *Ingester, d dataset) (uuid.UUID, error) {
	if id, ok := ids[d.AssetName()]; ok {
		return id, nil
	}
	id, err := in.asset(ctx, d)
	if err != nil {
		return uuid.Nil, err
	}
	ids[d.AssetName()] = id
	return id, nil
}

// columns records the schemas the event's datasets carry as dataset
// versions (an output's tied to the run) and the column lineage of its
// outputs as column edges. Column edges from a dataset the event does not
// name as an input or output are skipped with a warning: such a name is
// most often a producer's slip, and an asset made of it would be noise.
func (in *Ingester) columns(ctx context.Context, e *event, res *Result, ids assetIDs) error {
	named := map[string]bool{}
	for _, d := range append(append([]dataset{}, e.Inputs...), e.Outputs...) {
		named[d.AssetName()] = true
	}
	skipped := map[string]string{}
	defer func() {
		names := make([]string, 0, len(skipped))
		for n := range skipped {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: dataset %q is not an input or output of the event; its column edges were skipped", skipped[n], n))
		}
	}()
	for i, list := range [][]dataset{e.Inputs, e.Outputs} {
		for _, d := range list {
			if d.Fields == nil && len(d.Columns) == 0 {
				continue
			}
			id, err := ids.get(ctx, in, d)
			if err != nil {
				return err
			}
			if d.Fields != nil {
				var run *uuid.UUID
				if i == 1 {
					run = res.RunID
				}
				if _, _, err := in.svc.RecordAssetVersion(ctx, id, d.Fields, run); err != nil {
					return err
				}
			}
			for _, c := range d.Columns {
				src, edge := columnEdgeOf(d, c, id)
				if !named[src.AssetName()] {
					skipped[src.AssetName()] = src.At
					continue
				}
				if edge.UpstreamAssetID, err = ids.get(ctx, in, src); err != nil {
					return err
				}
				if err := edge.Validate(); err != nil {
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s: column edge %s.%s -> %s skipped: %v", src.At, src.AssetName(), c.Field, c.Output, err))
					continue
				}
				if _, _, err := in.svc.AddColumnEdge(ctx, edge); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// asset returns the tenant's asset for a dataset, creating it when missing.
// A global asset of the same name is not the tenant's: the tenant gets its
// own.
func (in *Ingester) asset(ctx context.Context, d dataset) (uuid.UUID, error) {
	name := d.AssetName()
	a, err := in.svc.ResolveAsset(ctx, name)
	switch {
	case err == nil && !a.IsGlobal():
		return a.ID, nil
	case err != nil && !errors.Is(err, domain.ErrNotFound):
		return uuid.Nil, err
	}
	a, err = in.svc.CreateAsset(ctx, service.CreateAssetInput{Name: name, AssetType: AssetType, Tags: []string{Tag}})
	if err != nil {
		return uuid.Nil, err
	}
	return a.ID, nil
}

// workflow returns the latest version of the job's workflow, creating the
// workflow, or a new version, when it lacks any of assets.
func (in *Ingester) workflow(ctx context.Context, name string, assets []uuid.UUID, res *Result) (*domain.Workflow, error) {
	wf, err := in.svc.ResolveWorkflow(ctx, name, 0)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return nil, err
	}
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
		if have[id] {
			continue
		}
		if len(ids) >= domain.MaxWorkflowAssets {
			res.Warnings = append(res.Warnings, fmt.Sprintf("workflow %q holds %d assets, the most a workflow may; further datasets were not added to it", name, domain.MaxWorkflowAssets))
			break
		}
		have[id] = true
		ids = append(ids, id)
		added = true
	}
	if wf != nil && !added {
		return wf, nil
	}
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = id.String()
	}
	in2 := service.CreateWorkflowInput{Name: name, Assets: refs, Tags: []string{Tag}}
	if wf != nil {
		in2.Description, in2.Owner, in2.Tags = wf.Description, wf.Owner, wf.Tags
	}
	return in.svc.CreateWorkflow(ctx, in2)
}

// run returns the event's run, recording it when new, and moves it as the
// event type asks.
func (in *Ingester) run(ctx context.Context, e *event, wf *domain.Workflow, res *Result) (*domain.Run, error) {
	run, created, err := in.record(ctx, e.RunID, wf)
	if err != nil {
		return nil, err
	}
	if !created && (run.WorkflowID == nil || *run.WorkflowID != wf.ID) {
		// The run may belong to an earlier version of the same workflow;
		// any other owner of the key is a producer's mistake.
		owner := ""
		if run.WorkflowID != nil {
			prev, err := in.svc.GetWorkflow(ctx, *run.WorkflowID)
			if err != nil {
				return nil, err
			}
			owner = prev.Name
		}
		if owner != wf.Name {
			return nil, permanent{fmt.Errorf("%w: runId %s already belongs to a run that is not of job %q", domain.ErrConflict, e.RunID, wf.Name)}
		}
	}
	if e.Parent != nil {
		if err := in.parent(ctx, run, e, res); err != nil {
			return nil, err
		}
	}
	return in.advance(ctx, run, e, res)
}

// record returns the tenant's run of a runId, recording it, pending, as a
// run of wf when it is new. Its id is the runId; the idempotency key
// "openlineage:<runId>" finds it again (and finds runs recorded before
// runs took their runId as id).
func (in *Ingester) record(ctx context.Context, runID string, wf *domain.Workflow) (*domain.Run, bool, error) {
	id, err := uuid.Parse(runID)
	if err != nil {
		return nil, false, domain.Invalid("#/run/runId", "must be a UUID")
	}
	key := IdempotencyKeyPrefix + runID
	if prior, err := in.svc.GetRun(ctx, id); err == nil {
		if prior.IdempotencyKey == nil || *prior.IdempotencyKey != key {
			return nil, false, permanent{fmt.Errorf("%w: runId %s is the id of a run Servo started", domain.ErrConflict, runID)}
		}
	} else if !errors.Is(err, domain.ErrNotFound) {
		return nil, false, err
	}
	return in.svc.CreateRun(ctx, service.CreateRunInput{ID: &id, WorkflowID: &wf.ID, Trigger: domain.TriggerOpenLineage, IdempotencyKey: key})
}

// parent links a run to the run its parent facet names, of the same
// tenant: recorded, pending, as a run of the parent job's workflow when no
// event of it came yet (its own events then find it).
func (in *Ingester) parent(ctx context.Context, run *domain.Run, e *event, res *Result) error {
	p := e.Parent
	if p.RunID == e.RunID {
		res.Warnings = append(res.Warnings, "#/run/facets/parent: the run names itself as its parent; no link was made")
		return nil
	}
	wf, err := in.workflow(ctx, p.JobNamespace+"/"+p.JobName, nil, res)
	if err != nil {
		return err
	}
	parent, _, err := in.record(ctx, p.RunID, wf)
	if err != nil {
		return err
	}
	if run.ParentID != nil {
		return nil
	}
	linked, err := in.svc.LinkRunParent(ctx, run.ID, parent.ID)
	if err != nil {
		return err
	}
	if linked {
		run.ParentID = &parent.ID
	} else {
		res.Warnings = append(res.Warnings, fmt.Sprintf("#/run/facets/parent: run %s is a descendant of this run; no link was made", p.RunID))
	}
	return nil
}

// advance moves a run towards the state the event type asks for, along
// legal paths of the state machine.
func (in *Ingester) advance(ctx context.Context, run *domain.Run, e *event, res *Result) (*domain.Run, error) {
	target, ok := targetState(e.EventType)
	if !ok {
		return run, nil
	}
	var decided time.Time
	known := false
	if run.State.IsTerminal() && target.IsTerminal() && run.State != target {
		var err error
		decided, known, err = in.store.LineageEventLatestTime(ctx, run.ID, eventTypeFor(run.State))
		if err != nil {
			return nil, err
		}
		if !known && run.CompletedAt != nil {
			decided, known = *run.CompletedAt, true
		}
	}
	steps, warning := plan(run.State, target, e.EventType, e.EventTime, decided, known)
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	for _, to := range steps {
		at := e.EventTime
		if to.IsTerminal() && run.StartedAt != nil && at.Before(*run.StartedAt) {
			at = *run.StartedAt // completed_at never precedes started_at
		}
		next, err := in.svc.TransitionRun(ctx, domain.Transition{
			ID: run.ID, From: run.State, To: to, At: at, ErrorMessage: e.errorMessage(to),
			Reason: fmt.Sprintf("OpenLineage %s event (eventTime %s)", e.EventType, e.EventTime.Format(time.RFC3339Nano)),
		})
		if err != nil {
			return nil, err
		}
		run = next
	}
	return run, nil
}

// edges adds a data edge for every input -> output pair. An edge that exists
// is fine; one that would close a cycle is skipped with a warning.
func (in *Ingester) edges(ctx context.Context, ins, outs []uuid.UUID, names map[uuid.UUID]string, res *Result) error {
	downstream := func(up uuid.UUID) (map[uuid.UUID]bool, error) {
		deps, err := in.svc.AssetDependenciesIn(ctx, up, domain.Downstream)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]bool, len(deps))
		for _, d := range deps {
			if d.DependencyType == domain.DependencyData {
				out[d.DownstreamAssetID] = true
			}
		}
		return out, nil
	}
	for _, up := range ins {
		have, err := downstream(up)
		if err != nil {
			return err
		}
		for _, down := range outs {
			if up == down || have[down] {
				continue // a dataset read and written by the job has no self-edge
			}
			_, err := in.svc.CreateDependency(ctx, up, down, domain.DependencyData)
			if err == nil {
				continue
			}
			if !errors.Is(err, domain.ErrConflict) {
				return err
			}
			// The edge would close a cycle, or a concurrent writer added it.
			// After a refused insert PostgreSQL accepts no further statement
			// in the transaction, and this lookup fails: the event is then
			// retried.
			again, lerr := downstream(up)
			if lerr != nil {
				return err
			}
			if !again[down] {
				res.Warnings = append(res.Warnings, fmt.Sprintf("no edge %s -> %s: it would close a cycle", names[up], names[down]))
			}
		}
	}
	return nil
}

// RunEvents returns one page of the raw events of a run, in eventTime
// order. A run the tenant does not have is domain.ErrNotFound.
func (in *Ingester) RunEvents(ctx context.Context, runID uuid.UUID, p domain.Page) ([]json.RawMessage, error) {
	if p.Limit < 1 || p.Limit > domain.MaxLineageEventsPage || p.Offset < 0 {
		return nil, domain.Invalid("limit", "must be between 1 and %d, with a non-negative offset", domain.MaxLineageEventsPage)
	}
	var out []json.RawMessage
	err := in.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := in.svc.GetRun(ctx, runID); err != nil {
			return err
		}
		evs, err := in.store.LineageEventListForRun(ctx, runID, p)
		if err != nil {
			return err
		}
		out = make([]json.RawMessage, len(evs))
		for i := range evs {
			out[i] = evs[i].Body
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// columnEdgeOf is the column edge that entry c of d's columnLineage facet
// asks for into asset id, with the dataset it comes from; its upstream
// asset id is left to the caller.
func columnEdgeOf(d dataset, c columnInput, id uuid.UUID) (dataset, domain.ColumnEdge) {
	src := dataset{Namespace: c.Namespace, Name: c.Name, At: d.At + "/facets/columnLineage"}
	return src, domain.ColumnEdge{
		UpstreamColumn: c.Field, DownstreamAssetID: id, DownstreamColumn: c.Output,
		TransformationType: c.Type, TransformationSubtype: c.Subtype, Description: c.Description,
		Masking: c.Masking, Source: domain.ColumnSourceOpenLineage,
	}
}
