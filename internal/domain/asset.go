package domain

import (
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// DefaultAssetType is the type given to an asset created without one.
const DefaultAssetType = "generic"

// Asset is a table, file, model or any other thing data teams produce.
// A nil TenantID marks a global row, readable by every tenant and written
// only in the system scope.
type Asset struct {
	ID          uuid.UUID `json:"id"`
	TenantID    *string   `json:"tenant_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	AssetType   string    `json:"asset_type"`
	Owner       string    `json:"owner"`
	Tags        []string  `json:"tags"`
	// Compute says how to materialize the asset; nil means observed.
	Compute *ComputeSpec `json:"compute"`
	// Partitions defines the asset's partitions; nil means unpartitioned.
	Partitions *PartitionsDef `json:"partitions"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// IsGlobal reports whether the asset is a global (system) row.
func (a *Asset) IsGlobal() bool { return a.TenantID == nil }

// Normalize fills defaults before validation.
func (a *Asset) Normalize() {
	if a.AssetType == "" {
		a.AssetType = DefaultAssetType
	}
	if a.Tags == nil {
		a.Tags = []string{}
	}
}

// Validate checks an asset before it is stored.
func (a *Asset) Validate() error {
	var v Validator
	checkName(&v, "name", a.Name)
	n := utf8.RuneCountInString(a.AssetType)
	v.Check(n >= 1 && n <= MaxTypeLen && ValidText(a.AssetType), "asset_type", "must be 1 to %d printable characters", MaxTypeLen)
	checkCommon(&v, a.Description, a.Owner, a.Tags)
	if err := v.Err(); err != nil {
		return err
	}
	if a.Compute != nil {
		return a.Compute.Validate()
	}
	return nil
}

// AssetFilter narrows an asset listing. Empty fields do not filter.
type AssetFilter struct {
	AssetType  string
	Owner      string
	Tag        string
	NamePrefix string
}

// AssetPatch is a partial update; nil fields are left as they are.
type AssetPatch struct {
	Name        *string
	Description *string
	AssetType   *string
	Owner       *string
	Tags        *[]string
	// Compute replaces the compute spec when set; ClearCompute removes it.
	Compute      *ComputeSpec
	ClearCompute bool
	// Partitions replaces the definition when set; ClearPartitions removes it.
	Partitions      *PartitionsDef
	ClearPartitions bool
}

// Apply copies the set fields of p onto a.
func (p AssetPatch) Apply(a *Asset) {
	if p.Name != nil {
		a.Name = *p.Name
	}
	if p.Description != nil {
		a.Description = *p.Description
	}
	if p.AssetType != nil {
		a.AssetType = *p.AssetType
	}
	if p.Owner != nil {
		a.Owner = *p.Owner
	}
	if p.Tags != nil {
		a.Tags = *p.Tags
	}
	if p.Compute != nil {
		a.Compute = p.Compute
	}
	if p.ClearCompute {
		a.Compute = nil
	}
	if p.Partitions != nil {
		a.Partitions = p.Partitions
	}
	if p.ClearPartitions {
		a.Partitions = nil
	}
}
