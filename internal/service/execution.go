package service

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

// TriggerRun records a run and, when a runtime is connected, dispatches it
// in the same transaction: the run is queued and its job exists, or
// neither. A repeated idempotency key returns the first run untouched.
func (s *Service) TriggerRun(ctx context.Context, in CreateRunInput) (*domain.Execution, bool, error) {
	if in.Trigger == domain.TriggerOpenLineage {
		return nil, false, domain.Invalid("trigger", "openlineage marks runs recorded from OpenLineage events; send those to the lineage routes")
	}
	if in.ID != nil {
		return nil, false, domain.Invalid("id", "a run Servo starts gets an id of its own")
	}
	var run *domain.Execution
	var created bool
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		run, created, err = s.CreateRun(ctx, in)
		if err != nil || !created || s.dispatcher == nil {
			return err
		}
		run, err = s.queue(ctx, run, time.Time{}, "triggered")
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return run, created, nil
}

// queue moves a pending run to queued and hands it to the dispatcher.
func (s *Service) queue(ctx context.Context, run *domain.Execution, at time.Time, reason string) (*domain.Execution, error) {
	queued, err := s.TransitionRun(ctx, domain.Transition{ID: run.ID, From: domain.StatePending, To: domain.StateQueued, Reason: reason})
	if err != nil {
		return nil, err
	}
	if s.dispatcher == nil {
		return queued, nil
	}
	if at.IsZero() {
		at = time.Now()
	}
	if err := s.dispatcher.Dispatch(ctx, queued, at); err != nil {
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
func (s *Service) StartRun(ctx context.Context, id uuid.UUID, lim SlotLimits) (*domain.Execution, StartOutcome, error) {
	var out *domain.Execution
	outcome := NotQueued
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		run, err := s.store.ExecutionGet(ctx, id)
		if err != nil {
			return err
		}
		out = run
		if run.State != domain.StateQueued {
			return nil
		}
		if run.AssetID != nil {
			started, wait, err := s.ClaimNext(ctx, lim, "")
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
			if err := s.store.ExecutionLockTenantSlots(ctx); err != nil {
				return err
			}
			if wait, err := s.mustWaitWorkflow(ctx, run); err != nil || wait {
				outcome = MustWait
				return err
			}
		}
		out, err = s.TransitionRun(ctx, domain.Transition{ID: id, From: domain.StateQueued, To: domain.StateRunning, Reason: "started"})
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
func (s *Service) ClaimNext(ctx context.Context, lim SlotLimits, worker string) (started *domain.Execution, wait bool, err error) {
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.ExecutionLockTenantSlots(ctx); err != nil {
			return err
		}
		head, full, err := s.nextRun(ctx, lim)
		if err != nil || full || head == uuid.Nil {
			wait = full
			return err
		}
		started, err = s.TransitionRun(ctx, domain.Transition{ID: head, From: domain.StateQueued, To: domain.StateRunning, Reason: "started"})
		if err != nil {
			return err
		}
		if worker != "" {
			return s.store.RunLeaseTake(ctx, &domain.RunLease{ExecutionID: started.ID, Attempt: started.Attempt, WorkerID: worker, HeartbeatAt: time.Now()})
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return started, wait, nil
}

// SlotsFull reports, without taking the tenant's slot lock, whether the
// tenant already runs lim.MaxRunning runs: a cheap check before StartRun for
// a job that most likely has to wait.
func (s *Service) SlotsFull(ctx context.Context, lim SlotLimits) (bool, error) {
	if lim.MaxRunning <= 0 {
		return false, nil
	}
	n, err := s.store.ExecutionCountRunning(ctx)
	if err != nil {
		return false, err
	}
	return n >= int64(lim.MaxRunning), nil
}

// nextRun returns the tenant's oldest queued run with an asset, or wait
// when no slot is free or the start rate is used up. The caller holds the
// tenant's slot lock.
func (s *Service) nextRun(ctx context.Context, lim SlotLimits) (uuid.UUID, bool, error) {
	if lim.StartsPerMinute > 0 {
		n, err := s.store.ExecutionCountStartedSince(ctx, time.Now().Add(-time.Minute))
		if err != nil {
			return uuid.Nil, false, err
		}
		if n >= int64(lim.StartsPerMinute) {
			return uuid.Nil, true, nil
		}
	}
	if lim.MaxRunning > 0 {
		running, err := s.store.ExecutionCountRunning(ctx)
		if err != nil {
			return uuid.Nil, false, err
		}
		if running >= int64(lim.MaxRunning) {
			return uuid.Nil, true, nil
		}
	}
	head, err := s.store.ExecutionOldestQueued(ctx, 1)
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
func (s *Service) FinishRun(ctx context.Context, id uuid.UUID, to domain.State, message string) (*domain.Execution, error) {
	return s.TransitionRun(ctx, domain.Transition{ID: id, From: domain.StateRunning, To: to, ErrorMessage: message})
}

// RetryRun moves a failed or timed-out run back to pending (raising its
// attempt), queues it and dispatches it to run after delay, in one
// transaction.
func (s *Service) RetryRun(ctx context.Context, id uuid.UUID, from domain.State, delay time.Duration, reason string) (*domain.Execution, error) {
	var out *domain.Execution
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		run, err := s.TransitionRun(ctx, domain.Transition{ID: id, From: from, To: domain.StatePending, Reason: reason})
		if err != nil {
			return err
		}
		out, err = s.queue(ctx, run, time.Now().Add(delay), fmt.Sprintf("retry in %s", delay.Round(time.Millisecond)))
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
func (s *Service) PutRunLog(ctx context.Context, id uuid.UUID, content string, truncated bool) error {
	content = strings.ReplaceAll(strings.ToValidUTF8(content, "\uFFFD"), "\x00", `\x00`)
	if len(content) > domain.MaxRunLogBytes {
		cut := len(content) - domain.MaxRunLogBytes
		for cut < len(content) && !utf8.RuneStart(content[cut]) {
			cut++ // keep whole runes
		}
		content, truncated = content[cut:], true
	}
	return s.store.RunLogPut(ctx, &domain.RunLog{ExecutionID: id, Content: content, Truncated: truncated})
}

// RunLog returns a run's kept output; a run without output has an empty
// log.
func (s *Service) RunLog(ctx context.Context, id uuid.UUID) (*domain.RunLog, error) {
	var out *domain.RunLog
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.ExecutionGet(ctx, id); err != nil {
			return err
		}
		l, err := s.store.RunLogGet(ctx, id)
		if errors.Is(err, domain.ErrNotFound) {
			out = &domain.RunLog{ExecutionID: id}
			return nil
		}
		out = l
		return err
	})
	return out, err
}

// RunEvents returns a run's transition history, oldest first.
func (s *Service) RunEvents(ctx context.Context, id uuid.UUID) ([]domain.RunEvent, error) {
	var out []domain.RunEvent
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.ExecutionGet(ctx, id); err != nil {
			return err
		}
		var err error
		out, err = s.store.RunEventList(ctx, id)
		return err
	})
	return out, err
}

// RunSteps returns the steps of a workflow run with their names.
func (s *Service) RunSteps(ctx context.Context, id uuid.UUID) ([]RunView, error) {
	var out []RunView
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		children, err := s.store.ExecutionChildren(ctx, id)
		if err != nil {
			return err
		}
		out, err = s.describeRuns(ctx, children)
		return err
	})
	return out, err
}

// ExecutionPlan is what a worker needs to run one materialization.
type ExecutionPlan struct {
	Run      domain.Execution
	Asset    domain.Asset
	Workflow *domain.WorkflowRef
	// Retry is the effective policy: the asset's, else the workflow's, else
	// one attempt.
	Retry domain.RetryPolicy
	// Partition describes the run's partition; nil without one.
	Partition *PartitionContext
}

// PlanRun loads a materialization's asset and effective retry policy.
func (s *Service) PlanRun(ctx context.Context, run *domain.Execution) (*ExecutionPlan, error) {
	if run.AssetID == nil {
		return nil, domain.Invalid("run", "a workflow run has no asset to materialize")
	}
	plan := &ExecutionPlan{Run: *run, Retry: domain.DefaultRetryPolicy}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		a, err := s.store.AssetGet(ctx, *run.AssetID)
		if err != nil {
			return err
		}
		plan.Asset = *a
		if run.WorkflowID != nil {
			w, err := s.store.WorkflowGet(ctx, *run.WorkflowID)
			if err != nil {
				return err
			}
			plan.Workflow = &domain.WorkflowRef{ID: w.ID, Name: w.Name, Version: w.Version}
			if w.Retry != nil {
				plan.Retry = *w.Retry
			}
		}
		if a.Compute != nil && a.Compute.Retry != nil {
			plan.Retry = *a.Compute.Retry
		}
		if a.Partitions != nil || run.PartitionKey != "" {
			plan.Partition, err = s.partitionContext(ctx, a, run.PartitionKey)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// StartWorkflowSteps creates the steps of a running workflow run, one
// pending child run per asset of its workflow version, unless they exist.
func (s *Service) StartWorkflowSteps(ctx context.Context, id uuid.UUID) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		parent, err := s.store.ExecutionLock(ctx, id)
		if err != nil {
			return err
		}
		if parent.WorkflowID == nil || parent.AssetID != nil {
			return domain.Invalid("run", "not a workflow run")
		}
		children, err := s.store.ExecutionChildren(ctx, id)
		if err != nil || len(children) > 0 {
			return err
		}
		w, err := s.store.WorkflowGet(ctx, *parent.WorkflowID)
		if err != nil {
			return err
		}
		for _, assetID := range w.AssetIDs {
			step := domain.Execution{
				WorkflowID: parent.WorkflowID, AssetID: &assetID, ParentID: &parent.ID,
				Trigger: domain.TriggerUpstream, PartitionKey: parent.PartitionKey,
			}
			step.Normalize()
			if err := s.store.ExecutionCreate(ctx, &step); err != nil {
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
func (s *Service) AdvanceWorkflowRun(ctx context.Context, id uuid.UUID) (bool, error) {
	final := false
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		parent, err := s.store.ExecutionLock(ctx, id)
		if err != nil {
			return err
		}
		children, err := s.store.ExecutionChildren(ctx, id)
		if err != nil {
			return err
		}
		if parent.State.IsTerminal() {
			final = true
			return s.cancelSteps(ctx, children, parent.State)
		}
		if parent.State != domain.StateRunning {
			return nil
		}
		upstream, err := s.stepUpstreams(ctx, children)
		if err != nil {
			return err
		}
		state := make(map[uuid.UUID]domain.State, len(children))
		byAsset := make(map[uuid.UUID]*domain.Execution, len(children))
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
					if _, err := s.TransitionRun(ctx, domain.Transition{ID: c.ID, From: domain.StatePending, To: domain.StateUpstreamFailed,
						ErrorMessage: "an upstream step did not succeed", Reason: "upstream step failed"}); err != nil {
						return err
					}
					state[asset], changed = domain.StateUpstreamFailed, true
				case ready:
					if _, err := s.queue(ctx, byAsset[asset], time.Time{}, "upstream steps succeeded"); err != nil {
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
			_, err = s.FinishRun(ctx, id, domain.StateSucceeded, "")
			return err
		}
		_, err = s.FinishRun(ctx, id, domain.StateFailed, fmt.Sprintf("%d of %d steps did not succeed", len(failed), len(children)))
		return err
	})
	return final, err
}

// stepUpstreams maps each step's asset to the assets of the workflow that
// feed it directly, in one read.
func (s *Service) stepUpstreams(ctx context.Context, children []domain.Execution) (map[uuid.UUID][]uuid.UUID, error) {
	in := make(map[uuid.UUID]bool, len(children))
	ids := make([]uuid.UUID, 0, len(children))
	for _, c := range children {
		in[*c.AssetID] = true
		ids = append(ids, *c.AssetID)
	}
	edges, err := s.store.DependencyEdges(ctx, domain.EdgeQuery{DownstreamOf: ids})
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID][]uuid.UUID, len(children))
	for _, e := range edges {
		if in[e.UpstreamAssetID] && in[e.DownstreamAssetID] && !slices.Contains(out[e.DownstreamAssetID], e.UpstreamAssetID) {
			out[e.DownstreamAssetID] = append(out[e.DownstreamAssetID], e.UpstreamAssetID)
		}
	}
	return out, nil
}

// cancelSteps cancels the unfinished steps of a finished workflow run.
func (s *Service) cancelSteps(ctx context.Context, children []domain.Execution, parent domain.State) error {
	if parent != domain.StateCancelled {
		return nil
	}
	for _, c := range children {
		if c.State.IsTerminal() {
			continue
		}
		_, err := s.TransitionRun(ctx, domain.Transition{ID: c.ID, From: c.State, To: domain.StateCancelled,
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

// settleFault, when set (tests only), runs inside SettleRun's transaction
// between the end of a step and the advance of its workflow run; an error
// from it rolls both back, as a worker dying there would.
var settleFault func(ctx context.Context, id uuid.UUID) error

// SettleRun records the end of an attempt in one transaction: its output,
// its final state or its next attempt, and, for a workflow step that ended
// for good, the advance of its workflow run. A worker that dies anywhere in
// between leaves the step running as it was, to be settled again, never a
// finished step in a workflow run that does not move on. The workflow run
// is locked first, as AdvanceWorkflowRun does, so steps of one workflow run
// settle one at a time.
func (s *Service) SettleRun(ctx context.Context, in SettleInput) (*domain.Execution, error) {
	var out *domain.Execution
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		run, err := s.store.ExecutionGet(ctx, in.ID)
		if err != nil {
			return err
		}
		if run.ParentID != nil {
			if _, err := s.store.ExecutionLock(ctx, *run.ParentID); err != nil {
				return err
			}
		}
		if run, err = s.store.ExecutionLock(ctx, in.ID); err != nil {
			return err
		}
		if run.State != domain.StateRunning || (in.Attempt > 0 && run.Attempt != in.Attempt) {
			return fmt.Errorf("%w: run %s is %s at attempt %d, not running attempt %d", domain.ErrConflict, in.ID, run.State, run.Attempt, in.Attempt)
		}
		if in.Output != nil {
			if err := s.PutRunLog(ctx, in.ID, *in.Output, in.Truncated); err != nil {
				return err
			}
		}
		if in.Retry {
			out, err = s.FinishAndRetryRun(ctx, in.ID, in.To, in.Message, in.RetryDelay, in.RetryReason)
			return err
		}
		if out, err = s.FinishRun(ctx, in.ID, in.To, in.Message); err != nil {
			return err
		}
		if settleFault != nil {
			if err := settleFault(ctx, in.ID); err != nil {
				return err
			}
		}
		if out.ParentID != nil {
			_, err = s.AdvanceWorkflowRun(ctx, *out.ParentID)
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
func (s *Service) FinishAndRetryRun(ctx context.Context, id uuid.UUID, to domain.State, message string, delay time.Duration, reason string) (*domain.Execution, error) {
	var out *domain.Execution
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.FinishRun(ctx, id, to, message); err != nil {
			return err
		}
		var err error
		out, err = s.RetryRun(ctx, id, to, delay, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mustWaitWorkflow applies the workflow's cap on running workflow runs,
// counted over all its versions, oldest queued first.
func (s *Service) mustWaitWorkflow(ctx context.Context, run *domain.Execution) (bool, error) {
	w, err := s.store.WorkflowGet(ctx, *run.WorkflowID)
	if err != nil {
		return false, err
	}
	latest, err := s.store.WorkflowGetByName(ctx, w.Name, 0)
	if err != nil {
		return false, err
	}
	limit := latest.MaxActiveRuns // the latest version's cap governs
	if limit <= 0 {
		return false, nil
	}
	ids, err := s.store.WorkflowIDsByName(ctx, w.Name)
	if err != nil {
		return false, err
	}
	running, head, err := s.store.ExecutionWorkflowSlots(ctx, ids, limit)
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
func (s *Service) RunLease(ctx context.Context, id uuid.UUID) (*domain.RunLease, error) {
	return s.store.RunLeaseGet(ctx, id)
}

// DropRunLease removes a run's lease (one left behind by a run that is no
// longer running).
func (s *Service) DropRunLease(ctx context.Context, id uuid.UUID) error {
	return s.store.RunLeaseDelete(ctx, id)
}

// RenewRunLeases records that worker is alive and still runs the given
// runs: their leases, of any tenant, get a fresh heartbeat.
func (s *Service) RenewRunLeases(ctx context.Context, worker string, runIDs []uuid.UUID) (int64, error) {
	return s.store.RunLeaseRenew(ctx, worker, runIDs, time.Now())
}

// StaleRunLeases returns up to limit leases, of any tenant, whose heartbeat
// is older than timeout.
func (s *Service) StaleRunLeases(ctx context.Context, timeout time.Duration, limit int) ([]domain.RunLease, error) {
	return s.store.RunLeaseListStale(ctx, time.Now().Add(-timeout), limit)
}
