package main

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/schedule"
)

// startTicker starts the schedule ticker of a process that works runs and
// returns its stop function.
func startTicker(ctx context.Context, sched *schedule.Service, log *zap.Logger) (func(), error) {
	tk := schedule.NewTicker(sched, schedule.TickerConfig{}, log)
	if err := tk.Start(ctx); err != nil {
		return nil, fmt.Errorf("start schedule ticker: %w", err)
	}
	return tk.Stop, nil
}

// newSchedules returns the schedule and freshness use cases over store,
// and makes svc record every successful materialization's freshness.
func newSchedules(store *repository.Store, svc *service.Service) (*schedule.Service, *freshness.Service) {
	fresh := freshness.New(store, schedule.SystemClock{})
	svc.ObserveRuns(fresh)
	return schedule.New(store, svc, schedule.SystemClock{}), fresh
}
