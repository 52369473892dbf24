// Package automation owns asset-event automation: rules that start a run of
// a workflow, or materialize an asset, when watched assets materialized
// (any or all of them) or went stale, and the evaluator that every worker
// process runs to apply them exactly once.
package automation

import (
	"context"
	"errors"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/schedule"
)

// Store is what automations need from storage.
type Store interface {
	domain.Transactor
	domain.AutomationRepository
	domain.FreshnessRepository
}

// Service holds the automation use cases.
type Service struct {
	store Store
	runs  *service.Service
	clock schedule.Clock
}

// New returns the automation use cases over store; a nil clock is the wall
// clock.
func New(store Store, runs *service.Service, clock schedule.Clock) *Service {
	if clock == nil {
		clock = schedule.SystemClock{}
	}
	return &Service{store: store, runs: runs, clock: clock}
}

// Input describes a new automation: exactly one of Workflow (a name or id)
// and Asset (to materialize); Assets are the watched assets (names or ids).
type Input struct {
	Name        string
	On          domain.AutomationEvent
	Mode        string
	Workflow    string
	Asset       string
	Assets      []string
	MinInterval string
	Enabled     *bool
}

// Patch changes an automation; nil fields stay.
type Patch struct {
	Mode        *string
	MinInterval *string
	Enabled     *bool
}

func checkName(v *domain.Validator, name string) {
	n := utf8.RuneCountInString(name)
	ok := n >= 1 && n <= domain.MaxNameLen && utf8.ValidString(name)
	for _, r := range name {
		ok = ok && !unicode.IsControl(r)
	}
	v.Check(ok, "name", "must be 1 to %d printable characters", domain.MaxNameLen)
}

func parseInterval(v *domain.Validator, s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > domain.MaxMinInterval {
		v.Add("min_interval", "must be a duration between 0s and 744h, such as 10m")
		return 0
	}
	return d.Truncate(time.Second)
}

// Create stores an automation of the caller's tenant. Watched and target
// assets must be the tenant's own; the workflow must exist.
func (s *Service) Create(ctx context.Context, in Input) (*domain.Automation, error) {
	var v domain.Validator
	checkName(&v, in.Name)
	v.Check(in.On.Valid(), "on", "must be upstream_updated or freshness_violated")
	if in.Mode == "" {
		in.Mode = domain.ModeAny
	}
	v.Check(in.Mode == domain.ModeAny || in.Mode == domain.ModeAll, "mode", "must be any or all")
	v.Check((in.Workflow == "") != (in.Asset == ""), "workflow", "give either workflow (to run) or asset (to materialize)")
	v.Check(len(in.Assets) >= 1 && len(in.Assets) <= domain.MaxAutomationAssets, "assets", "watch 1 to %d assets", domain.MaxAutomationAssets)
	interval := parseInterval(&v, in.MinInterval)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	a := domain.Automation{
		Name: in.Name, On: in.On, Mode: in.Mode, MinInterval: interval, Enabled: in.Enabled == nil || *in.Enabled,
		Since: now, NextEvalAt: &now,
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		seen := map[uuid.UUID]bool{}
		for _, ref := range in.Assets {
			x, err := s.ownAsset(ctx, ref, "assets")
			if err != nil {
				return err
			}
			if !seen[x] {
				seen[x] = true
				a.Assets = append(a.Assets, x)
			}
		}
		if in.Asset != "" {
			x, err := s.ownAsset(ctx, in.Asset, "asset")
			if err != nil {
				return err
			}
			a.AssetID = &x
		} else {
			w, err := s.runs.ResolveWorkflow(ctx, in.Workflow, 0)
			if errors.Is(err, domain.ErrNotFound) {
				return domain.Invalid("workflow", "workflow not found")
			}
			if err != nil {
				return err
			}
			a.WorkflowName = &w.Name
		}
		return s.store.AutomationCreate(ctx, &a)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// ownAsset resolves a reference to one of the tenant's own assets; anything
// else is a validation error on field.
func (s *Service) ownAsset(ctx context.Context, ref, field string) (uuid.UUID, error) {
	x, err := s.runs.ResolveAsset(ctx, ref)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && x.IsGlobal()) {
		return uuid.Nil, domain.Invalid(field, "asset %q not found among the tenant's assets", ref)
	}
	if err != nil {
		return uuid.Nil, err
	}
	return x.ID, nil
}

// Resolve finds an automation by UUID or by name.
func (s *Service) Resolve(ctx context.Context, ref string) (*domain.Automation, error) {
	if ref == "" {
		return nil, domain.Invalid("automation", "is required")
	}
	var a *domain.Automation
	var err error
	if id, perr := uuid.Parse(ref); perr == nil && len(ref) == 36 {
		a, err = s.store.AutomationGet(ctx, id)
	} else {
		a, err = s.store.AutomationGetByName(ctx, ref)
	}
	return a, domain.NameNotFound(err, "automation", ref)
}

// List returns one page of the tenant's automations, newest first.
func (s *Service) List(ctx context.Context, p domain.Page) (domain.List[domain.Automation], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Automation]{}, err
	}
	return s.store.AutomationList(ctx, p)
}

// Update applies a patch. Enabling a paused automation counts updates from
// now on.
func (s *Service) Update(ctx context.Context, ref string, p Patch) (*domain.Automation, error) {
	var v domain.Validator
	var interval time.Duration
	if p.MinInterval != nil {
		interval = parseInterval(&v, *p.MinInterval)
	}
	v.Check(p.Mode == nil || *p.Mode == domain.ModeAny || *p.Mode == domain.ModeAll, "mode", "must be any or all")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *domain.Automation
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Resolve(ctx, ref)
		if err != nil {
			return err
		}
		out, err = s.store.AutomationUpdate(ctx, cur.ID, func(a *domain.Automation) error {
			if p.Mode != nil {
				a.Mode = *p.Mode
			}
			if p.MinInterval != nil {
				a.MinInterval = interval
			}
			if p.Enabled != nil {
				if *p.Enabled && !a.Enabled {
					now := s.clock.Now()
					a.Since, a.NextEvalAt = now, &now
				}
				a.Enabled = *p.Enabled
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes an automation and its evaluations.
func (s *Service) Delete(ctx context.Context, ref string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Resolve(ctx, ref)
		if err != nil {
			return err
		}
		return s.store.AutomationDelete(ctx, cur.ID)
	})
}

// Evaluations lists an automation's latest evaluations, newest first.
func (s *Service) Evaluations(ctx context.Context, ref string, limit int) ([]domain.AutomationEvaluation, error) {
	if limit < 1 || limit > domain.MaxLimit {
		return nil, domain.Invalid("limit", "must be between 1 and %d", domain.MaxLimit)
	}
	var out []domain.AutomationEvaluation
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Resolve(ctx, ref)
		if err != nil {
			return err
		}
		out, err = s.store.AutomationEvaluationList(ctx, cur.ID, limit)
		return err
	})
	return out, err
}

// RunSucceeded wakes the automations watching a materialized asset, in the
// transaction that records the success.
func (s *Service) RunSucceeded(ctx context.Context, run *domain.Run) error {
	if run.AssetID == nil {
		return nil
	}
	return s.store.AutomationWake(ctx, []uuid.UUID{*run.AssetID}, s.clock.Now())
}

// AssetsMaterialized wakes the automations watching assets that an
// OpenLineage COMPLETE named as outputs.
func (s *Service) AssetsMaterialized(ctx context.Context, assets []uuid.UUID, _ time.Time) error {
	return s.store.AutomationWake(ctx, assets, s.clock.Now())
}
