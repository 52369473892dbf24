package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/poll"
)

// KeepTicks is how many ticks each schedule keeps in its log.
const KeepTicks = 200

// TickerConfig tunes a Ticker.
type TickerConfig struct {
	// Interval is how often the ticker looks for due schedules; default
	// 500ms.
	Interval time.Duration
	// Batch is how many schedules one transaction claims; default 50.
	Batch int
	// Workers is how many claim loops one ticker runs at once, each in a
	// transaction of its own; default 2.
	Workers int
}

// Ticker fires due schedules. Every worker process may run one: claims
// skip schedules another process holds, and a tick's run, its log entry
// and the schedule's next tick commit together, so each tick fires once.
type Ticker struct {
	svc *Service
	cfg TickerConfig
	log *zap.Logger

	loop poll.Loop
}

// NewTicker returns a ticker over svc; log may be nil.
func NewTicker(svc *Service, cfg TickerConfig, log *zap.Logger) *Ticker {
	if cfg.Interval <= 0 {
		cfg.Interval = 500 * time.Millisecond
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 50
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Ticker{svc: svc, cfg: cfg, log: log.Named("schedules")}
}

// Start runs the ticker in the background until Stop. Starting twice is
// an error.
func (t *Ticker) Start(ctx context.Context) error {
	err := t.loop.Start(ctx, t.cfg.Workers, t.cfg.Interval, func(ctx context.Context) error {
		_, err := t.RunOnce(ctx)
		return err
	}, func(err error) { t.log.Warn("schedule tick failed; retrying", zap.Error(err)) })
	if err != nil {
		return fmt.Errorf("schedule ticker: %w", err)
	}
	return nil
}

// Stop ends the background loop and waits for it; it is safe to call more
// than once, and before Start.
func (t *Ticker) Stop() { t.loop.Stop() }

// RunOnce fires every schedule due now, claiming them in batches, and
// returns how many it claimed.
func (t *Ticker) RunOnce(ctx context.Context) (int, error) {
	sys := domain.WithSystem(ctx)
	total := 0
	for {
		now := t.svc.clock.Now()
		n, err := t.svc.store.ScheduleClaimDue(sys, now, t.cfg.Batch, func(ctx context.Context, sc *domain.Schedule) error {
			return t.svc.tick(ctx, sc, now)
		}, func(sc *domain.Schedule, err error) {
			t.log.Warn("schedule tick failed; it is retried", zap.String("tenant", sc.TenantID),
				zap.Stringer("schedule", sc.ID), zap.Error(err))
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < t.cfg.Batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// tick fires the due ticks of one claimed schedule, in its tenant's scope
// and the claim's transaction, and moves its next tick on.
func (s *Service) tick(ctx context.Context, sc *domain.Schedule, now time.Time) error {
	c, field, err := ParseCron(sc.Cron, sc.Timezone)
	if err != nil {
		// Stored expressions were valid when written; a zone that went
		// away stops the schedule with a failed tick that says why.
		if terr := s.record(ctx, sc, *sc.NextTickAt, domain.TickFailed, nil, fmt.Sprintf("%s: %v", field, err)); terr != nil {
			return terr
		}
		return s.store.ScheduleAdvance(ctx, sc.ID, nil, nil, nil)
	}
	plan := planTicks(c, *sc.NextTickAt, now, sc.Catchup, sc.MaxCatchup)
	for i, at := range plan.Skipped {
		reason := "missed; catchup none fires only the latest missed tick"
		if sc.Catchup == domain.CatchupAll {
			reason = fmt.Sprintf("missed; beyond max_catchup (%d)", sc.MaxCatchup)
		}
		if i == 0 && plan.SkippedMore > 0 {
			reason += fmt.Sprintf("; %d earlier missed ticks skipped too", plan.SkippedMore)
		}
		if err := s.record(ctx, sc, at, domain.TickSkipped, nil, reason); err != nil {
			return err
		}
	}
	lastRun := sc.LastRunID
	var lastTick *time.Time
	for _, at := range plan.Fire {
		runID, err := s.fire(ctx, sc, lastRun, at, c)
		if err != nil {
			return err
		}
		if runID != nil {
			lastRun = runID
		}
		at := at
		lastTick = &at
	}
	var next *time.Time
	if !plan.Next.IsZero() {
		next = &plan.Next
	}
	if err := s.store.ScheduleAdvance(ctx, sc.ID, next, lastTick, lastRun); err != nil {
		return err
	}
	return s.store.ScheduleTickTrim(ctx, sc.ID, KeepTicks)
}

// fire fires one tick: it starts the run unless the overlap rule skips it,
// and logs the tick. It returns the run's id when one started.
func (s *Service) fire(ctx context.Context, sc *domain.Schedule, lastRun *uuid.UUID, at time.Time, c *Cron) (*uuid.UUID, error) {
	if sc.Overlap == domain.OverlapSkip && lastRun != nil {
		prev, err := s.runs.GetRun(ctx, *lastRun)
		switch {
		case err == nil && !prev.State.IsTerminal():
			return nil, s.record(ctx, sc, at, domain.TickSkipped, nil,
				fmt.Sprintf("overlap skip: previous run %s is still %s", prev.ID, prev.State))
		case err != nil && !isNotFound(err):
			return nil, err
		}
	}
	version := 0
	if sc.WorkflowVersion != nil {
		version = *sc.WorkflowVersion
	}
	w, err := s.runs.ResolveWorkflow(ctx, sc.WorkflowName, version)
	if isNotFound(err) {
		what := fmt.Sprintf("workflow %q not found", sc.WorkflowName)
		if version > 0 {
			what = fmt.Sprintf("workflow %q version %d not found", sc.WorkflowName, version)
		}
		return nil, s.record(ctx, sc, at, domain.TickFailed, nil, what)
	}
	if err != nil {
		return nil, err
	}
	run, _, err := s.runs.TriggerRun(ctx, service.CreateRunInput{
		WorkflowID:     &w.ID,
		Trigger:        domain.TriggerScheduled,
		PartitionKey:   partitionKey(sc.Partition, at, c.Location()),
		IdempotencyKey: IdempotencyKey(sc.ID, at),
	})
	if errors.Is(err, domain.ErrInvalid) {
		return nil, s.record(ctx, sc, at, domain.TickFailed, nil, err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &run.ID, s.record(ctx, sc, at, domain.TickTriggered, &run.ID, "")
}

// IdempotencyKey is the key of the run a schedule starts for a tick.
func IdempotencyKey(scheduleID uuid.UUID, tick time.Time) string {
	return "schedule:" + scheduleID.String() + ":" + tick.UTC().Format(time.RFC3339)
}

func (s *Service) record(ctx context.Context, sc *domain.Schedule, at time.Time, status domain.TickStatus, runID *uuid.UUID, reason string) error {
	if r := []rune(reason); len(r) > domain.MaxTickReasonLen {
		reason = string(r[:domain.MaxTickReasonLen])
	}
	return s.store.ScheduleTickCreate(ctx, &domain.ScheduleTick{ScheduleID: sc.ID, TickAt: at, Status: status, RunID: runID, Reason: reason})
}

func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }
