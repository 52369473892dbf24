package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// FreshnessPolicy says how fresh an asset must be: materialized within
// MaxAge (a duration such as "26h"), or since the last tick of Cron in
// Timezone. Exactly one of MaxAge and Cron is set.
type FreshnessPolicy struct {
	MaxAge   string `json:"max_age,omitempty"`
	Cron     string `json:"cron,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// Freshness statuses.
const (
	FreshnessFresh = "fresh"
	FreshnessStale = "stale"
)

// AssetFreshness is what Servo knows about an asset's freshness.
// StaleAfter is when the asset turns stale without a new
// materialization; nil without a policy.
type AssetFreshness struct {
	AssetID            uuid.UUID
	TenantID           string
	Policy             *FreshnessPolicy
	LastMaterializedAt *time.Time
	StaleAfter         *time.Time
}

// AssetPartition is when one partition of an asset last materialized.
type AssetPartition struct {
	AssetID            uuid.UUID
	PartitionKey       string
	LastMaterializedAt time.Time
}

// FreshnessRepository stores freshness of the scope's tenant's assets.
type FreshnessRepository interface {
	// FreshnessGet returns what is recorded for the given assets; assets
	// with nothing recorded are left out.
	FreshnessGet(ctx context.Context, assetIDs []uuid.UUID) ([]AssetFreshness, error)
	// AssetWithFreshness returns an asset the scope can see and what is
	// recorded of its freshness: nil when nothing is, for a global asset,
	// and in the system scope. ErrNotFound when the asset is not visible.
	AssetWithFreshness(ctx context.Context, id uuid.UUID) (*Asset, *AssetFreshness, error)
	// AssetListWithFreshness returns a page of the assets matching f, as
	// AssetRepository.AssetList does, and what is recorded of the freshness
	// of the page's assets: none for global assets and in the system scope.
	AssetListWithFreshness(ctx context.Context, f AssetFilter, p Page) (List[Asset], []AssetFreshness, error)
	// FreshnessUpdate locks the asset, lets fn change its freshness (a zero
	// record when none exists) and stores the result.
	FreshnessUpdate(ctx context.Context, assetID uuid.UUID, fn func(*AssetFreshness) error) (*AssetFreshness, error)
	// FreshnessPartitionPut records when a partition last materialized.
	FreshnessPartitionPut(ctx context.Context, p AssetPartition) error
	// FreshnessPartitions lists an asset's partitions, newest first.
	FreshnessPartitions(ctx context.Context, assetID uuid.UUID, limit int) ([]AssetPartition, error)
	// FreshnessStale returns a page of the ids of the tenant's assets stale
	// at now, oldest stale first, and how many there are (p.Count).
	FreshnessStale(ctx context.Context, now time.Time, p Page) (List[uuid.UUID], error)
}
