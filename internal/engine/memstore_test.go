package engine_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/engine"
)

// memStore is an in-memory engine.Store: runs, history, logs, leases,
// workflows and edges, scoped by the tenant of the context as the database
// scopes them. A transaction is all or nothing: an error from its function
// restores what it found, nested transactions included (as savepoints).
// One mutex serialises transactions, standing in for the row and slot
// locks; a store call outside a transaction takes it for itself.
type memStore struct {
	mu    sync.Mutex
	clock time.Time
	data  memData
	// observed holds the assets whose runs run nothing (no compute, no
	// checks), as RunQueuedHeads reports them.
	observed map[uuid.UUID]bool
}

// memData is the state a transaction may roll back.
type memData struct {
	runs      map[uuid.UUID]domain.Run
	events    []domain.RunEvent
	logs      map[uuid.UUID]domain.RunLog
	leases    map[uuid.UUID]domain.RunLease
	workflows map[uuid.UUID]domain.Workflow
	edges     []domain.AssetDependency
}

func (d memData) clone() memData {
	return memData{
		runs: maps.Clone(d.runs), events: slices.Clone(d.events), logs: maps.Clone(d.logs),
		leases: maps.Clone(d.leases), workflows: maps.Clone(d.workflows), edges: slices.Clone(d.edges),
	}
}

var _ engine.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{
		// Near the wall clock: the engine counts starts in the last minute.
		clock:    time.Now().UTC(),
		observed: map[uuid.UUID]bool{},
		data: memData{
			runs: map[uuid.UUID]domain.Run{}, logs: map[uuid.UUID]domain.RunLog{},
			leases: map[uuid.UUID]domain.RunLease{}, workflows: map[uuid.UUID]domain.Workflow{},
		},
	}
}

type inTxKey struct{}

// tick returns a strictly later time at each call, so that creation order
// is the order of the calls.
func (m *memStore) tick() time.Time {
	m.clock = m.clock.Add(time.Millisecond)
	return m.clock
}

// InTx implements engine.Store.
func (m *memStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(inTxKey{}) == nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		ctx = context.WithValue(ctx, inTxKey{}, true)
	}
	saved := m.data.clone()
	if err := fn(ctx); err != nil {
		m.data = saved
		return err
	}
	return nil
}

// do runs fn under the store's lock unless ctx is in a transaction, which
// holds it already.
func (m *memStore) do(ctx context.Context, fn func(tenant string) error) error {
	if ctx.Value(inTxKey{}) == nil {
		m.mu.Lock()
		defer m.mu.Unlock()
	}
	s, err := domain.ScopeFrom(ctx)
	if err != nil {
		return err
	}
	return fn(s.TenantID())
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, domain.ErrNotFound) }

// run returns the tenant's run id.
func (m *memStore) run(tenant string, id uuid.UUID) (domain.Run, error) {
	r, ok := m.data.runs[id]
	if !ok || r.TenantID != tenant {
		return domain.Run{}, notFound("run")
	}
	return r, nil
}

// RunCreate implements engine.Store.
func (m *memStore) RunCreate(ctx context.Context, e *domain.Run) error {
	return m.do(ctx, func(tenant string) error {
		if e.ID == uuid.Nil {
			e.ID = uuid.New()
		}
		if _, ok := m.data.runs[e.ID]; ok {
			return fmt.Errorf("%w: run exists", domain.ErrConflict)
		}
		e.TenantID = tenant
		e.CreatedAt = m.tick()
		e.UpdatedAt = e.CreatedAt
		m.data.runs[e.ID] = *e
		return nil
	})
}

// RunGet implements engine.Store.
func (m *memStore) RunGet(ctx context.Context, id uuid.UUID) (*domain.Run, error) {
	var out domain.Run
	err := m.do(ctx, func(tenant string) (err error) {
		out, err = m.run(tenant, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RunLock implements engine.Store; the transaction's lock covers it.
func (m *memStore) RunLock(ctx context.Context, id uuid.UUID) (*domain.Run, error) {
	return m.RunGet(ctx, id)
}

// RunTransition implements engine.Store as the repository does.
func (m *memStore) RunTransition(ctx context.Context, t domain.Transition) (*domain.Run, error) {
	if err := domain.ValidateTransition(t.From, t.To); err != nil {
		return nil, err
	}
	var out domain.Run
	err := m.do(ctx, func(tenant string) error {
		r, err := m.run(tenant, t.ID)
		if err != nil {
			return err
		}
		if r.State != t.From {
			return fmt.Errorf("%w: run is %s, not %s", domain.ErrConflict, r.State, t.From)
		}
		at := m.tick()
		r.State, r.UpdatedAt = t.To, at
		switch {
		case t.To == domain.StateRunning:
			r.StartedAt, r.CompletedAt, r.ErrorMessage = &at, nil, ""
		case domain.IsRetry(t.From, t.To):
			r.Attempt++
			r.StartedAt, r.CompletedAt = nil, nil
		case t.To.IsTerminal():
			r.CompletedAt, r.ErrorMessage = &at, t.ErrorMessage
		}
		m.data.runs[r.ID] = r
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RunChildren implements engine.Store.
func (m *memStore) RunChildren(ctx context.Context, parentID uuid.UUID) ([]domain.Run, error) {
	var out []domain.Run
	err := m.do(ctx, func(tenant string) error {
		for _, r := range m.sorted(tenant) {
			if r.ParentID != nil && *r.ParentID == parentID {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// sorted returns the tenant's runs, oldest first.
func (m *memStore) sorted(tenant string) []domain.Run {
	var out []domain.Run
	for _, r := range m.data.runs {
		if r.TenantID == tenant {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b domain.Run) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// RunCountRunning implements engine.Store.
func (m *memStore) RunCountRunning(ctx context.Context) (int64, error) {
	var n int64
	err := m.do(ctx, func(tenant string) error {
		for _, r := range m.sorted(tenant) {
			if r.State == domain.StateRunning && r.AssetID != nil {
				n++
			}
		}
		return nil
	})
	return n, err
}

// RunOldestQueued implements engine.Store.
func (m *memStore) RunOldestQueued(ctx context.Context, n int) ([]uuid.UUID, error) {
	out := []uuid.UUID{}
	err := m.do(ctx, func(tenant string) error {
		for _, r := range m.sorted(tenant) {
			if len(out) < n && r.State == domain.StateQueued && r.AssetID != nil {
				out = append(out, r.ID)
			}
		}
		return nil
	})
	return out, err
}

// RunQueuedHeads implements engine.Store.
func (m *memStore) RunQueuedHeads(ctx context.Context, n int) ([]domain.RunHead, error) {
	out := []domain.RunHead{}
	err := m.do(ctx, func(tenant string) error {
		for _, r := range m.sorted(tenant) {
			if len(out) < n && r.State == domain.StateQueued && r.AssetID != nil {
				out = append(out, domain.RunHead{ID: r.ID, Observed: m.observed[*r.AssetID]})
			}
		}
		return nil
	})
	return out, err
}

// RunTransitionMany implements engine.Store as the repository does: the
// runs not in t.From are left out.
func (m *memStore) RunTransitionMany(ctx context.Context, ids []uuid.UUID, t domain.Transition) ([]domain.Run, error) {
	if err := domain.ValidateTransition(t.From, t.To); err != nil {
		return nil, err
	}
	out := []domain.Run{}
	for _, id := range ids {
		t.ID = id
		r, err := m.RunTransition(ctx, t)
		if errors.Is(err, domain.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// RunEventCreateMany implements engine.Store.
func (m *memStore) RunEventCreateMany(ctx context.Context, es []domain.RunEvent) error {
	for i := range es {
		if err := m.RunEventCreate(ctx, &es[i]); err != nil {
			return err
		}
	}
	return nil
}

// RunLogPutMany implements engine.Store.
func (m *memStore) RunLogPutMany(ctx context.Context, ls []domain.RunLog) error {
	for i := range ls {
		if err := m.RunLogPut(ctx, &ls[i]); err != nil {
			return err
		}
	}
	return nil
}

// RunCountStartedSince implements engine.Store.
func (m *memStore) RunCountStartedSince(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := m.do(ctx, func(tenant string) error {
		for _, r := range m.sorted(tenant) {
			if r.AssetID != nil && r.StartedAt != nil && r.StartedAt.After(t) {
				n++
			}
		}
		return nil
	})
	return n, err
}

// RunWorkflowSlots implements engine.Store.
func (m *memStore) RunWorkflowSlots(ctx context.Context, workflowIDs []uuid.UUID, n int) (int64, []uuid.UUID, error) {
	var running int64
	queued := []uuid.UUID{}
	err := m.do(ctx, func(tenant string) error {
		for _, r := range m.sorted(tenant) {
			if r.AssetID != nil || r.WorkflowID == nil || !slices.Contains(workflowIDs, *r.WorkflowID) {
				continue
			}
			switch {
			case r.State == domain.StateRunning:
				running++
			case r.State == domain.StateQueued && len(queued) < n:
				queued = append(queued, r.ID)
			}
		}
		return nil
	})
	return running, queued, err
}

// RunLockTenantSlots implements engine.Store; the transaction's lock
// covers it.
func (m *memStore) RunLockTenantSlots(ctx context.Context) error {
	return m.do(ctx, func(string) error { return nil })
}

// RunEventCreate implements engine.Store.
func (m *memStore) RunEventCreate(ctx context.Context, e *domain.RunEvent) error {
	return m.do(ctx, func(tenant string) error {
		e.ID, e.TenantID = uuid.New(), tenant
		m.data.events = append(m.data.events, *e)
		return nil
	})
}

// RunLogPut implements engine.Store.
func (m *memStore) RunLogPut(ctx context.Context, l *domain.RunLog) error {
	return m.do(ctx, func(string) error {
		m.data.logs[l.RunID] = *l
		return nil
	})
}

// RunLeaseTake implements engine.Store.
func (m *memStore) RunLeaseTake(ctx context.Context, l *domain.RunLease) error {
	return m.do(ctx, func(tenant string) error {
		l.TenantID = tenant
		m.data.leases[l.RunID] = *l
		return nil
	})
}

// RunLeaseGet implements engine.Store.
func (m *memStore) RunLeaseGet(ctx context.Context, runID uuid.UUID) (*domain.RunLease, error) {
	var out domain.RunLease
	err := m.do(ctx, func(tenant string) error {
		l, ok := m.data.leases[runID]
		if !ok || l.TenantID != tenant {
			return notFound("lease")
		}
		out = l
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RunLeaseDeleteAttempt implements engine.Store.
func (m *memStore) RunLeaseDeleteAttempt(ctx context.Context, runID uuid.UUID, attempt int) error {
	return m.do(ctx, func(tenant string) error {
		if l, ok := m.data.leases[runID]; ok && l.TenantID == tenant && l.Attempt == attempt {
			delete(m.data.leases, runID)
		}
		return nil
	})
}

// RunLeaseDelete implements engine.Store.
func (m *memStore) RunLeaseDelete(ctx context.Context, runID uuid.UUID) error {
	return m.do(ctx, func(tenant string) error {
		if l, ok := m.data.leases[runID]; ok && l.TenantID == tenant {
			delete(m.data.leases, runID)
		}
		return nil
	})
}

// RunLeaseRenew implements engine.Store: leases of any tenant.
func (m *memStore) RunLeaseRenew(ctx context.Context, worker string, runIDs []uuid.UUID, at time.Time) (int64, error) {
	var n int64
	err := m.do(ctx, func(string) error {
		for _, id := range runIDs {
			if l, ok := m.data.leases[id]; ok && l.WorkerID == worker {
				l.HeartbeatAt = at
				m.data.leases[id] = l
				n++
			}
		}
		return nil
	})
	return n, err
}

// RunLeaseListStale implements engine.Store: leases of any tenant.
func (m *memStore) RunLeaseListStale(ctx context.Context, before time.Time, limit int) ([]domain.RunLease, error) {
	var out []domain.RunLease
	err := m.do(ctx, func(string) error {
		for _, l := range m.data.leases {
			if len(out) < limit && l.HeartbeatAt.Before(before) {
				out = append(out, l)
			}
		}
		return nil
	})
	return out, err
}

// WorkflowGet implements engine.Store.
func (m *memStore) WorkflowGet(ctx context.Context, id uuid.UUID) (*domain.Workflow, error) {
	var out domain.Workflow
	err := m.do(ctx, func(tenant string) error {
		w, ok := m.data.workflows[id]
		if !ok || w.TenantID != tenant {
			return notFound("workflow")
		}
		out = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// WorkflowGetByName implements engine.Store: version 0 is the latest.
func (m *memStore) WorkflowGetByName(ctx context.Context, name string, version int) (*domain.Workflow, error) {
	var out *domain.Workflow
	err := m.do(ctx, func(tenant string) error {
		for _, w := range m.data.workflows {
			if w.TenantID != tenant || w.Name != name || (version != 0 && w.Version != version) {
				continue
			}
			if out == nil || w.Version > out.Version {
				out = &w
			}
		}
		if out == nil {
			return notFound("workflow")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WorkflowIDsByName implements engine.Store.
func (m *memStore) WorkflowIDsByName(ctx context.Context, name string) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := m.do(ctx, func(tenant string) error {
		for _, w := range m.data.workflows {
			if w.TenantID == tenant && w.Name == name {
				out = append(out, w.ID)
			}
		}
		return nil
	})
	return out, err
}

// DependencyEdges implements engine.Store for the one query the engine
// makes: the edges into q.DownstreamOf.
func (m *memStore) DependencyEdges(ctx context.Context, q domain.EdgeQuery) ([]domain.AssetDependency, error) {
	var out []domain.AssetDependency
	err := m.do(ctx, func(tenant string) error {
		for _, e := range m.data.edges {
			if e.TenantID == tenant && slices.Contains(q.DownstreamOf, e.DownstreamAssetID) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// addWorkflow stores a workflow of tenant over assets, with edges among
// them as up -> down pairs.
func (m *memStore) addWorkflow(tenant, name string, version, maxActive int, assets []uuid.UUID, edges ...[2]uuid.UUID) *domain.Workflow {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := domain.Workflow{ID: uuid.New(), TenantID: tenant, Name: name, Version: version, AssetIDs: assets, MaxActiveRuns: maxActive}
	m.data.workflows[w.ID] = w
	for _, e := range edges {
		m.data.edges = append(m.data.edges, domain.AssetDependency{ID: uuid.New(), TenantID: tenant, UpstreamAssetID: e[0], DownstreamAssetID: e[1]})
	}
	return &w
}

// logOf returns the kept output of run id.
func (m *memStore) logOf(id uuid.UUID) (domain.RunLog, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.data.logs[id]
	return l, ok
}

// events returns the history of run id, oldest first.
func (m *memStore) eventsOf(id uuid.UUID) []domain.RunEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []domain.RunEvent
	for _, e := range m.data.events {
		if e.RunID == id {
			out = append(out, e)
		}
	}
	return out
}

// dispatch is one job a dispatcher was handed.
type dispatch struct {
	run uuid.UUID
	at  time.Time
}

// recorder is an engine.Dispatcher that keeps what it was handed; a
// dispatch in a transaction that rolls back is forgotten with it only in
// the database, so tests read it after successful calls only.
type recorder struct {
	mu   sync.Mutex
	jobs []dispatch
	fail error
}

// Dispatch implements engine.Dispatcher.
func (r *recorder) Dispatch(_ context.Context, run *domain.Run, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.jobs = append(r.jobs, dispatch{run: run.ID, at: at})
	return nil
}

// take returns the runs dispatched since the last call, in order.
func (r *recorder) take() []uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]uuid.UUID, len(r.jobs))
	for i, j := range r.jobs {
		out[i] = j.run
	}
	r.jobs = nil
	return out
}

var errBoom = errors.New("boom")
