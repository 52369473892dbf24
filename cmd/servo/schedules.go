package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/automation"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/schedule"
)

// startTicker starts the schedule ticker and the automation evaluator of a
// process that works runs and returns their stop function.
func startTicker(ctx context.Context, o orchestration, log *zap.Logger) (func(), error) {
	tk := schedule.NewTicker(o.sched, schedule.TickerConfig{}, log)
	if err := tk.Start(ctx); err != nil {
		return nil, fmt.Errorf("start schedule ticker: %w", err)
	}
	ev := automation.NewEvaluator(o.auto, 0, log)
	if err := ev.Start(ctx); err != nil {
		tk.Stop()
		return nil, fmt.Errorf("start automation evaluator: %w", err)
	}
	return func() { ev.Stop(); tk.Stop() }, nil
}

// orchestration holds the use cases that start runs by themselves.
type orchestration struct {
	sched *schedule.Service
	fresh *freshness.Service
	auto  *automation.Service
}

// newSchedules returns the schedule, freshness and automation use cases
// over store, and makes svc record every successful materialization's
// freshness and wake the automations watching it.
func newSchedules(store *repository.Store, svc *service.Service) orchestration {
	clock := schedule.SystemClock{}
	o := orchestration{
		sched: schedule.New(store, svc, clock),
		fresh: freshness.New(store, clock),
		auto:  automation.New(store, svc, clock),
	}
	svc.ObserveRuns(o.fresh)
	svc.ObserveRuns(o.auto)
	return o
}

// outputsCompleted records an OpenLineage COMPLETE's outputs as
// materialized and wakes their automations.
func (o orchestration) outputsCompleted(ctx context.Context, assets []uuid.UUID, at time.Time) error {
	if err := o.fresh.OutputsCompleted(ctx, assets, at); err != nil {
		return err
	}
	return o.auto.AssetsMaterialized(ctx, assets, at)
}
