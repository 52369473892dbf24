package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/config/defaults"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/engine"
	"github.com/servo-data/servo/internal/service"
)

// Config tunes the runtime.
type Config struct {
	// Policy is the allowlist of executables and hosts.
	Policy Policy
	// MaxRunningPerTenant caps a tenant's running materializations and
	// steps; default 4, below the default Workers, so that one tenant's
	// backlog leaves slots to the others.
	MaxRunningPerTenant int
	// StartsPerMinute caps how many runs of a tenant start in any minute; 0
	// means no cap.
	StartsPerMinute int
	// Workers is how many jobs one process works at once; default 10.
	Workers int
	// Lease bounds one job's run time: its context ends after it, and a job
	// still marked running a little later is worked again; default 30m. Step
	// timeouts may be at most half of it. Lost workers are found sooner,
	// through HeartbeatTimeout.
	Lease time.Duration
	// HeartbeatTimeout is how long a running attempt's lease may go without
	// its worker renewing it before the attempt is taken for lost (the
	// worker died), failed and retried per its policy, freeing its slot;
	// default 30s. Workers renew their leases every sixth of it.
	HeartbeatTimeout time.Duration
	// WaitPoll is how soon a run that found no free slot tries again;
	// default 1s.
	WaitPoll time.Duration
	// CancelPoll is how often a running step checks whether it was
	// cancelled; default 500ms.
	CancelPoll time.Duration
	// KillGrace is how long a stopped command gets between SIGTERM and
	// SIGKILL; default 10s.
	KillGrace time.Duration
	// SigningKey derives each tenant's secret for signing http steps.
	SigningKey []byte
	// FetchPollInterval is how often workers look for jobs besides being
	// woken: on PostgreSQL, where a listening driver (DB.Listen) wakes
	// them, a fallback for a notification missed, default 200ms; on
	// SQLite, whose workers learn of new jobs only by looking, how late a
	// run may start, default defaults.FetchPollIntervalSQLite.
	FetchPollInterval time.Duration
	// Queue is the River queue runs go through; default "default". Every
	// process of one deployment must use the same queue and limits.
	Queue string
	// Sandbox says how command steps are isolated from the server.
	Sandbox SandboxConfig
	// BackfillPoll is how often an active backfill is advanced besides the
	// moment one of its runs ends; default 1s.
	BackfillPoll time.Duration
}

func (c *Config) defaults() {
	if c.MaxRunningPerTenant <= 0 {
		c.MaxRunningPerTenant = defaults.MaxRunningPerTenant
	}
	if c.Workers <= 0 {
		c.Workers = defaults.Workers
	}
	if c.Lease <= 0 {
		c.Lease = defaults.Lease
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = defaults.HeartbeatTimeout
	}
	if c.WaitPoll <= 0 {
		c.WaitPoll = time.Second
	}
	if c.CancelPoll <= 0 {
		c.CancelPoll = 500 * time.Millisecond
	}
	if c.KillGrace <= 0 {
		c.KillGrace = defaults.KillGrace
	}
	if c.Queue == "" {
		c.Queue = river.QueueDefault
	}
	if c.BackfillPoll <= 0 {
		c.BackfillPoll = time.Second
	}
}

// Engine is what the runtime asks of the run engine (*engine.Engine).
type Engine interface {
	StartRun(ctx context.Context, id uuid.UUID, lim engine.SlotLimits) (*domain.Run, engine.StartOutcome, error)
	ClaimRuns(ctx context.Context, in engine.ClaimInput) (engine.Claim, error)
	SlotsFull(ctx context.Context, lim engine.SlotLimits) (bool, error)
	StartWorkflowSteps(ctx context.Context, id uuid.UUID) error
	AdvanceWorkflowRun(ctx context.Context, id uuid.UUID) (bool, error)
	SettleRun(ctx context.Context, in engine.SettleInput) (*domain.Run, error)
	FinishAndRetryRun(ctx context.Context, id uuid.UUID, to domain.State, message string, delay time.Duration, reason string) (*domain.Run, error)
	PutRunLog(ctx context.Context, id uuid.UUID, content string, truncated bool) error
	RunLease(ctx context.Context, id uuid.UUID) (*domain.RunLease, error)
	DropRunLease(ctx context.Context, id uuid.UUID, attempt int) error
	RenewRunLeases(ctx context.Context, worker string, runIDs []uuid.UUID) (int64, error)
	StaleRunLeases(ctx context.Context, timeout time.Duration, limit int) ([]domain.RunLease, error)
}

var _ Engine = (*engine.Engine)(nil)

// Runtime works runs: River workers take their jobs, executors run their
// steps, and a heartbeat keeps the leases of running attempts. Jobs are
// inserted by a Dispatcher.
type Runtime struct {
	svc    *service.Service
	eng    Engine
	cfg    Config
	log    *zap.Logger
	client jobClient
	exec   *executor
	rng    *lockedRand
	// backfills, once connected, are advanced by servo_backfill jobs.
	backfills atomic.Pointer[backfill.Backfills]
	nudges    nudges
	// worker names this process in the leases of the attempts it runs;
	// active holds the ids of the runs whose attempts it is running, the
	// only leases it renews.
	worker string
	active sync.Map
	// stopLiveness ends the heartbeat and reaper loop; livenessDone is
	// closed when it has ended.
	stopLiveness context.CancelFunc
	livenessDone chan struct{}
}

// lockedRand is a random source safe for the concurrent use of River's
// workers (a *rand.Rand is not).
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand() *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5e7))}
}

// Int64N implements domain.Rand.
func (l *lockedRand) Int64N(n int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
}

// ComputePolicy returns the compute policy the configuration sets: its
// allowlists, with the timeout cap (half the lease: the rest covers waiting
// for a slot and backoff), the steps' PATH and their network taken from
// the sandbox where the policy leaves them unset. An API node checks specs
// against it without building a Runtime.
func (c Config) ComputePolicy() Policy {
	c.defaults()
	p := c.Policy
	if p.MaxTimeout == "" {
		p.MaxTimeout = (c.Lease / 2).String()
	}
	if p.Path == "" {
		p.Path = c.Sandbox.Path
	}
	if p.Network == "" {
		p.Network = c.Sandbox.Network
	}
	return p
}

// New builds the runtime of a process that works runs: it works the jobs d
// dispatches (to d's queue, which cfg.Queue must name if it names one)
// through eng and svc. On PostgreSQL with d's DB.Listen set, the workers
// are woken by the notification of each insert, from any process;
// otherwise they find new jobs by polling.
func New(svc *service.Service, eng Engine, d *Dispatcher, cfg Config, log *zap.Logger) (*Runtime, error) {
	if cfg.Queue != "" && cfg.Queue != d.queue {
		return nil, fmt.Errorf("runtime queue %q is not the dispatcher's %q", cfg.Queue, d.queue)
	}
	cfg.Queue = d.queue
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = defaultFetchPollInterval(d.db)
	}
	cfg.defaults()
	cfg.Policy = cfg.ComputePolicy()
	if cfg.Sandbox.Path == "" {
		cfg.Sandbox.Path = cfg.Policy.Path
	}
	sb, err := newSandbox(cfg.Sandbox, cfg.Policy.Commands)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{
		svc: svc, eng: eng, cfg: cfg, log: log.Named("runtime"), worker: uuid.NewString(),
		rng:  newLockedRand(),
		exec: &executor{policy: cfg.Policy, sandbox: sb, grace: cfg.KillGrace, signingKey: cfg.SigningKey, client: newHTTPClient(cfg.Policy)},
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &runWorker{rt: rt}); err != nil {
		return nil, fmt.Errorf("register worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &backfillWorker{rt: rt}); err != nil {
		return nil, fmt.Errorf("register backfill worker: %w", err)
	}
	rc := &river.Config{
		Logger: slog.New(zapslog.NewHandler(rt.log.Named("river").Core())),
		// A job's context ends after the lease; a job still marked running
		// a little later belongs to a dead worker and is rescued.
		JobTimeout:           cfg.Lease,
		RescueStuckJobsAfter: cfg.Lease + time.Second,
		MaxAttempts:          maxJobAttempts,
		FetchPollInterval:    cfg.FetchPollInterval,
		Workers:              workers,
		Queues:               map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.Workers}},
	}
	if d.db.Postgres && d.db.Listen != nil {
		// Woken by each insert's notification: fetch at once, at most
		// once a millisecond.
		rc.FetchCooldown = time.Millisecond
		rt.client, err = d.db.Listen.newClient(rc)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		return rt, nil
	}
	rc.FetchCooldown = min(cfg.FetchPollInterval, 100*time.Millisecond)
	rc.PollOnly = true
	if rt.client, err = newRiverClient(d.db, rc); err != nil {
		return nil, err
	}
	return rt, nil
}

// defaultFetchPollInterval is how often the workers on db look for jobs
// when the configuration does not say: seldom on PostgreSQL, where
// notifications wake them, often on SQLite, where nothing does and the
// interval is how late a run starts.
func defaultFetchPollInterval(db DB) time.Duration {
	if db.Postgres {
		return defaults.FetchPollInterval
	}
	return defaults.FetchPollIntervalSQLite
}

// Isolation returns how this process isolates command steps: bwrap, user,
// none, or off when it runs none (commands off).
func (rt *Runtime) Isolation() string { return rt.exec.sandbox.mode }

// Start starts working jobs and the heartbeat and reaper loop.
func (rt *Runtime) Start(ctx context.Context) error {
	if err := rt.client.Start(ctx); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rt.stopLiveness, rt.livenessDone = cancel, make(chan struct{})
	go rt.liveness(lctx)
	return nil
}

// Stop lets running steps finish until ctx ends, then cancels them; each
// cancelled step is handed back, to run again elsewhere.
func (rt *Runtime) Stop(ctx context.Context) error {
	// Leases stay renewed until every step has finished or been handed
	// back, so that no other worker takes them for lost meanwhile.
	defer rt.endLiveness()
	defer rt.exec.sandbox.drain()
	if err := rt.client.Stop(ctx); err == nil {
		return nil
	}
	ctx2, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.cfg.KillGrace+10*time.Second)
	defer cancel()
	return rt.client.StopAndCancel(ctx2)
}

func (rt *Runtime) endLiveness() {
	if rt.stopLiveness != nil {
		rt.stopLiveness()
		<-rt.livenessDone
	}
}

// runWorker works servo_run jobs.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	rt *Runtime
}

// Work implements river.Worker.
func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	ctx = domain.WithTenant(ctx, job.Args.TenantID)
	if wait := time.Until(job.Args.NotBefore); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := w.rt.workRunJob(ctx, job.Args.RunID)
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) {
		w.rt.log.Warn("run job failed; it will be retried", zap.String("run_id", job.Args.RunID.String()), zap.String("tenant", job.Args.TenantID), zap.Error(err))
	}
	return err
}

// NextRetry retries infrastructure failures (the database away, say) soon
// and steadily, rather than with River's long default backoff.
func (w *runWorker) NextRetry(job *river.Job[runArgs]) time.Time {
	return time.Now().Add(min(time.Duration(job.Attempt)*time.Second, 30*time.Second))
}

// chainFor is how long one job goes on starting its tenant's next queued
// runs once its own run is done, so that short steps keep the slots busy
// without waiting for the next fetch. A tenant's chaining jobs hold no more
// River workers than it has slots, so other tenants' jobs still find free
// workers when the cap is below the worker count; the bound returns the
// River worker to the queue when it is not.
const chainFor = 5 * time.Second

// observedBatch bounds how many observed runs (nothing to run) one claim
// starts and settles in its transaction.
const observedBatch = 32

// nudgeBackfills nudges, once each, the backfills that settled runs belong
// to.
func (rt *Runtime) nudgeBackfills(ctx context.Context, settled []domain.Run) {
	seen := map[uuid.UUID]bool{}
	for i := range settled {
		if id, ok := backfill.RunBackfill(&settled[i]); ok && !seen[id] {
			seen[id] = true
			rt.nudgeBackfill(ctx, &settled[i])
		}
	}
}

// workRunJob works the job of one run in its tenant's scope. The job of a
// queued run with an asset is the right to start the tenant's oldest queued
// run: it starts and runs the head of the queue (its own run or an older
// one) until its own run has started, then goes on for chainFor, then
// returns. The job of a run another job's claim already ended goes on the
// same way from the start, as long as the tenant has runs queued and a
// free slot. Observed runs at the head start and succeed in the claim
// itself, up to observedBatch at a time (engine.ClaimRuns).
func (rt *Runtime) workRunJob(ctx context.Context, id uuid.UUID) error {
	run, err := rt.svc.GetRun(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if run.AssetID == nil {
		return rt.coordinate(ctx, run)
	}
	ownDone := false // the own run is no longer queued
	switch {
	case run.State == domain.StateQueued:
	case run.State == domain.StateRunning:
		if err := rt.settleIfLost(ctx, run); err != nil {
			return err
		}
		// Started by another job, which took it as the head of the queue
		// and left its own run queued: this job's right to start the head
		// is unused, so it goes on as a chain, or that run would wait until
		// the other job's step ends.
		ownDone = true
	case run.State.IsTerminal() && run.ParentID != nil:
		// Advancing is idempotent: a finished step whose workflow run did
		// not move on (a worker lost in between) moves it on now.
		_, err := rt.eng.AdvanceWorkflowRun(ctx, *run.ParentID)
		return err
	case run.State.IsTerminal():
		// Ended by another job's claim (or a late or duplicate job): the
		// right to start the tenant's head is unused, so the job goes on as
		// a chain, and the runs queued behind never wait for their own
		// jobs to come up.
		ownDone = true
	default:
		return nil // pending: not dispatched
	}
	lim := engine.SlotLimits{MaxRunning: rt.cfg.MaxRunningPerTenant, StartsPerMinute: rt.cfg.StartsPerMinute}
	if full, err := rt.eng.SlotsFull(ctx, lim); err != nil || full {
		// Most jobs of a tenant with a backlog land here: give the River
		// worker back at once, without queuing for the tenant's slot lock.
		if err != nil || ownDone {
			return err
		}
		return river.JobSnooze(rt.cfg.WaitPoll)
	}
	begin := time.Now()
	for {
		if time.Since(begin) > rt.cfg.Lease/3 {
			// Another step could outlast this job's context (the lease):
			// give the job back, to start again at once if still queued.
			if ownDone {
				return nil
			}
			return river.JobSnooze(0)
		}
		claim, err := rt.eng.ClaimRuns(ctx, engine.ClaimInput{Limits: lim, Worker: rt.worker, Max: observedBatch, ObservedOutput: observedOutput})
		if err != nil {
			return err
		}
		if claim.Started == nil && len(claim.Settled) == 0 {
			if ownDone {
				return nil
			}
			cur, err := rt.svc.GetRun(ctx, id)
			if errors.Is(err, domain.ErrNotFound) || (err == nil && cur.State != domain.StateQueued) {
				return nil // started elsewhere, cancelled or deleted
			}
			if err != nil {
				return err
			}
			return river.JobSnooze(rt.cfg.WaitPoll)
		}
		rt.nudgeBackfills(ctx, claim.Settled)
		if claim.Started != nil {
			if err := rt.runStarted(ctx, claim.Started); err != nil {
				return err
			}
		}
		if !ownDone {
			if claim.Has(id) {
				ownDone = true
			} else if cur, err := rt.svc.GetRun(ctx, id); err != nil || cur.State != domain.StateQueued {
				ownDone = true // started elsewhere (or gone): go on as a chain
			}
		}
		if err := ctx.Err(); err != nil {
			if ownDone {
				return nil
			}
			return err // shutting down with the own run still queued: River retries this job
		}
		if ownDone && time.Since(begin) > chainFor {
			return nil
		}
	}
}

// runStarted runs an attempt this worker has just started and settles it.
func (rt *Runtime) runStarted(ctx context.Context, started *domain.Run) error {
	rt.active.Store(started.ID, struct{}{})
	defer rt.active.Delete(started.ID)
	plan, err := rt.svc.PlanRun(ctx, started)
	if err != nil {
		return err
	}
	res := rt.attempt(ctx, plan)
	if res.outcome == stopped {
		return rt.stopped(ctx, plan, res)
	}
	return rt.settle(ctx, &plan.Run, res)
}

// settleIfLost settles a running attempt whose worker is gone: its lease is
// missing or was not renewed within the heartbeat timeout. An attempt whose
// worker is alive is left to it.
func (rt *Runtime) settleIfLost(ctx context.Context, run *domain.Run) error {
	lease, err := rt.eng.RunLease(ctx, run.ID)
	switch {
	case err == nil && lease.Attempt == run.Attempt && time.Since(lease.HeartbeatAt) < rt.cfg.HeartbeatTimeout &&
		(lease.WorkerID != rt.worker || rt.isActive(run.ID) || time.Since(lease.HeartbeatAt) < rt.cfg.HeartbeatTimeout/6):
		// Alive: another job of this run, or the head of the queue taken by
		// another worker. A lease of this process whose attempt it no
		// longer runs (its end could not be recorded) is lost once it has
		// missed a renewal; the grace covers a claim not yet marked active.
		return nil
	case err != nil && !errors.Is(err, domain.ErrNotFound):
		return err
	}
	return rt.settle(ctx, run, result{outcome: failed, message: lostMessage})
}

// lostMessage is the error of an attempt whose worker was lost.
const lostMessage = "the worker running this step was lost"

// attempt runs one attempt while watching for cancellation.
func (rt *Runtime) attempt(ctx context.Context, plan *service.RunPlan) result {
	stop := make(chan struct{})
	watchCtx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	go func() {
		t := time.NewTicker(rt.cfg.CancelPoll)
		defer t.Stop()
		for {
			select {
			case <-watchCtx.Done():
				return
			case <-t.C:
				cur, err := rt.svc.GetRun(watchCtx, plan.Run.ID)
				if (err == nil && (cur.State != domain.StateRunning || cur.Attempt != plan.Run.Attempt)) || errors.Is(err, domain.ErrNotFound) {
					close(stop)
					return
				}
			}
		}
	}()
	return rt.exec.run(ctx, plan, stop)
}

// stopped handles an attempt cut short: by cancellation (the run is no
// longer running; keep its output), or by shutdown (hand the run back).
func (rt *Runtime) stopped(ctx context.Context, plan *service.RunPlan, res result) error {
	bg := context.WithoutCancel(ctx)
	_ = rt.eng.PutRunLog(bg, plan.Run.ID, res.output, res.truncated)
	cur, err := rt.svc.GetRun(bg, plan.Run.ID)
	if err != nil || cur.State != domain.StateRunning {
		return nil // cancelled or deleted: nothing to hand back
	}
	if ctx.Err() == nil {
		return nil
	}
	// Shutdown: hand the step back now rather than waiting for the lease.
	_, err = rt.eng.FinishAndRetryRun(bg, plan.Run.ID, domain.StateFailed, "handed back: the worker shut down", 0, "handed back on shutdown")
	if errors.Is(err, domain.ErrConflict) {
		return nil
	}
	return err
}

// settle records an attempt's outcome: success, or a failure or timeout
// that is retried while the policy allows, else final; a final step moves
// its workflow run on in the same transaction. An attempt that is no longer
// running (cancelled, or already settled as lost) is left alone.
func (rt *Runtime) settle(ctx context.Context, run *domain.Run, res result) error {
	res, err := rt.applyChecks(ctx, run, res)
	if err != nil {
		return err
	}
	in := engine.SettleInput{ID: run.ID, Attempt: run.Attempt, To: domain.StateSucceeded, Message: res.message}
	if res.output != "" || res.truncated {
		out := res.output
		in.Output, in.Truncated = &out, res.truncated
	}
	switch res.outcome {
	case failed, refused:
		in.To = domain.StateFailed
	case timedOut:
		in.To = domain.StateTimeout
	}
	if in.To != domain.StateSucceeded && res.outcome != refused {
		plan, err := rt.svc.PlanRun(ctx, run)
		if err != nil {
			return err
		}
		d := engine.DecideRetry(plan.Retry, run.Attempt, in.To, rt.rng)
		in.Retry, in.RetryDelay, in.RetryReason = d.Retry, d.Delay, d.Reason
	}
	done, err := rt.eng.SettleRun(ctx, in)
	if errors.Is(err, domain.ErrConflict) {
		return nil // cancelled or settled meanwhile: a late report never moves a run back
	}
	if err != nil {
		return err
	}
	rt.nudgeBackfill(ctx, done)
	return nil
}

// coordinate starts a workflow run: it moves to running, creates its steps
// and queues the ones with nothing upstream; the steps move it on from then.
func (rt *Runtime) coordinate(ctx context.Context, run *domain.Run) error {
	if run.State == domain.StateQueued {
		// StartRun returns the run as it left it: started, or as another
		// worker or a cancellation left it.
		cur, how, err := rt.waitForSlot(ctx, run.ID)
		if err != nil {
			return err
		}
		if how == engine.MustWait {
			return river.JobSnooze(rt.cfg.WaitPoll) // the workflow's cap on active runs
		}
		run = cur
	}
	if run.State != domain.StateRunning {
		return nil
	}
	if err := rt.eng.StartWorkflowSteps(ctx, run.ID); err != nil {
		return err
	}
	_, err := rt.eng.AdvanceWorkflowRun(ctx, run.ID)
	return err
}

// waitForSlot tries to start the run until a slot frees or a while passes
// (a tenth of the lease, at most 10s); then the job goes back to River.
func (rt *Runtime) waitForSlot(ctx context.Context, id uuid.UUID) (*domain.Run, engine.StartOutcome, error) {
	deadline := time.Now().Add(min(10*time.Second, rt.cfg.Lease/10))
	for {
		run, how, err := rt.eng.StartRun(ctx, id, engine.SlotLimits{MaxRunning: rt.cfg.MaxRunningPerTenant, StartsPerMinute: rt.cfg.StartsPerMinute})
		if err != nil || how != engine.MustWait || time.Now().After(deadline) {
			return run, how, err
		}
		select {
		case <-ctx.Done():
			return nil, engine.MustWait, ctx.Err()
		case <-time.After(rt.cfg.WaitPoll):
		}
	}
}
