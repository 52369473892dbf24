package api

import (
	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

// AssetDTO is an asset on the wire.
type AssetDTO struct {
	ID          uuid.UUID           `json:"id"`
	TenantID    *string             `json:"tenant_id"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	AssetType   string              `json:"asset_type"`
	Owner       string              `json:"owner"`
	Tags        []string            `json:"tags"`
	Global      bool                `json:"global"`
	Compute     *domain.ComputeSpec `json:"compute"`
	// Partitions defines the asset's partitions; absent when unpartitioned.
	Partitions *domain.PartitionsDef `json:"partitions,omitempty"`
	CreatedAt  Time                  `json:"created_at"`
	UpdatedAt  Time                  `json:"updated_at"`
}

func assetDTO(a *domain.Asset) AssetDTO {
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return AssetDTO{
		ID: a.ID, TenantID: a.TenantID, Name: a.Name, Description: a.Description,
		AssetType: a.AssetType, Owner: a.Owner, Tags: tags, Global: a.IsGlobal(), Compute: a.Compute, Partitions: a.Partitions,
		CreatedAt: TimeOf(a.CreatedAt), UpdatedAt: TimeOf(a.UpdatedAt),
	}
}

func assetDTOs(as []domain.Asset) []AssetDTO {
	out := make([]AssetDTO, len(as))
	for i := range as {
		out[i] = assetDTO(&as[i])
	}
	return out
}

// DependencyDTO is an edge on the wire.
type DependencyDTO struct {
	ID                uuid.UUID `json:"id"`
	TenantID          string    `json:"tenant_id"`
	UpstreamAssetID   uuid.UUID `json:"upstream_asset_id"`
	DownstreamAssetID uuid.UUID `json:"downstream_asset_id"`
	DependencyType    string    `json:"dependency_type"`
	// PartitionMapping is the edge's partition mapping; absent for the
	// default.
	PartitionMapping *domain.PartitionMapping `json:"partition_mapping,omitempty"`
	CreatedAt        Time                     `json:"created_at"`
}

func dependencyDTO(d *domain.AssetDependency) DependencyDTO {
	return DependencyDTO{
		ID: d.ID, TenantID: d.TenantID, UpstreamAssetID: d.UpstreamAssetID,
		DownstreamAssetID: d.DownstreamAssetID, DependencyType: string(d.DependencyType),
		PartitionMapping: d.PartitionMapping, CreatedAt: TimeOf(d.CreatedAt),
	}
}

func dependencyDTOs(ds []domain.AssetDependency) []DependencyDTO {
	out := make([]DependencyDTO, len(ds))
	for i := range ds {
		out[i] = dependencyDTO(&ds[i])
	}
	return out
}

// WorkflowDTO is one workflow version on the wire; Assets holds the asset
// names in order, AssetIDs their ids.
type WorkflowDTO struct {
	ID            uuid.UUID           `json:"id"`
	TenantID      string              `json:"tenant_id"`
	Name          string              `json:"name"`
	Version       int                 `json:"version"`
	Description   string              `json:"description"`
	Owner         string              `json:"owner"`
	Tags          []string            `json:"tags"`
	Assets        []string            `json:"assets"`
	AssetIDs      []uuid.UUID         `json:"asset_ids"`
	Retry         *domain.RetryPolicy `json:"retry"`
	MaxActiveRuns int                 `json:"max_active_runs"`
	CreatedAt     Time                `json:"created_at"`
	UpdatedAt     Time                `json:"updated_at"`
}

func workflowDTO(w *domain.Workflow, names map[uuid.UUID]string) WorkflowDTO {
	assets := make([]string, 0, len(w.AssetIDs))
	for _, id := range w.AssetIDs {
		assets = append(assets, names[id])
	}
	tags := w.Tags
	if tags == nil {
		tags = []string{}
	}
	ids := w.AssetIDs
	if ids == nil {
		ids = []uuid.UUID{}
	}
	return WorkflowDTO{
		ID: w.ID, TenantID: w.TenantID, Name: w.Name, Version: w.Version,
		Description: w.Description, Owner: w.Owner, Tags: tags, Assets: assets, AssetIDs: ids, Retry: w.Retry, MaxActiveRuns: w.MaxActiveRuns,
		CreatedAt: TimeOf(w.CreatedAt), UpdatedAt: TimeOf(w.UpdatedAt),
	}
}

// RunDTO is a run on the wire, in the shape the servo SDK reads: Status in
// its vocabulary, State the exact state-machine state.
type RunDTO struct {
	ID              uuid.UUID      `json:"id"`
	RunID           uuid.UUID      `json:"run_id"`
	Status          string         `json:"status"`
	State           string         `json:"state"`
	AssetID         *uuid.UUID     `json:"asset_id"`
	AssetName       *string        `json:"asset_name"`
	WorkflowID      *uuid.UUID     `json:"workflow_id"`
	WorkflowName    *string        `json:"workflow_name"`
	WorkflowVersion *int           `json:"workflow_version"`
	ParentID        *uuid.UUID     `json:"parent_id"`
	Trigger         string         `json:"trigger"`
	PartitionKey    *string        `json:"partition_key"`
	Attempt         int            `json:"attempt"`
	IdempotencyKey  *string        `json:"idempotency_key"`
	StartedAt       Time           `json:"started_at"`
	CompletedAt     *Time          `json:"completed_at"`
	Error           *string        `json:"error"`
	Metadata        map[string]any `json:"metadata"`
	CreatedAt       Time           `json:"created_at"`
	UpdatedAt       Time           `json:"updated_at"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func runDTO(v *service.RunView) RunDTO {
	started := v.CreatedAt
	if v.StartedAt != nil {
		started = *v.StartedAt
	}
	out := RunDTO{
		ID: v.ID, RunID: v.ID, Status: string(v.Status()), State: string(v.State),
		AssetID: v.AssetID, WorkflowID: v.WorkflowID, ParentID: v.ParentID,
		Trigger: string(v.Trigger), PartitionKey: optString(v.PartitionKey), Attempt: v.Attempt,
		IdempotencyKey: v.IdempotencyKey, StartedAt: TimeOf(started), CompletedAt: TimePtrOf(v.CompletedAt),
		Error: optString(v.ErrorMessage), Metadata: map[string]any{},
		CreatedAt: TimeOf(v.CreatedAt), UpdatedAt: TimeOf(v.UpdatedAt),
	}
	if v.AssetID != nil {
		out.AssetName = &v.AssetName
	}
	if v.WorkflowID != nil {
		out.WorkflowName = &v.WorkflowName
		out.WorkflowVersion = &v.WorkflowVersion
	}
	return out
}

// TenantDTO is a tenant on the wire.
type TenantDTO struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt Time   `json:"created_at"`
}

func tenantDTO(t *domain.Tenant) TenantDTO {
	return TenantDTO{ID: t.ID, Name: t.Name, CreatedAt: TimeOf(t.CreatedAt)}
}

// APIKeyDTO describes a key without its secret.
type APIKeyDTO struct {
	ID        uuid.UUID `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	CreatedAt Time      `json:"created_at"`
	RevokedAt *Time     `json:"revoked_at"`
}

func apiKeyDTO(k *domain.APIKey) APIKeyDTO {
	return APIKeyDTO{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, CreatedAt: TimeOf(k.CreatedAt), RevokedAt: TimePtrOf(k.RevokedAt)}
}
