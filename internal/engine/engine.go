// Package engine is Servo's run engine: the life of a run from queued to
// final (its state transitions and their history), the advance of workflow
// runs through their steps, the per-tenant slots and start rate, retries
// and the settling of attempts, and the leases of running attempts. It
// works over the narrow Store it declares; the runtime drives it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// Store is what the engine needs of the database: runs, their history,
// output and leases, and the workflows and edges that order steps. Every
// method runs in the transaction ctx carries, if any.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	RunCreate(ctx context.Context, e *domain.Run) error
	RunGet(ctx context.Context, id uuid.UUID) (*domain.Run, error)
	RunTransition(ctx context.Context, t domain.Transition) (*domain.Run, error)
	RunLock(ctx context.Context, id uuid.UUID) (*domain.Run, error)
	RunChildren(ctx context.Context, parentID uuid.UUID) ([]domain.Run, error)
	RunCountRunning(ctx context.Context) (int64, error)
	RunOldestQueued(ctx context.Context, n int) ([]uuid.UUID, error)
	RunQueuedHeads(ctx context.Context, n int) ([]domain.RunHead, error)
	RunTransitionMany(ctx context.Context, ids []uuid.UUID, t domain.Transition) ([]domain.Run, error)
	RunCountStartedSince(ctx context.Context, t time.Time) (int64, error)
	RunWorkflowSlots(ctx context.Context, workflowIDs []uuid.UUID, n int) (running int64, oldestQueued []uuid.UUID, err error)
	RunLockTenantSlots(ctx context.Context) error

	RunEventCreate(ctx context.Context, e *domain.RunEvent) error
	RunEventCreateMany(ctx context.Context, es []domain.RunEvent) error
	RunLogPut(ctx context.Context, l *domain.RunLog) error
	RunLogPutMany(ctx context.Context, ls []domain.RunLog) error

	RunLeaseTake(ctx context.Context, l *domain.RunLease) error
	RunLeaseGet(ctx context.Context, runID uuid.UUID) (*domain.RunLease, error)
	RunLeaseDelete(ctx context.Context, runID uuid.UUID) error
	RunLeaseDeleteAttempt(ctx context.Context, runID uuid.UUID, attempt int) error
	RunLeaseRenew(ctx context.Context, worker string, runIDs []uuid.UUID, at time.Time) (int64, error)
	RunLeaseListStale(ctx context.Context, before time.Time, limit int) ([]domain.RunLease, error)

	WorkflowGet(ctx context.Context, id uuid.UUID) (*domain.Workflow, error)
	WorkflowGetByName(ctx context.Context, name string, version int) (*domain.Workflow, error)
	WorkflowIDsByName(ctx context.Context, name string) ([]uuid.UUID, error)

	DependencyEdges(ctx context.Context, q domain.EdgeQuery) ([]domain.AssetDependency, error)
}

// Dispatcher hands queued runs to the workers.
type Dispatcher interface {
	// Dispatch enqueues a run for execution at the given time, in the
	// transaction ctx carries, so that a rolled-back trigger leaves no job.
	Dispatch(ctx context.Context, run *domain.Run, at time.Time) error
}

// RunObserver hears of every run that succeeded, in the transaction that
// records the success: an error undoes the success.
type RunObserver interface {
	RunSucceeded(ctx context.Context, run *domain.Run) error
}

// Engine moves runs through their lives over one store.
type Engine struct {
	store      Store
	dispatcher Dispatcher
	observers  []RunObserver
}

// New returns the engine over store. Runs it queues are dispatched to d; a
// nil d queues runs without dispatching them (no worker will start them).
func New(store Store, d Dispatcher) *Engine {
	return &Engine{store: store, dispatcher: d}
}

// RunSucceeded tells the observers of successful runs that run has
// succeeded, in the caller's transaction: an error undoes the success.
func (e *Engine) RunSucceeded(ctx context.Context, run *domain.Run) error {
	for _, o := range e.observers {
		if err := o.RunSucceeded(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

// ObserveRuns adds o to the observers of successful runs.
func (e *Engine) ObserveRuns(o RunObserver) {
	e.observers = append(e.observers, o)
}

// TransitionRun moves a run along the state machine with compare-and-swap
// and appends the move to the run's history, in one transaction: an illegal
// move, or a run no longer in t.From, is ErrConflict and records nothing.
func (e *Engine) TransitionRun(ctx context.Context, t domain.Transition) (*domain.Run, error) {
	if err := domain.ValidateTransition(t.From, t.To); err != nil {
		return nil, err
	}
	var out *domain.Run
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = e.store.RunTransition(ctx, t); err != nil {
			return err
		}
		if t.From == domain.StateRunning && out.AssetID != nil {
			// The attempt is over: so is its lease.
			if err := e.store.RunLeaseDelete(ctx, t.ID); err != nil {
				return err
			}
		}
		reason := t.Reason
		if reason == "" {
			reason = t.ErrorMessage
		}
		if err := e.store.RunEventCreate(ctx, &domain.RunEvent{
			RunID: t.ID, From: t.From, To: t.To, At: out.UpdatedAt, Attempt: out.Attempt, Reason: reason,
		}); err != nil {
			return err
		}
		if t.To == domain.StateSucceeded {
			return e.RunSucceeded(ctx, out)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Queue moves a pending run to queued and dispatches it to start now.
func (e *Engine) Queue(ctx context.Context, run *domain.Run, reason string) (*domain.Run, error) {
	return e.queue(ctx, run, time.Time{}, reason)
}

// queue moves a pending run to queued and hands it to the dispatcher.
func (e *Engine) queue(ctx context.Context, run *domain.Run, at time.Time, reason string) (*domain.Run, error) {
	queued, err := e.TransitionRun(ctx, domain.Transition{ID: run.ID, From: domain.StatePending, To: domain.StateQueued, Reason: reason})
	if err != nil {
		return nil, err
	}
	if e.dispatcher == nil {
		return queued, nil
	}
	if at.IsZero() {
		at = time.Now()
	}
	if err := e.dispatcher.Dispatch(ctx, queued, at); err != nil {
		return nil, fmt.Errorf("dispatch run %s: %w", run.ID, err)
	}
	return queued, nil
}

// SlotLimits bound how many runs of a tenant run at once and how fast they
// start; zero means no limit.
type SlotLimits struct {
	MaxRunning      int
	StartsPerMinute int
}

// StartOutcome says what StartRun did.
type StartOutcome int

// Start outcomes.
const (
	// Started: the run moved from queued to running.
	Started StartOutcome = iota
	// MustWait: no slot is free, or older queued runs come first.
	MustWait
	// NotQueued: the run is in another state; the caller looks at it.
	NotQueued
)

// StartRun moves a queued run to running if it may start. A workflow run
// starts in its workflow's order under the workflow's cap and takes no
// slot; a run with an asset starts through ClaimNext, so it starts only if
// it is the tenant's oldest queued one. The accounting runs under a
// per-tenant lock in the database, so the limits hold across worker
// processes.
func (e *Engine) StartRun(ctx context.Context, id uuid.UUID, lim SlotLimits) (*domain.Run, StartOutcome, error) {
	var out *domain.Run
	outcome := NotQueued
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		run, err := e.store.RunGet(ctx, id)
		if err != nil {
			return err
		}
		out = run
		if run.State != domain.StateQueued {
			return nil
		}
		if run.AssetID != nil {
			started, wait, err := e.ClaimNext(ctx, lim, "")
			switch {
			case err != nil:
				return err
			case wait:
				outcome = MustWait
			case started != nil && started.ID == id:
				out, outcome = started, Started
			case started != nil:
				return fmt.Errorf("%w: run %s is not the oldest queued", domain.ErrConflict, id)
			}
			return nil
		}
		if run.WorkflowID != nil {
			if err := e.store.RunLockTenantSlots(ctx); err != nil {
				return err
			}
			if wait, err := e.mustWaitWorkflow(ctx, run); err != nil || wait {
				outcome = MustWait
				return err
			}
		}
		out, err = e.TransitionRun(ctx, domain.Transition{ID: id, From: domain.StateQueued, To: domain.StateRunning, Reason: "started"})
		if err != nil {
			return err
		}
		outcome = Started
		return nil
	})
	if err != nil {
		return nil, NotQueued, err
	}
	return out, outcome, nil
}

// ClaimNext starts the tenant's oldest queued run with an asset (a
// materialization or a step) when the tenant has a free slot, and returns
// it; worker, when not empty, takes the attempt's lease in the same
// transaction. It returns wait when no slot is free or the start rate is
// used up, and neither a run nor wait when nothing is queued. Whoever holds
// the job of any queued run of a tenant claims the head of its queue, so
// runs whose jobs a lost worker holds never block runs another worker could
// start. At most lim.MaxRunning runs run at once and no more than
// lim.StartsPerMinute start in any minute, counted under the tenant's slot
// lock.
func (e *Engine) ClaimNext(ctx context.Context, lim SlotLimits, worker string) (started *domain.Run, wait bool, err error) {
	err = e.store.InTx(ctx, func(ctx context.Context) error {
		if err := e.store.RunLockTenantSlots(ctx); err != nil {
			return err
		}
		head, full, err := e.nextRun(ctx, lim)
		if err != nil || full || head == uuid.Nil {
			wait = full
			return err
		}
		started, err = e.startHead(ctx, head, worker)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return started, wait, nil
}

// startHead starts the queued run id, the head of its tenant's queue, and
// gives worker, when named, the lease of its attempt. The caller holds the
// tenant's slot lock in the transaction ctx carries.
func (e *Engine) startHead(ctx context.Context, id uuid.UUID, worker string) (*domain.Run, error) {
	started, err := e.TransitionRun(ctx, domain.Transition{ID: id, From: domain.StateQueued, To: domain.StateRunning, Reason: "started"})
	if err != nil {
		return nil, err
	}
	if worker != "" {
		err = e.store.RunLeaseTake(ctx, &domain.RunLease{RunID: started.ID, Attempt: started.Attempt, WorkerID: worker, HeartbeatAt: time.Now()})
	}
	return started, err
}

// ClaimInput says what ClaimRuns may claim.
type ClaimInput struct {
	Limits SlotLimits
	// Worker takes the lease of a started attempt.
	Worker string
	// Max bounds how many observed runs one claim settles; below 1 means 1.
	Max int
	// ObservedOutput is the kept output of a settled observed run.
	ObservedOutput string
}

// Claim is what ClaimRuns did: at most one of Started and Settled is set.
type Claim struct {
	// Started is the run whose attempt the worker now runs, its lease
	// taken.
	Started *domain.Run
	// Settled are observed runs that started and succeeded in the claim's
	// transaction, oldest first: nothing runs for them, so they never hold
	// a slot or a lease beyond it.
	Settled []domain.Run
	// Wait says that no slot is free or the start rate is used up.
	Wait bool
}

// Has reports whether the claim started or settled run id.
func (c Claim) Has(id uuid.UUID) bool {
	return (c.Started != nil && c.Started.ID == id) || slices.ContainsFunc(c.Settled, func(r domain.Run) bool { return r.ID == id })
}

// ClaimRuns claims the head of the tenant's queue as ClaimNext does, under
// the same slot lock, limits and order, in one transaction. When the head
// is an observed run (its asset has no compute and no checks: starting it
// runs nothing), it does not start an attempt for the worker: it starts
// and settles as succeeded, in the same transaction, the head and the
// observed runs right behind it, up to in.Max and the start rate left,
// with the history rows of both moves, their output and the observers of
// successful runs, as starting and settling each would. A claimed run with
// work to do is started alone, with its lease, as ClaimNext starts it.
func (e *Engine) ClaimRuns(ctx context.Context, in ClaimInput) (Claim, error) {
	var c Claim
	// Most claims that find nothing queued (a chain's last) end with this
	// one read, without a transaction or the slot lock.
	if heads, err := e.store.RunQueuedHeads(ctx, 1); err != nil || len(heads) == 0 {
		return c, err
	}
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		c = Claim{}
		if err := e.store.RunLockTenantSlots(ctx); err != nil {
			return err
		}
		budget, full, err := e.startBudget(ctx, in.Limits, max(in.Max, 1))
		if err != nil || full {
			c.Wait = full
			return err
		}
		heads, err := e.store.RunQueuedHeads(ctx, budget)
		if err != nil || len(heads) == 0 {
			return err
		}
		if !heads[0].Observed {
			c.Started, err = e.startHead(ctx, heads[0].ID, in.Worker)
			return err
		}
		ids := make([]uuid.UUID, 0, len(heads))
		for _, h := range heads {
			if !h.Observed {
				break
			}
			ids = append(ids, h.ID)
		}
		c.Settled, err = e.settleObserved(ctx, ids, in.ObservedOutput)
		return err
	})
	if err != nil {
		return Claim{}, err
	}
	return c, nil
}

// settleObserved moves the queued runs ids to running and on to succeeded,
// with a history row for each move, their output and the observers, and
// returns them in the order of ids. The caller holds the slot lock in the
// transaction ctx carries.
func (e *Engine) settleObserved(ctx context.Context, ids []uuid.UUID, output string) ([]domain.Run, error) {
	start := domain.Transition{From: domain.StateQueued, To: domain.StateRunning, Reason: "started"}
	end := domain.Transition{From: domain.StateRunning, To: domain.StateSucceeded}
	// Explicit times keep the two moves in order in the history.
	start.At = time.Now().UTC().Truncate(time.Microsecond)
	end.At = start.At.Add(time.Microsecond)
	if err := errors.Join(domain.ValidateTransition(start.From, start.To), domain.ValidateTransition(end.From, end.To)); err != nil {
		return nil, err
	}
	started, err := e.store.RunTransitionMany(ctx, ids, start)
	if err != nil {
		return nil, err
	}
	if len(started) != len(ids) {
		// Under the slot lock nobody else starts them; a run cancelled
		// meanwhile is taken by the next claim.
		return nil, fmt.Errorf("%w: %d of %d queued runs could not start", domain.ErrConflict, len(ids)-len(started), len(ids))
	}
	done, err := e.store.RunTransitionMany(ctx, ids, end)
	if err != nil {
		return nil, err
	}
	if len(done) != len(ids) {
		return nil, fmt.Errorf("%w: %d of %d started runs could not succeed", domain.ErrConflict, len(ids)-len(done), len(ids))
	}
	byID := make(map[uuid.UUID]domain.Run, len(done))
	for _, r := range done {
		byID[r.ID] = r
	}
	events := make([]domain.RunEvent, 0, 2*len(ids))
	logs := make([]domain.RunLog, 0, len(ids))
	out := make([]domain.Run, 0, len(ids))
	for _, r := range started {
		events = append(events, domain.RunEvent{RunID: r.ID, From: start.From, To: start.To, At: r.UpdatedAt, Attempt: r.Attempt, Reason: start.Reason})
	}
	for _, id := range ids {
		r := byID[id]
		events = append(events, domain.RunEvent{RunID: id, From: end.From, To: end.To, At: r.UpdatedAt, Attempt: r.Attempt})
		logs = append(logs, domain.RunLog{RunID: id, Content: output})
		out = append(out, r)
	}
	if err := e.store.RunEventCreateMany(ctx, events); err != nil {
		return nil, err
	}
	if err := e.store.RunLogPutMany(ctx, logs); err != nil {
		return nil, err
	}
	for i := range out {
		if err := e.RunSucceeded(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// startBudget returns how many runs may start now, at most n, or full when
// none may: no slot is free or the start rate is used up. The caller holds
// the tenant's slot lock.
func (e *Engine) startBudget(ctx context.Context, lim SlotLimits, n int) (int, bool, error) {
	if lim.StartsPerMinute > 0 {
		started, err := e.store.RunCountStartedSince(ctx, time.Now().Add(-time.Minute))
		if err != nil {
			return 0, false, err
		}
		if started >= int64(lim.StartsPerMinute) {
			return 0, true, nil
		}
		n = min(n, lim.StartsPerMinute-int(started))
	}
	if lim.MaxRunning > 0 {
		running, err := e.store.RunCountRunning(ctx)
		if err != nil {
			return 0, false, err
		}
		if running >= int64(lim.MaxRunning) {
			return 0, true, nil
		}
	}
	return n, false, nil
}

// SlotsFull reports, without taking the tenant's slot lock, whether the
// tenant already runs lim.MaxRunning runs: a cheap check before StartRun for
// a job that most likely has to wait.
func (e *Engine) SlotsFull(ctx context.Context, lim SlotLimits) (bool, error) {
	if lim.MaxRunning <= 0 {
		return false, nil
	}
	n, err := e.store.RunCountRunning(ctx)
	if err != nil {
		return false, err
	}
	return n >= int64(lim.MaxRunning), nil
}

// nextRun returns the tenant's oldest queued run with an asset, or wait
// when no slot is free or the start rate is used up. The caller holds the
// tenant's slot lock.
func (e *Engine) nextRun(ctx context.Context, lim SlotLimits) (uuid.UUID, bool, error) {
	if lim.StartsPerMinute > 0 {
		n, err := e.store.RunCountStartedSince(ctx, time.Now().Add(-time.Minute))
		if err != nil {
			return uuid.Nil, false, err
		}
		if n >= int64(lim.StartsPerMinute) {
			return uuid.Nil, true, nil
		}
	}
	if lim.MaxRunning > 0 {
		running, err := e.store.RunCountRunning(ctx)
		if err != nil {
			return uuid.Nil, false, err
		}
		if running >= int64(lim.MaxRunning) {
			return uuid.Nil, true, nil
		}
	}
	head, err := e.store.RunOldestQueued(ctx, 1)
	if err != nil {
		return uuid.Nil, false, err
	}
	if len(head) == 0 {
		return uuid.Nil, false, nil
	}
	return head[0], false, nil
}

// FinishRun moves a running run to a final state. A run that is no longer
// running (cancelled meanwhile, or finished by someone else) is left alone
// and reported with ErrConflict.
func (e *Engine) FinishRun(ctx context.Context, id uuid.UUID, to domain.State, message string) (*domain.Run, error) {
	return e.TransitionRun(ctx, domain.Transition{ID: id, From: domain.StateRunning, To: to, ErrorMessage: message})
}

// RetryRun moves a failed or timed-out run back to pending (raising its
// attempt), queues it and dispatches it to run after delay, in one
// transaction.
func (e *Engine) RetryRun(ctx context.Context, id uuid.UUID, from domain.State, delay time.Duration, reason string) (*domain.Run, error) {
	var out *domain.Run
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		run, err := e.TransitionRun(ctx, domain.Transition{ID: id, From: from, To: domain.StatePending, Reason: reason})
		if err != nil {
			return err
		}
		out, err = e.queue(ctx, run, time.Now().Add(delay), fmt.Sprintf("retry in %s", delay.Round(time.Millisecond)))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutRunLog replaces the kept output of a run with its last
// domain.MaxRunLogBytes bytes. Invalid UTF-8 becomes U+FFFD and each NUL
// byte the four characters \x00: PostgreSQL refuses NUL in text, and a
// log that cannot be stored would cost the step its outcome.
func (e *Engine) PutRunLog(ctx context.Context, id uuid.UUID, content string, truncated bool) error {
	content = strings.ReplaceAll(strings.ToValidUTF8(content, "\uFFFD"), "\x00", `\x00`)
	if len(content) > domain.MaxRunLogBytes {
		cut := len(content) - domain.MaxRunLogBytes
		for cut < len(content) && !utf8.RuneStart(content[cut]) {
			cut++ // keep whole runes
		}
		content, truncated = content[cut:], true
	}
	return e.store.RunLogPut(ctx, &domain.RunLog{RunID: id, Content: content, Truncated: truncated})
}

// StartWorkflowSteps creates the steps of a running workflow run, one
// pending child run per asset of its workflow version, unless they exist.
func (e *Engine) StartWorkflowSteps(ctx context.Context, id uuid.UUID) error {
	return e.store.InTx(ctx, func(ctx context.Context) error {
		parent, err := e.store.RunLock(ctx, id)
		if err != nil {
			return err
		}
		if parent.WorkflowID == nil || parent.AssetID != nil {
			return domain.Invalid("run", "not a workflow run")
		}
		children, err := e.store.RunChildren(ctx, id)
		if err != nil || len(children) > 0 {
			return err
		}
		w, err := e.store.WorkflowGet(ctx, *parent.WorkflowID)
		if err != nil {
			return err
		}
		for _, assetID := range w.AssetIDs {
			step := domain.Run{
				WorkflowID: parent.WorkflowID, AssetID: &assetID, ParentID: &parent.ID,
				Trigger: domain.TriggerUpstream, PartitionKey: parent.PartitionKey,
			}
			step.Normalize()
			if err := e.store.RunCreate(ctx, &step); err != nil {
				return err
			}
		}
		return nil
	})
}

// AdvanceWorkflowRun moves a workflow run on: steps whose upstream steps
// (edges among the workflow's assets) all succeeded are queued and
// dispatched, steps behind a failed one become upstream_failed, and when
// every step is final the run succeeds, or fails naming the failed steps. It
// locks the workflow run, so steps finishing at once advance it one at a
// time. It reports whether the workflow run is final.
func (e *Engine) AdvanceWorkflowRun(ctx context.Context, id uuid.UUID) (bool, error) {
	final := false
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		parent, err := e.store.RunLock(ctx, id)
		if err != nil {
			return err
		}
		children, err := e.store.RunChildren(ctx, id)
		if err != nil {
			return err
		}
		if parent.State.IsTerminal() {
			final = true
			return e.cancelSteps(ctx, children, parent.State)
		}
		if parent.State != domain.StateRunning {
			return nil
		}
		upstream, err := e.stepUpstreams(ctx, children)
		if err != nil {
			return err
		}
		state := make(map[uuid.UUID]domain.State, len(children))
		byAsset := make(map[uuid.UUID]*domain.Run, len(children))
		for i := range children {
			state[*children[i].AssetID] = children[i].State
			byAsset[*children[i].AssetID] = &children[i]
		}
		for changed := true; changed; {
			changed = false
			for _, c := range children {
				asset := *c.AssetID
				if state[asset] != domain.StatePending {
					continue
				}
				ready, blocked := true, ""
				for _, up := range upstream[asset] {
					switch st := state[up]; {
					case st == domain.StateSucceeded:
					case st.IsTerminal():
						blocked = up.String()
					default:
						ready = false
					}
				}
				switch {
				case blocked != "":
					if _, err := e.TransitionRun(ctx, domain.Transition{ID: c.ID, From: domain.StatePending, To: domain.StateUpstreamFailed,
						ErrorMessage: "an upstream step did not succeed", Reason: "upstream step failed"}); err != nil {
						return err
					}
					state[asset], changed = domain.StateUpstreamFailed, true
				case ready:
					if _, err := e.queue(ctx, byAsset[asset], time.Time{}, "upstream steps succeeded"); err != nil {
						return err
					}
					state[asset], changed = domain.StateQueued, true
				}
			}
		}
		var failed []string
		for _, c := range children {
			switch st := state[*c.AssetID]; {
			case !st.IsTerminal():
				return nil // still going
			case st != domain.StateSucceeded:
				failed = append(failed, c.ID.String())
			}
		}
		final = true
		if len(failed) == 0 {
			_, err = e.FinishRun(ctx, id, domain.StateSucceeded, "")
			return err
		}
		_, err = e.FinishRun(ctx, id, domain.StateFailed, fmt.Sprintf("%d of %d steps did not succeed", len(failed), len(children)))
		return err
	})
	return final, err
}

// stepUpstreams maps each step's asset to the assets of the workflow that
// feed it directly, in one read.
func (e *Engine) stepUpstreams(ctx context.Context, children []domain.Run) (map[uuid.UUID][]uuid.UUID, error) {
	in := make(map[uuid.UUID]bool, len(children))
	ids := make([]uuid.UUID, 0, len(children))
	for _, c := range children {
		in[*c.AssetID] = true
		ids = append(ids, *c.AssetID)
	}
	edges, err := e.store.DependencyEdges(ctx, domain.EdgeQuery{DownstreamOf: ids})
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID][]uuid.UUID, len(children))
	for _, edge := range edges {
		if in[edge.UpstreamAssetID] && in[edge.DownstreamAssetID] && !slices.Contains(out[edge.DownstreamAssetID], edge.UpstreamAssetID) {
			out[edge.DownstreamAssetID] = append(out[edge.DownstreamAssetID], edge.UpstreamAssetID)
		}
	}
	return out, nil
}

// cancelSteps cancels the unfinished steps of a finished workflow run.
func (e *Engine) cancelSteps(ctx context.Context, children []domain.Run, parent domain.State) error {
	if parent != domain.StateCancelled {
		return nil
	}
	for _, c := range children {
		if c.State.IsTerminal() {
			continue
		}
		_, err := e.TransitionRun(ctx, domain.Transition{ID: c.ID, From: c.State, To: domain.StateCancelled,
			ErrorMessage: "the workflow run was cancelled", Reason: "workflow run cancelled"})
		if err != nil && !errors.Is(err, domain.ErrConflict) {
			return err
		}
	}
	return nil
}

// SettleInput is the end of one attempt of a run with an asset.
type SettleInput struct {
	ID uuid.UUID
	// Attempt is the attempt that ended; a run that has moved past it is
	// left alone (ErrConflict). Zero skips the check.
	Attempt int
	// To is the attempt's end: succeeded, failed or timeout.
	To      domain.State
	Message string
	// Output, when not nil, replaces the run's kept output.
	Output    *string
	Truncated bool
	// Retry queues the next attempt to run after RetryDelay instead of
	// ending the run.
	Retry       bool
	RetryDelay  time.Duration
	RetryReason string
}

// SettleRun records the end of an attempt in one transaction: its output,
// its final state or its next attempt, and, for a workflow step that ended
// for good, the advance of its workflow run. A worker that dies anywhere in
// between leaves the step running as it was, to be settled again, never a
// finished step in a workflow run that does not move on. The workflow run
// is locked first, as AdvanceWorkflowRun does, so steps of one workflow run
// settle one at a time.
func (e *Engine) SettleRun(ctx context.Context, in SettleInput) (*domain.Run, error) {
	var out *domain.Run
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		run, err := e.store.RunGet(ctx, in.ID)
		if err != nil {
			return err
		}
		if run.ParentID != nil {
			if _, err := e.store.RunLock(ctx, *run.ParentID); err != nil {
				return err
			}
		}
		if run, err = e.store.RunLock(ctx, in.ID); err != nil {
			return err
		}
		if run.State != domain.StateRunning || (in.Attempt > 0 && run.Attempt != in.Attempt) {
			return fmt.Errorf("%w: run %s is %s at attempt %d, not running attempt %d", domain.ErrConflict, in.ID, run.State, run.Attempt, in.Attempt)
		}
		if in.Output != nil {
			if err := e.PutRunLog(ctx, in.ID, *in.Output, in.Truncated); err != nil {
				return err
			}
		}
		if in.Retry {
			out, err = e.FinishAndRetryRun(ctx, in.ID, in.To, in.Message, in.RetryDelay, in.RetryReason)
			return err
		}
		if out, err = e.FinishRun(ctx, in.ID, in.To, in.Message); err != nil {
			return err
		}
		if out.ParentID != nil {
			_, err = e.AdvanceWorkflowRun(ctx, *out.ParentID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishAndRetryRun ends a running attempt as failed or timed out and, in
// the same transaction, queues the next attempt to run after delay, so that
// nobody ever sees the step failed for good in between.
func (e *Engine) FinishAndRetryRun(ctx context.Context, id uuid.UUID, to domain.State, message string, delay time.Duration, reason string) (*domain.Run, error) {
	var out *domain.Run
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := e.FinishRun(ctx, id, to, message); err != nil {
			return err
		}
		var err error
		out, err = e.RetryRun(ctx, id, to, delay, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mustWaitWorkflow applies the workflow's cap on running workflow runs,
// counted over all its versions, oldest queued first.
func (e *Engine) mustWaitWorkflow(ctx context.Context, run *domain.Run) (bool, error) {
	w, err := e.store.WorkflowGet(ctx, *run.WorkflowID)
	if err != nil {
		return false, err
	}
	latest, err := e.store.WorkflowGetByName(ctx, w.Name, 0)
	if err != nil {
		return false, err
	}
	limit := latest.MaxActiveRuns // the latest version's cap governs
	if limit <= 0 {
		return false, nil
	}
	ids, err := e.store.WorkflowIDsByName(ctx, w.Name)
	if err != nil {
		return false, err
	}
	running, head, err := e.store.RunWorkflowSlots(ctx, ids, limit)
	if err != nil {
		return false, err
	}
	free := limit - int(running)
	if free <= 0 {
		return true, nil
	}
	return !slices.Contains(head[:min(free, len(head))], run.ID), nil
}

// RunLease returns the lease of a run's current attempt.
func (e *Engine) RunLease(ctx context.Context, id uuid.UUID) (*domain.RunLease, error) {
	return e.store.RunLeaseGet(ctx, id)
}

// DropRunLease removes the lease that attempt of a run left behind (the
// run is no longer running it). The lease of a later attempt, which
// another worker may have taken since, stays.
func (e *Engine) DropRunLease(ctx context.Context, id uuid.UUID, attempt int) error {
	return e.store.RunLeaseDeleteAttempt(ctx, id, attempt)
}

// RenewRunLeases records that worker is alive and still runs the given
// runs: their leases, of any tenant, get a fresh heartbeat.
func (e *Engine) RenewRunLeases(ctx context.Context, worker string, runIDs []uuid.UUID) (int64, error) {
	return e.store.RunLeaseRenew(ctx, worker, runIDs, time.Now())
}

// StaleRunLeases returns up to limit leases, of any tenant, whose heartbeat
// is older than timeout.
func (e *Engine) StaleRunLeases(ctx context.Context, timeout time.Duration, limit int) ([]domain.RunLease, error) {
	return e.store.RunLeaseListStale(ctx, time.Now().Add(-timeout), limit)
}
