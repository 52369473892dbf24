package domain

import (
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Trigger says what started a run.
type Trigger string

// Run triggers.
const (
	TriggerManual    Trigger = "manual"
	TriggerScheduled Trigger = "scheduled"
	TriggerUpstream  Trigger = "upstream"
	TriggerBackfill  Trigger = "backfill"
	// TriggerOpenLineage marks a run recorded from OpenLineage events: it
	// ran outside Servo.
	TriggerOpenLineage Trigger = "openlineage"
	// TriggerAutomation marks a run an automation started.
	TriggerAutomation Trigger = "automation"
)

// Valid reports whether t is a known trigger.
func (t Trigger) Valid() bool {
	switch t {
	case TriggerManual, TriggerScheduled, TriggerUpstream, TriggerBackfill, TriggerOpenLineage, TriggerAutomation:
		return true
	}
	return false
}

// Limits on run fields.
const (
	MaxPartitionKeyLen   = 255
	MaxIdempotencyKeyLen = 255
	MaxErrorMessageLen   = 8192
)

// Run is one run: of a workflow, or of a single asset (a
// materialization). At least one of WorkflowID and AssetID is set.
type Run struct {
	ID         uuid.UUID  `json:"id"`
	TenantID   string     `json:"tenant_id"`
	WorkflowID *uuid.UUID `json:"workflow_id"`
	AssetID    *uuid.UUID `json:"asset_id"`
	// ParentID links a workflow step to its workflow run.
	ParentID       *uuid.UUID `json:"parent_id"`
	State          State      `json:"state"`
	Trigger        Trigger    `json:"trigger"`
	PartitionKey   string     `json:"partition_key"`
	Attempt        int        `json:"attempt"`
	IdempotencyKey *string    `json:"idempotency_key"`
	StartedAt      *time.Time `json:"started_at"`
	CompletedAt    *time.Time `json:"completed_at"`
	ErrorMessage   string     `json:"error_message"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Normalize fills defaults before validation.
func (e *Run) Normalize() {
	if e.State == "" {
		e.State = StatePending
	}
	if e.Trigger == "" {
		e.Trigger = TriggerManual
	}
	if e.Attempt == 0 {
		e.Attempt = 1
	}
}

// Validate checks a run before it is stored.
func (e *Run) Validate() error {
	var v Validator
	v.Check(e.WorkflowID != nil || e.AssetID != nil, "workflow_id", "a run needs a workflow or an asset")
	v.Check(e.State.Valid(), "state", "unknown state %q", e.State)
	v.Check(e.Trigger.Valid(), "trigger", "must be one of manual, scheduled, upstream, backfill, openlineage")
	v.Check(e.Attempt >= 1, "attempt", "must be at least 1")
	v.Check(utf8.RuneCountInString(e.PartitionKey) <= MaxPartitionKeyLen && ValidText(e.PartitionKey), "partition_key", "must be at most %d printable characters", MaxPartitionKeyLen)
	if e.IdempotencyKey != nil {
		n := utf8.RuneCountInString(*e.IdempotencyKey)
		v.Check(n >= 1 && n <= MaxIdempotencyKeyLen && ValidText(*e.IdempotencyKey), "idempotency_key", "must be 1 to %d printable characters", MaxIdempotencyKeyLen)
	}
	return v.Err()
}

// RunFilter narrows a run listing. Nil or empty fields do not filter.
type RunFilter struct {
	WorkflowID *uuid.UUID
	// WorkflowIDs matches runs of any of these workflow versions; an empty,
	// non-nil slice matches nothing.
	WorkflowIDs []uuid.UUID
	AssetID     *uuid.UUID
	ParentID    *uuid.UUID
	State       State
	// Status matches the client-facing status (see Run.Status).
	Status Status
	// PartitionKey, when set, matches runs of exactly that key.
	PartitionKey *string
}

// Status is the client-facing summary of a run's state, in the vocabulary
// the servo SDK's wait loops understand.
type Status string

// Run statuses.
const (
	StatusPending        Status = "pending"
	StatusRunning        Status = "running"
	StatusSuccess        Status = "success"
	StatusFailed         Status = "failed"
	StatusSkipped        Status = "skipped"
	StatusUpstreamFailed Status = "upstream_failed"
	StatusCancelled      Status = "cancelled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusSuccess, StatusFailed, StatusSkipped, StatusUpstreamFailed, StatusCancelled:
		return true
	}
	return false
}

// IsMaterialization reports whether the run materializes one asset (a
// workflow's steps included), as opposed to a whole workflow run.
func (e *Run) IsMaterialization() bool { return e.AssetID != nil }

// Status maps the state onto the client vocabulary: queued reads pending; a
// cancelled or timed-out materialization reads failed (the reason is in the
// error message), while a workflow run keeps cancelled.
func (e *Run) Status() Status {
	switch e.State {
	case StatePending, StateQueued:
		return StatusPending
	case StateRunning:
		return StatusRunning
	case StateSucceeded:
		return StatusSuccess
	case StateSkipped:
		return StatusSkipped
	case StateUpstreamFailed:
		return StatusUpstreamFailed
	case StateCancelled:
		if e.IsMaterialization() {
			return StatusFailed
		}
		return StatusCancelled
	default:
		return StatusFailed
	}
}

// Transition asks to move a run from one state to another. The move is
// compare-and-swap: it happens only if the run is still in From.
type Transition struct {
	ID           uuid.UUID
	From         State
	To           State
	ErrorMessage string
	// Reason is recorded in the run's event history.
	Reason string
	// At is the time of the move; zero means now.
	At time.Time
}
