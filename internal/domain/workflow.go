package domain

import (
	"time"

	"github.com/google/uuid"
)

// Workflow is one version of a named, ordered set of assets. Creating a
// workflow whose name exists creates the next version; older versions stay
// readable and immutable in their asset list.
type Workflow struct {
	ID          uuid.UUID   `json:"id"`
	TenantID    string      `json:"tenant_id"`
	Name        string      `json:"name"`
	Version     int         `json:"version"`
	Description string      `json:"description"`
	Owner       string      `json:"owner"`
	Tags        []string    `json:"tags"`
	AssetIDs    []uuid.UUID `json:"asset_ids"`
	// Retry is the default retry policy of the workflow's steps.
	Retry *RetryPolicy `json:"retry"`
	// MaxActiveRuns caps the workflow's runs (all versions) running at
	// once; the rest wait queued, oldest first. 0 means no cap.
	MaxActiveRuns int       `json:"max_active_runs"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// MaxWorkflowAssets caps the number of assets in one workflow version.
const MaxWorkflowAssets = 1000

// Normalize fills defaults before validation.
func (w *Workflow) Normalize() {
	if w.Tags == nil {
		w.Tags = []string{}
	}
	if w.AssetIDs == nil {
		w.AssetIDs = []uuid.UUID{}
	}
}

// Validate checks a workflow before it is stored.
func (w *Workflow) Validate() error {
	var v Validator
	checkName(&v, "name", w.Name)
	checkCommon(&v, w.Description, w.Owner, w.Tags)
	v.Check(w.Version >= 0, "version", "must be positive")
	if len(w.AssetIDs) > MaxWorkflowAssets {
		v.Add("assets", "at most %d assets", MaxWorkflowAssets)
	}
	seen := make(map[uuid.UUID]struct{}, len(w.AssetIDs))
	for _, id := range w.AssetIDs {
		if id == uuid.Nil {
			v.Add("assets", "asset ids must not be empty")
			break
		}
		if _, dup := seen[id]; dup {
			v.Add("assets", "an asset may appear only once")
			break
		}
		seen[id] = struct{}{}
	}
	if w.Retry != nil {
		_ = w.Retry.validate(&v, "retry")
	}
	v.Check(w.MaxActiveRuns >= 0 && w.MaxActiveRuns <= 10000, "max_active_runs", "must be from 0 (no cap) to 10000")
	return v.Err()
}

// WorkflowPatch is a partial update of one workflow version's metadata.
// The asset list of a version never changes: create a new version instead.
type WorkflowPatch struct {
	MaxActiveRuns *int
	Description   *string
	Owner         *string
	Tags          *[]string
}

// Apply copies the set fields of p onto w.
func (p WorkflowPatch) Apply(w *Workflow) {
	if p.Description != nil {
		w.Description = *p.Description
	}
	if p.Owner != nil {
		w.Owner = *p.Owner
	}
	if p.Tags != nil {
		w.Tags = *p.Tags
	}
	if p.MaxActiveRuns != nil {
		w.MaxActiveRuns = *p.MaxActiveRuns
	}
}

// WorkflowRef names one workflow version.
type WorkflowRef struct {
	ID      uuid.UUID
	Name    string
	Version int
}
