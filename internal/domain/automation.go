package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// AutomationEvent says what an automation reacts to.
type AutomationEvent string

// Automation events.
const (
	// OnUpstreamUpdated fires when watched assets materialized successfully
	// (a run, a step, or an OpenLineage COMPLETE naming them as outputs)
	// since the automation's last run: any of them, or all of them.
	OnUpstreamUpdated AutomationEvent = "upstream_updated"
	// OnFreshnessViolated fires when a watched asset's freshness policy is
	// violated, once per stale period.
	OnFreshnessViolated AutomationEvent = "freshness_violated"
)

// Valid reports whether e is a known event.
func (e AutomationEvent) Valid() bool { return e == OnUpstreamUpdated || e == OnFreshnessViolated }

// Automation modes for OnUpstreamUpdated.
const (
	ModeAny = "any"
	ModeAll = "all"
)

// Limits on automations.
const (
	MaxAutomationAssets = 100
	MaxMinInterval      = 31 * 24 * time.Hour
)

// Automation starts a run of a workflow (WorkflowName set) or materializes
// an asset (AssetID set) when its watched assets change.
type Automation struct {
	ID           uuid.UUID
	TenantID     string
	Name         string
	On           AutomationEvent
	Mode         string
	WorkflowName *string
	AssetID      *uuid.UUID
	// Assets are the watched assets.
	Assets      []uuid.UUID
	MinInterval time.Duration
	Enabled     bool
	// Since: materializations after it count as updates.
	Since      time.Time
	NextEvalAt *time.Time
	LastRunAt  *time.Time
	LastRunID  *uuid.UUID
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Evaluation results.
const (
	EvalTriggered = "triggered"
	EvalSkipped   = "skipped"
	EvalFailed    = "failed"
)

// AutomationEvaluation says why one evaluation did or did not start a run.
type AutomationEvaluation struct {
	ID           uuid.UUID
	AutomationID uuid.UUID
	EvaluatedAt  time.Time
	Result       string
	RunID        *uuid.UUID
	Reason       string
}

// AutomationRepository stores automations and their evaluations.
type AutomationRepository interface {
	AutomationCreate(ctx context.Context, a *Automation) error
	AutomationGet(ctx context.Context, id uuid.UUID) (*Automation, error)
	AutomationGetByName(ctx context.Context, name string) (*Automation, error)
	AutomationList(ctx context.Context, p Page) (List[Automation], error)
	// AutomationUpdate locks the row, lets fn change it and stores the
	// result (the watched assets are not changed).
	AutomationUpdate(ctx context.Context, id uuid.UUID, fn func(*Automation) error) (*Automation, error)
	AutomationDelete(ctx context.Context, id uuid.UUID) error
	// AutomationWake asks for an evaluation, at the latest at at, of every
	// enabled automation watching one of assets.
	AutomationWake(ctx context.Context, assets []uuid.UUID, at time.Time) error
	// AutomationClaimDue is ScheduleClaimDue for automations whose next
	// evaluation is due.
	AutomationClaimDue(ctx context.Context, now time.Time, limit int, fn func(ctx context.Context, a *Automation) error, onError func(a *Automation, err error)) (int, error)
	AutomationEvaluationCreate(ctx context.Context, e *AutomationEvaluation) error
	// AutomationEvaluationList lists evaluations, newest first.
	AutomationEvaluationList(ctx context.Context, automationID uuid.UUID, limit int) ([]AutomationEvaluation, error)
	// AutomationEvaluationTrim keeps the newest keep evaluations.
	AutomationEvaluationTrim(ctx context.Context, automationID uuid.UUID, keep int) error
}
