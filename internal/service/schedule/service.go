package schedule

import (
	"context"
	"math"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

// Store is what schedules need from storage.
type Store interface {
	domain.Transactor
	domain.ScheduleRepository
}

// Clock tells the time. Rules take it as a dependency so that tests can
// move time by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// Service holds the schedule use cases.
type Service struct {
	store Store
	runs  *service.Service
	clock Clock
}

// New returns the schedule use cases over store; runs resolves workflows
// and starts runs.
func New(store Store, runs *service.Service, clock Clock) *Service {
	if clock == nil {
		clock = SystemClock{}
	}
	return &Service{store: store, runs: runs, clock: clock}
}

// Input describes a new schedule. Empty fields take their defaults:
// timezone UTC, enabled, catch-up none with at most 10, overlap skip,
// partition none.
type Input struct {
	Name string
	// Workflow names the workflow (a UUID is accepted and stored as its
	// name); WorkflowVersion pins a version, nil or 0 meaning the latest at
	// tick time.
	Workflow        string
	WorkflowVersion *int
	Cron            string
	Timezone        string
	Enabled         *bool
	Catchup         domain.Catchup
	MaxCatchup      int
	Overlap         domain.Overlap
	Partition       domain.PartitionRule
}

// Patch changes a schedule; nil fields stay. A WorkflowVersion of 0 unpins
// the version.
type Patch struct {
	Cron            *string
	Timezone        *string
	Enabled         *bool
	Catchup         *domain.Catchup
	MaxCatchup      *int
	Overlap         *domain.Overlap
	Partition       *domain.PartitionRule
	WorkflowVersion *int
}

// validate checks a schedule's own fields and returns its parsed
// expression.
func validate(sc *domain.Schedule) (*Cron, error) {
	var v domain.Validator
	n := utf8.RuneCountInString(sc.Name)
	v.Check(n >= 1 && n <= domain.MaxNameLen && printable(sc.Name), "name", "must be 1 to %d printable characters", domain.MaxNameLen)
	v.Check(sc.Catchup.Valid(), "catchup", "must be none or all")
	v.Check(sc.MaxCatchup >= 1 && sc.MaxCatchup <= domain.MaxCatchupLimit, "max_catchup", "must be between 1 and %d", domain.MaxCatchupLimit)
	v.Check(sc.Overlap.Valid(), "overlap", "must be skip or queue")
	v.Check(sc.Partition.Valid(), "partition", "must be none, tick_day, previous_day, tick_hour or previous_hour")
	v.Check(sc.WorkflowVersion == nil || (*sc.WorkflowVersion >= 1 && *sc.WorkflowVersion <= math.MaxInt32), "workflow_version", "must be between 1 and %d", math.MaxInt32)
	c, field, err := ParseCron(sc.Cron, sc.Timezone)
	if err != nil {
		v.Add(field, "%s", err.Error())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// firstTick returns the first tick after now, or nil when the expression
// never fires; a schedule that never fires is invalid.
func firstTick(c *Cron, now time.Time) (*time.Time, error) {
	next, ok := c.Next(now)
	if !ok {
		return nil, domain.Invalid("cron", "never fires within the next 5 years")
	}
	return &next, nil
}

// Create stores a schedule of an existing workflow of the caller's tenant;
// its first tick is the first one after now.
func (s *Service) Create(ctx context.Context, in Input) (*domain.Schedule, error) {
	sc := domain.Schedule{
		Name: in.Name, WorkflowName: in.Workflow, WorkflowVersion: in.WorkflowVersion, Cron: in.Cron, Timezone: in.Timezone,
		Enabled: in.Enabled == nil || *in.Enabled, Catchup: in.Catchup, MaxCatchup: in.MaxCatchup, Overlap: in.Overlap, Partition: in.Partition,
	}
	if sc.Timezone == "" {
		sc.Timezone = "UTC"
	}
	if sc.Catchup == "" {
		sc.Catchup = domain.CatchupNone
	}
	if sc.MaxCatchup == 0 {
		sc.MaxCatchup = domain.DefaultMaxCatchup
	}
	if sc.Overlap == "" {
		sc.Overlap = domain.OverlapSkip
	}
	if sc.Partition == "" {
		sc.Partition = domain.PartitionNone
	}
	if sc.WorkflowVersion != nil && *sc.WorkflowVersion == 0 {
		sc.WorkflowVersion = nil
	}
	c, err := validate(&sc)
	if err != nil {
		return nil, err
	}
	if sc.NextTickAt, err = firstTick(c, s.clock.Now()); err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if in.Workflow == "" {
			return domain.Invalid("workflow", "is required")
		}
		version := 0
		if sc.WorkflowVersion != nil {
			version = *sc.WorkflowVersion
		}
		w, err := s.runs.ResolveWorkflow(ctx, in.Workflow, version)
		if err != nil {
			if isNotFound(err) {
				return domain.Invalid("workflow", "workflow not found")
			}
			return err
		}
		sc.WorkflowName = w.Name
		return s.store.ScheduleCreate(ctx, &sc)
	})
	if err != nil {
		return nil, err
	}
	return &sc, nil
}

// CreateWithWorkflow creates a workflow version and a schedule of it in one
// transaction: both are stored, or neither.
func (s *Service) CreateWithWorkflow(ctx context.Context, wf service.CreateWorkflowInput, in Input) (*domain.Workflow, *domain.Schedule, error) {
	var w *domain.Workflow
	var sc *domain.Schedule
	in.Workflow = wf.Name
	if in.Name == "" {
		in.Name = wf.Name
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if w, err = s.runs.CreateWorkflow(ctx, wf); err != nil {
			return err
		}
		sc, err = s.Create(ctx, in)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return w, sc, nil
}

// Resolve finds a schedule by UUID or by name.
func (s *Service) Resolve(ctx context.Context, ref string) (*domain.Schedule, error) {
	if ref == "" {
		return nil, domain.Invalid("schedule", "is required")
	}
	var sc *domain.Schedule
	var err error
	if id, perr := uuid.Parse(ref); perr == nil && len(ref) == 36 {
		sc, err = s.store.ScheduleGet(ctx, id)
	} else {
		sc, err = s.store.ScheduleGetByName(ctx, ref)
	}
	return sc, domain.NameNotFound(err, "schedule", ref)
}

// List returns one page of the tenant's schedules, newest first.
func (s *Service) List(ctx context.Context, p domain.Page) (domain.List[domain.Schedule], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Schedule]{}, err
	}
	return s.store.ScheduleList(ctx, p)
}

// Update applies a patch. Changing the expression or zone, or enabling a
// paused schedule, starts its ticks afresh from now: ticks missed while
// paused are not caught up.
func (s *Service) Update(ctx context.Context, ref string, p Patch) (*domain.Schedule, error) {
	var out *domain.Schedule
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Resolve(ctx, ref)
		if err != nil {
			return err
		}
		out, err = s.store.ScheduleUpdate(ctx, cur.ID, func(sc *domain.Schedule) error {
			restart := false
			if p.Cron != nil && *p.Cron != sc.Cron {
				sc.Cron, restart = *p.Cron, true
			}
			if p.Timezone != nil && *p.Timezone != sc.Timezone {
				sc.Timezone, restart = *p.Timezone, true
			}
			if p.Enabled != nil {
				if *p.Enabled && !sc.Enabled {
					restart = true
				}
				sc.Enabled = *p.Enabled
			}
			if p.Catchup != nil {
				sc.Catchup = *p.Catchup
			}
			if p.MaxCatchup != nil {
				sc.MaxCatchup = *p.MaxCatchup
			}
			if p.Overlap != nil {
				sc.Overlap = *p.Overlap
			}
			if p.Partition != nil {
				sc.Partition = *p.Partition
			}
			if p.WorkflowVersion != nil {
				if *p.WorkflowVersion == 0 {
					sc.WorkflowVersion = nil
				} else {
					v := *p.WorkflowVersion
					sc.WorkflowVersion = &v
				}
			}
			c, err := validate(sc)
			if err != nil {
				return err
			}
			if sc.WorkflowVersion != nil && p.WorkflowVersion != nil {
				if _, err := s.runs.ResolveWorkflow(ctx, sc.WorkflowName, *sc.WorkflowVersion); err != nil {
					if isNotFound(err) {
						return domain.Invalid("workflow_version", "workflow %q has no version %d", sc.WorkflowName, *sc.WorkflowVersion)
					}
					return err
				}
			}
			if restart {
				sc.NextTickAt, err = firstTick(c, s.clock.Now())
			}
			return err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes a schedule and its ticks.
func (s *Service) Delete(ctx context.Context, ref string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Resolve(ctx, ref)
		if err != nil {
			return err
		}
		return s.store.ScheduleDelete(ctx, cur.ID)
	})
}

// Ticks lists a schedule's latest ticks, newest first.
func (s *Service) Ticks(ctx context.Context, ref string, limit int) ([]domain.ScheduleTick, error) {
	if limit < 1 || limit > domain.MaxLimit {
		return nil, domain.Invalid("limit", "must be between 1 and %d", domain.MaxLimit)
	}
	var out []domain.ScheduleTick
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Resolve(ctx, ref)
		if err != nil {
			return err
		}
		out, err = s.store.ScheduleTickList(ctx, cur.ID, limit)
		return err
	})
	return out, err
}
