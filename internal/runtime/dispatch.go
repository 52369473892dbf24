package runtime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/servo-data/servo/internal/domain"
)

// DB is the runtime's view of the database: the pool River shares with the
// store, and how to find the transaction a context carries, so that jobs are
// inserted in the same transaction as their runs.
type DB struct {
	Pool     *sql.DB
	Postgres bool
	// TxFrom returns the *sql.Tx of the store transaction ctx carries.
	TxFrom func(ctx context.Context) (*sql.Tx, bool)
	// Listen, on PostgreSQL, is the River driver the Runtime works jobs
	// through, WorkDriverOf(riverpgxv5.New(pool)) over a pgx pool of the
	// same database and role: its listener wakes the workers on the
	// notification each insert sends at commit. Without it the workers poll
	// through Pool.
	Listen WorkDriver
}

// WorkDriver is a River driver a Runtime works jobs through.
type WorkDriver interface {
	newClient(rc *river.Config) (jobClient, error)
}

// jobClient is what a Runtime asks of its River client, whatever the
// transaction type of its driver.
type jobClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

type workDriver[TTx any] struct{ d riverdriver.Driver[TTx] }

func (w workDriver[TTx]) newClient(rc *river.Config) (jobClient, error) {
	return river.NewClient(w.d, rc)
}

// WorkDriverOf returns the WorkDriver of River driver d.
func WorkDriverOf[TTx any](d riverdriver.Driver[TTx]) WorkDriver { return workDriver[TTx]{d: d} }

// newRiverClient returns a River client over db's pool; with rc.Workers
// unset it only inserts jobs.
func newRiverClient(db DB, rc *river.Config) (*river.Client[*sql.Tx], error) {
	var (
		client *river.Client[*sql.Tx]
		err    error
	)
	if db.Postgres {
		client, err = river.NewClient(riverdatabasesql.New(db.Pool), rc)
	} else {
		client, err = river.NewClient(riversqlite.New(db.Pool), rc)
	}
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

// Dispatcher inserts the jobs that work runs and advance backfills, in the
// store transaction of the caller. It works no job and needs only the
// database: an API node that works no runs has a Dispatcher and no
// Runtime. On PostgreSQL each insert also notifies the queue's listeners
// (pg_notify in the same transaction, delivered at its commit), so that
// the workers of every process start the job at once.
type Dispatcher struct {
	db     DB
	queue  string
	client *river.Client[*sql.Tx]
}

// notifyCooldown is the least time between two insert notifications of one
// Dispatcher (River's limiter, FetchCooldown at its minimum): a burst of
// inserts sends one, and the fetch it causes finds them all.
const notifyCooldown = time.Millisecond

// NewDispatcher returns a dispatcher inserting into queue (default
// "default"); every process of one deployment must use the same queue.
func NewDispatcher(db DB, queue string, log *zap.Logger) (*Dispatcher, error) {
	if queue == "" {
		queue = river.QueueDefault
	}
	client, err := newRiverClient(db, &river.Config{
		Logger:        slog.New(zapslog.NewHandler(log.Named("runtime").Named("river").Core())),
		MaxAttempts:   maxJobAttempts,
		FetchCooldown: notifyCooldown,
	})
	if err != nil {
		return nil, err
	}
	return &Dispatcher{db: db, queue: queue, client: client}, nil
}

// runArgs is a River job: work one run of one tenant.
type runArgs struct {
	TenantID string    `json:"tenant_id"`
	RunID    uuid.UUID `json:"run_id"`
	// NotBefore delays the work (a retry's backoff).
	NotBefore time.Time `json:"not_before,omitzero"`
}

// Kind implements river.JobArgs.
func (runArgs) Kind() string { return "servo_run" }

// Dispatch implements service.Dispatcher: the job goes into the store
// transaction ctx carries.
func (d *Dispatcher) Dispatch(ctx context.Context, run *domain.Run, at time.Time) error {
	tx, ok := d.db.TxFrom(ctx)
	if !ok {
		return errors.New("dispatch outside a transaction")
	}
	args := runArgs{TenantID: run.TenantID, RunID: run.ID}
	opts := &river.InsertOpts{Queue: d.queue}
	if wait := time.Until(at); wait > 0 {
		// River moves scheduled jobs to available every few seconds, so a
		// short delay is waited out by the worker itself, and a long one is
		// scheduled early and finished in the worker: either way the run
		// starts on time, not up to seconds late.
		args.NotBefore = at
		if wait > schedulerSlack {
			opts.ScheduledAt = at.Add(-schedulerSlack)
		}
	}
	_, err := d.client.InsertTx(ctx, tx, args, opts)
	return err
}

// maxJobAttempts is how often River tries a job whose work fails (not a
// step's attempts: those are the run's retry policy).
const maxJobAttempts = 25

// schedulerSlack is how late River's scheduler may make a scheduled job
// available (its interval is 5s).
const schedulerSlack = 6 * time.Second

// ScheduleBackfill implements backfill.Scheduler: the advancing job goes
// into the store transaction ctx carries, unique per backfill among
// unfinished jobs.
func (d *Dispatcher) ScheduleBackfill(ctx context.Context, tenantID string, id uuid.UUID) error {
	tx, ok := d.db.TxFrom(ctx)
	if !ok {
		return errors.New("schedule backfill outside a transaction")
	}
	_, err := d.client.InsertTx(ctx, tx, backfillArgs{TenantID: tenantID, BackfillID: id}, &river.InsertOpts{
		Queue:      d.queue,
		UniqueOpts: river.UniqueOpts{ByArgs: true},
	})
	return err
}
