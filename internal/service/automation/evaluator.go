package automation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/poll"
)

// KeepEvaluations is how many evaluations each automation keeps.
const KeepEvaluations = 200

// freshnessRecheck bounds how long a freshness automation sleeps between
// evaluations, so that a changed policy is noticed.
const freshnessRecheck = 5 * time.Minute

// Evaluator applies due automations. Every worker process may run one:
// claims skip automations another process holds, and a run, its
// evaluation and the automation's new state commit together.
type Evaluator struct {
	svc      *Service
	interval time.Duration
	batch    int
	log      *zap.Logger

	loop poll.Loop
}

// NewEvaluator returns an evaluator over svc polling every interval
// (default 500ms); log may be nil.
func NewEvaluator(svc *Service, interval time.Duration, log *zap.Logger) *Evaluator {
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Evaluator{svc: svc, interval: interval, batch: 50, log: log.Named("automations")}
}

// Start runs the evaluator in the background until Stop. Starting twice
// is an error.
func (e *Evaluator) Start(ctx context.Context) error {
	err := e.loop.Start(ctx, 1, e.interval, func(ctx context.Context) error {
		_, err := e.RunOnce(ctx)
		return err
	}, func(err error) { e.log.Warn("automation evaluation failed; retrying", zap.Error(err)) })
	if err != nil {
		return fmt.Errorf("automation evaluator: %w", err)
	}
	return nil
}

// Stop ends the background loop and waits for it; it is idempotent.
func (e *Evaluator) Stop() { e.loop.Stop() }

// RunOnce evaluates every automation due now and returns how many it
// claimed.
func (e *Evaluator) RunOnce(ctx context.Context) (int, error) {
	sys := domain.WithSystem(ctx)
	total := 0
	for {
		now := e.svc.clock.Now()
		n, err := e.svc.store.AutomationClaimDue(sys, now, e.batch, func(ctx context.Context, a *domain.Automation) error {
			return e.svc.evaluate(ctx, a, now)
		}, func(a *domain.Automation, err error) {
			e.log.Warn("automation evaluation failed; it is retried", zap.String("tenant", a.TenantID),
				zap.Stringer("automation", a.ID), zap.Error(err))
		})
		total += n
		if err != nil || n < e.batch {
			return total, err
		}
	}
}

// evaluate decides whether a claimed automation starts a run now, records
// why, and says when to look at it next.
func (s *Service) evaluate(ctx context.Context, a *domain.Automation, now time.Time) error {
	fs, err := s.store.FreshnessGet(ctx, a.Assets)
	if err != nil {
		return err
	}
	by := make(map[uuid.UUID]domain.AssetFreshness, len(fs))
	for _, f := range fs {
		by[f.AssetID] = f
	}
	names := s.assetNames(ctx, a.Assets)
	var d decision
	if a.On == domain.OnFreshnessViolated {
		d = decideFreshness(a, by, names, now)
	} else {
		d = decideUpstream(a, by, names)
	}
	next := d.next
	var runID *uuid.UUID
	result, reason := domain.EvalSkipped, d.reason
	if d.fire && a.LastRunAt != nil && a.MinInterval > 0 && now.Before(a.LastRunAt.Add(a.MinInterval)) {
		allowed := a.LastRunAt.Add(a.MinInterval)
		reason = fmt.Sprintf("%s; but min_interval %s: the next run may start at %s", d.reason, a.MinInterval, allowed.UTC().Format(time.RFC3339))
		next, d.fire = &allowed, false
	}
	if d.fire {
		run, err := s.start(ctx, a, d.key)
		switch {
		case errors.Is(err, domain.ErrInvalid), errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrForbidden):
			result, reason = domain.EvalFailed, fmt.Sprintf("%s; the run could not start: %v", d.reason, err)
		case err != nil:
			return err
		default:
			result, runID = domain.EvalTriggered, &run.ID
		}
	}
	if err := s.store.AutomationEvaluationCreate(ctx, &domain.AutomationEvaluation{
		AutomationID: a.ID, EvaluatedAt: now, Result: result, RunID: runID, Reason: clip(reason),
	}); err != nil {
		return err
	}
	if _, err := s.store.AutomationUpdate(ctx, a.ID, func(x *domain.Automation) error {
		x.NextEvalAt = next
		if d.fire {
			x.LastRunAt = &now
			if runID != nil {
				x.LastRunID = runID
			}
			if d.since != nil {
				x.Since = *d.since
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return s.store.AutomationEvaluationTrim(ctx, a.ID, KeepEvaluations)
}

// decision is what one evaluation concluded.
type decision struct {
	fire   bool
	reason string
	// key makes the run idempotent for the state that fired it.
	key string
	// since moves the automation's horizon when it fires.
	since *time.Time
	// next is when to evaluate again; nil waits for a materialization.
	next *time.Time
}

// decideUpstream fires when any (or all) watched assets materialized after
// a.Since.
func decideUpstream(a *domain.Automation, by map[uuid.UUID]domain.AssetFreshness, names map[uuid.UUID]string) decision {
	var updated, waiting []string
	var newest time.Time
	for _, id := range a.Assets {
		f, ok := by[id]
		if ok && f.LastMaterializedAt != nil && f.LastMaterializedAt.After(a.Since) {
			updated = append(updated, names[id])
			if f.LastMaterializedAt.After(newest) {
				newest = *f.LastMaterializedAt
			}
		} else {
			waiting = append(waiting, names[id])
		}
	}
	since := a.Since.UTC().Format(time.RFC3339Nano)
	switch {
	case len(updated) == 0:
		return decision{reason: "no watched asset materialized since " + since}
	case a.Mode == domain.ModeAll && len(waiting) > 0:
		return decision{reason: fmt.Sprintf("mode all: %s materialized, still waiting for %s", list(updated), list(waiting))}
	}
	return decision{
		fire:   true,
		reason: fmt.Sprintf("%s materialized since %s", list(updated), since),
		key:    "automation:" + a.ID.String() + ":" + newest.UTC().Format(time.RFC3339Nano),
		since:  &newest,
	}
}

// decideFreshness fires once for each stale period of a watched asset.
func decideFreshness(a *domain.Automation, by map[uuid.UUID]domain.AssetFreshness, names map[uuid.UUID]string, now time.Time) decision {
	recheck := now.Add(freshnessRecheck)
	next := &recheck
	for _, id := range a.Assets {
		f, ok := by[id]
		if !ok || f.Policy == nil || f.StaleAfter == nil {
			continue
		}
		if st := freshness.Status(&f, now); st != nil && *st == domain.FreshnessStale {
			if a.LastRunAt != nil && !a.LastRunAt.Before(*f.StaleAfter) {
				continue // this stale period already started a run
			}
			return decision{
				fire:   true,
				reason: fmt.Sprintf("%s is stale since %s", names[id], f.StaleAfter.UTC().Format(time.RFC3339)),
				key:    "automation:" + a.ID.String() + ":stale:" + id.String() + ":" + f.StaleAfter.UTC().Format(time.RFC3339Nano),
				next:   next,
			}
		}
		if f.StaleAfter.Before(*next) {
			t := *f.StaleAfter
			next = &t
		}
	}
	return decision{reason: "no watched asset is stale", next: next}
}

// start starts the automation's run: its workflow's latest version, or a
// materialization of its asset. Automation runs carry trigger upstream.
func (s *Service) start(ctx context.Context, a *domain.Automation, key string) (*domain.Run, error) {
	in := service.CreateRunInput{Trigger: domain.TriggerAutomation, IdempotencyKey: key}
	if a.AssetID != nil {
		in.AssetID = a.AssetID
	} else {
		w, err := s.runs.ResolveWorkflow(ctx, *a.WorkflowName, 0)
		if err != nil {
			return nil, err
		}
		in.WorkflowID = &w.ID
	}
	run, _, err := s.runs.TriggerRun(ctx, in)
	return run, err
}

func (s *Service) assetNames(ctx context.Context, ids []uuid.UUID) map[uuid.UUID]string {
	out := make(map[uuid.UUID]string, len(ids))
	for _, id := range ids {
		out[id] = id.String()
	}
	if as, err := s.runs.GetAssets(ctx, ids); err == nil {
		for _, x := range as {
			out[x.ID] = x.Name
		}
	}
	return out
}

func list(names []string) string {
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func clip(s string) string {
	if r := []rune(s); len(r) > 1000 {
		return string(r[:1000])
	}
	return s
}
