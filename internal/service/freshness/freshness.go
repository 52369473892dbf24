// Package freshness owns asset freshness: policies (a maximum age, or a
// cron expression the asset must have materialized since the last tick of),
// when each asset and partition last materialized, and which assets are
// stale.
package freshness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/schedule"
)

// Limits on max_age.
const (
	MinMaxAge = time.Minute
	MaxMaxAge = 366 * 24 * time.Hour
)

// Store is what freshness needs from storage.
type Store interface {
	domain.Transactor
	domain.FreshnessRepository
	domain.TenantRepository
}

// Service holds the freshness use cases.
type Service struct {
	store Store
	clock schedule.Clock
}

// New returns the freshness use cases over store; a nil clock is the wall
// clock.
func New(store Store, clock schedule.Clock) *Service {
	if clock == nil {
		clock = schedule.SystemClock{}
	}
	return &Service{store: store, clock: clock}
}

// Validate checks a policy: exactly one of max_age (a duration between one
// minute and 366 days, such as "26h") and cron (with an optional IANA
// timezone, default UTC). Field names are prefixed with "freshness.".
func Validate(p *domain.FreshnessPolicy) error {
	if p == nil {
		return nil
	}
	switch {
	case p.MaxAge != "" && p.Cron != "":
		return domain.Invalid("freshness", "give either max_age or cron, not both")
	case p.MaxAge != "":
		if p.Timezone != "" {
			return domain.Invalid("freshness.timezone", "only goes with cron")
		}
		d, err := time.ParseDuration(p.MaxAge)
		if err != nil || d < MinMaxAge || d > MaxMaxAge {
			return domain.Invalid("freshness.max_age", "must be a duration between 1m and 8784h, such as 26h")
		}
	case p.Cron != "":
		tz := p.Timezone
		if tz == "" {
			tz = "UTC"
		}
		if _, field, err := schedule.ParseCron(p.Cron, tz); err != nil {
			return domain.Invalid("freshness."+field, "%s", err.Error())
		}
	default:
		return domain.Invalid("freshness", "give max_age or cron")
	}
	return nil
}

// staleAfter returns when an asset last materialized at last turns stale
// under p; a never-materialized asset is stale from since on.
func staleAfter(p *domain.FreshnessPolicy, last *time.Time, since time.Time) *time.Time {
	if p == nil {
		return nil
	}
	if last == nil {
		return &since
	}
	if p.MaxAge != "" {
		d, err := time.ParseDuration(p.MaxAge)
		if err != nil {
			return &since
		}
		t := last.Add(d)
		return &t
	}
	tz := p.Timezone
	if tz == "" {
		tz = "UTC"
	}
	c, _, err := schedule.ParseCron(p.Cron, tz)
	if err != nil {
		return &since
	}
	// Fresh until the first tick after the materialization has passed.
	next, ok := c.Next(*last)
	if !ok {
		return nil
	}
	return &next
}

// Status returns "fresh" or "stale" at now, or nil without a policy.
func Status(f *domain.AssetFreshness, now time.Time) *string {
	if f == nil || f.Policy == nil || f.StaleAfter == nil {
		return nil
	}
	s := domain.FreshnessFresh
	if !f.StaleAfter.After(now) {
		s = domain.FreshnessStale
	}
	return &s
}

// Now returns the service's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// SetPolicy sets (or, with nil, removes) an asset's policy.
func (s *Service) SetPolicy(ctx context.Context, assetID uuid.UUID, p *domain.FreshnessPolicy) (*domain.AssetFreshness, error) {
	if err := Validate(p); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return s.store.FreshnessUpdate(ctx, assetID, func(f *domain.AssetFreshness) error {
		f.Policy = p
		f.StaleAfter = staleAfter(p, f.LastMaterializedAt, now)
		return nil
	})
}

// Record notes that an asset materialized at at (and its partition, when
// set). An asset that is gone by now is no error.
func (s *Service) Record(ctx context.Context, assetID uuid.UUID, partitionKey string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		_, err := s.store.FreshnessUpdate(ctx, assetID, func(f *domain.AssetFreshness) error {
			if f.LastMaterializedAt != nil && f.LastMaterializedAt.After(at) {
				return nil // an older success arriving late changes nothing
			}
			f.LastMaterializedAt = &at
			f.StaleAfter = staleAfter(f.Policy, f.LastMaterializedAt, at)
			return nil
		})
		if err != nil || partitionKey == "" {
			return err
		}
		return s.store.FreshnessPartitionPut(ctx, domain.AssetPartition{AssetID: assetID, PartitionKey: partitionKey, LastMaterializedAt: at})
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	return err
}

// RunSucceeded records a successful materialization (a run or step with an
// asset) in the transaction that records the success, at the service's
// time.
func (s *Service) RunSucceeded(ctx context.Context, run *domain.Run) error {
	if run.AssetID == nil {
		return nil
	}
	at := s.clock.Now()
	if err := s.Record(ctx, *run.AssetID, run.PartitionKey, at); err != nil {
		return fmt.Errorf("record materialization of %s: %w", run.AssetID, err)
	}
	return nil
}

// OutputsCompleted records that a completed OpenLineage run wrote these
// assets at at.
func (s *Service) OutputsCompleted(ctx context.Context, assets []uuid.UUID, at time.Time) error {
	for _, id := range assets {
		if err := s.Record(ctx, id, "", at); err != nil {
			return err
		}
	}
	return nil
}

// Get returns the recorded freshness of the given assets by id.
func (s *Service) Get(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]domain.AssetFreshness, error) {
	fs, err := s.store.FreshnessGet(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]domain.AssetFreshness, len(fs))
	for _, f := range fs {
		out[f.AssetID] = f
	}
	return out, nil
}

// GetAsset returns an asset by id and its recorded freshness, nil when
// none is recorded; the store reads both at once where it can.
func (s *Service) GetAsset(ctx context.Context, id uuid.UUID) (*domain.Asset, *domain.AssetFreshness, error) {
	a, f, err := s.store.AssetWithFreshness(ctx, id)
	if err != nil {
		return nil, nil, domain.NameNotFound(err, "asset", id.String())
	}
	return a, f, nil
}

// ListAssets returns one page of the assets matching f and the recorded
// freshness of the page's assets, by id; the store reads both at once where
// it can.
func (s *Service) ListAssets(ctx context.Context, f domain.AssetFilter, p domain.Page) (domain.List[domain.Asset], map[uuid.UUID]domain.AssetFreshness, error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Asset]{}, nil, err
	}
	list, fs, err := s.store.AssetListWithFreshness(ctx, f, p)
	if err != nil {
		return domain.List[domain.Asset]{}, nil, err
	}
	out := make(map[uuid.UUID]domain.AssetFreshness, len(fs))
	for _, f := range fs {
		out[f.AssetID] = f
	}
	return list, out, nil
}

// Partitions lists an asset's materialized partitions, newest first.
func (s *Service) Partitions(ctx context.Context, assetID uuid.UUID, limit int) ([]domain.AssetPartition, error) {
	return s.store.FreshnessPartitions(ctx, assetID, limit)
}

// Stale returns one page of the ids of the tenant's stale assets, the
// longest stale first, and how many there are.
func (s *Service) Stale(ctx context.Context, p domain.Page) (domain.List[uuid.UUID], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[uuid.UUID]{}, err
	}
	return s.store.FreshnessStale(ctx, s.clock.Now(), p)
}

// StaleCounts counts the stale assets of every tenant, each in its own
// scope. It reads the tenant list in the system scope.
func (s *Service) StaleCounts(ctx context.Context) (map[string]int64, error) {
	tenants, err := s.store.TenantList(domain.WithSystem(ctx))
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := make(map[string]int64, len(tenants))
	for _, t := range tenants {
		l, err := s.store.FreshnessStale(domain.WithTenant(ctx, t.ID), now, domain.Page{Limit: 1, Count: domain.CountExact})
		if err != nil {
			return nil, fmt.Errorf("count stale assets of %s: %w", t.ID, err)
		}
		out[t.ID] = l.Total
	}
	return out, nil
}
