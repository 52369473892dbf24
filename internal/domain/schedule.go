package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Catchup says what a schedule does with ticks it missed.
type Catchup string

// Catch-up policies.
const (
	// CatchupNone fires only the latest missed tick and skips the others.
	CatchupNone Catchup = "none"
	// CatchupAll fires the missed ticks, at most MaxCatchup of them, oldest
	// first.
	CatchupAll Catchup = "all"
)

// Overlap says what a schedule does when a tick comes while its previous
// run is still active.
type Overlap string

// Overlap policies.
const (
	// OverlapSkip skips the tick.
	OverlapSkip Overlap = "skip"
	// OverlapQueue starts the run anyway; the workflow's max_active_runs
	// decides when it runs.
	OverlapQueue Overlap = "queue"
)

// PartitionRule says how a tick fills its run's partition key.
type PartitionRule string

// Partition rules; days and hours are those of the schedule's time zone.
const (
	PartitionNone         PartitionRule = "none"
	PartitionTickDay      PartitionRule = "tick_day"
	PartitionPreviousDay  PartitionRule = "previous_day"
	PartitionTickHour     PartitionRule = "tick_hour"
	PartitionPreviousHour PartitionRule = "previous_hour"
)

// Valid reports whether c is a known catch-up policy.
func (c Catchup) Valid() bool { return c == CatchupNone || c == CatchupAll }

// Valid reports whether o is a known overlap policy.
func (o Overlap) Valid() bool { return o == OverlapSkip || o == OverlapQueue }

// Valid reports whether p is a known partition rule.
func (p PartitionRule) Valid() bool {
	switch p {
	case PartitionNone, PartitionTickDay, PartitionPreviousDay, PartitionTickHour, PartitionPreviousHour:
		return true
	}
	return false
}

// Limits on schedules.
const (
	MaxCatchupLimit   = 100
	DefaultMaxCatchup = 10
)

// Schedule starts runs of a workflow on a cron expression in a time zone.
type Schedule struct {
	ID       uuid.UUID
	TenantID string
	Name     string
	// WorkflowName names the workflow; WorkflowVersion pins a version, nil
	// meaning the latest at tick time.
	WorkflowName    string
	WorkflowVersion *int
	Cron            string
	Timezone        string
	Enabled         bool
	Catchup         Catchup
	MaxCatchup      int
	Overlap         Overlap
	Partition       PartitionRule
	// NextTickAt is the next tick to fire, nil when the expression never
	// fires again.
	NextTickAt *time.Time
	LastTickAt *time.Time
	LastRunID  *uuid.UUID
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TickStatus says what became of one tick.
type TickStatus string

// Tick statuses.
const (
	TickTriggered TickStatus = "triggered"
	TickSkipped   TickStatus = "skipped"
	TickFailed    TickStatus = "failed"
)

// MaxTickReasonLen bounds a tick's reason.
const MaxTickReasonLen = 1000

// ScheduleTick is one tick of a schedule and what became of it.
type ScheduleTick struct {
	ID         uuid.UUID
	TenantID   string
	ScheduleID uuid.UUID
	TickAt     time.Time
	Status     TickStatus
	RunID      *uuid.UUID
	Reason     string
	CreatedAt  time.Time
}

// ScheduleRepository stores schedules and their ticks.
type ScheduleRepository interface {
	ScheduleCreate(ctx context.Context, s *Schedule) error
	ScheduleGet(ctx context.Context, id uuid.UUID) (*Schedule, error)
	ScheduleGetByName(ctx context.Context, name string) (*Schedule, error)
	ScheduleList(ctx context.Context, p Page) (List[Schedule], error)
	// ScheduleUpdate locks the row, lets fn change it and stores the result.
	ScheduleUpdate(ctx context.Context, id uuid.UUID, fn func(*Schedule) error) (*Schedule, error)
	ScheduleDelete(ctx context.Context, id uuid.UUID) error
	// ScheduleClaimDue claims, in one transaction of the system scope, up
	// to limit enabled schedules of any tenant whose next tick is at or
	// before now, skipping those another process holds, and calls fn for
	// each in its tenant's scope and the same transaction, so that what fn
	// writes commits with the claim or not at all. An error from fn undoes
	// fn's writes for that schedule only and is passed to onError; the
	// claim goes on. It returns how many schedules it claimed.
	ScheduleClaimDue(ctx context.Context, now time.Time, limit int, fn func(ctx context.Context, s *Schedule) error, onError func(s *Schedule, err error)) (int, error)
	// ScheduleAdvance records a fired claim: the next tick, and the last
	// tick and run when set. The caller holds the row (a claim).
	ScheduleAdvance(ctx context.Context, id uuid.UUID, next, lastTick *time.Time, lastRun *uuid.UUID) error
	ScheduleTickCreate(ctx context.Context, t *ScheduleTick) error
	// ScheduleTickList lists a schedule's ticks, newest first.
	ScheduleTickList(ctx context.Context, scheduleID uuid.UUID, limit int) ([]ScheduleTick, error)
	// ScheduleTickTrim keeps the newest keep ticks of a schedule and deletes
	// the rest.
	ScheduleTickTrim(ctx context.Context, scheduleID uuid.UUID, keep int) error
}
