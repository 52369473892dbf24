package service

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/partition"
)

// PartitionDef compiles an asset's partition definition, with a dynamic
// asset's keys loaded; an unpartitioned asset is ErrInvalid.
func (s *Service) PartitionDef(ctx context.Context, a *domain.Asset) (*partition.Def, error) {
	if a.Partitions == nil {
		return nil, domain.Invalid("asset", "is not partitioned")
	}
	d, err := partition.Compile(a.Partitions)
	if err != nil {
		return nil, err
	}
	if d.Type() == domain.PartitionDynamic {
		keys, err := s.store.PartitionKeyList(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		d = d.WithKeys(keys)
	}
	return d, nil
}

// checkPartitionKey refuses a run of a partitioned asset without one of
// its keys; an unpartitioned asset takes any key or none.
func (s *Service) checkPartitionKey(ctx context.Context, a *domain.Asset, key string) error {
	if a.Partitions == nil {
		return nil
	}
	d, err := s.PartitionDef(ctx, a)
	if err != nil {
		return err
	}
	if err := d.Check(key, time.Now()); err != nil {
		return domain.Invalid("partition_key", "%s", err.Error())
	}
	return nil
}

// PartitionContext is what a step learns of its partition, in
// SERVO_PARTITION_CONTEXT, named as the servo SDK reads it.
type PartitionContext struct {
	PartitionKey  string `json:"partition_key"`
	PartitionType string `json:"partition_type"`
	Timezone      string `json:"timezone"`
	Format        string `json:"format"`
	// UpstreamPartitions maps each partitioned upstream asset's name to the
	// keys this partition reads from it.
	UpstreamPartitions map[string][]string `json:"upstream_partitions"`
}

// partitionContext describes a run's partition key of asset a.
func (s *Service) partitionContext(ctx context.Context, a *domain.Asset, key string) (*PartitionContext, error) {
	pc := &PartitionContext{PartitionKey: key, UpstreamPartitions: map[string][]string{}}
	if a.Partitions == nil {
		return pc, nil
	}
	d, err := s.PartitionDef(ctx, a)
	if err != nil {
		return nil, err
	}
	pc.PartitionType, pc.Timezone, pc.Format = d.Type(), d.Timezone(), d.Format()
	ups, err := s.UpstreamPartitions(ctx, a, d, key, time.Now())
	if err != nil {
		return nil, err
	}
	for _, u := range ups {
		pc.UpstreamPartitions[u.Asset.Name] = u.Keys
	}
	return pc, nil
}

// UpstreamPartition is one partitioned upstream asset and the keys of it a
// downstream partition reads.
type UpstreamPartition struct {
	Asset domain.Asset
	Keys  []string
}

// UpstreamPartitions maps partition key of asset a (definition d) onto its
// partitioned upstream assets through each edge's mapping. Unpartitioned
// upstreams are left out.
func (s *Service) UpstreamPartitions(ctx context.Context, a *domain.Asset, d *partition.Def, key string, now time.Time) ([]UpstreamPartition, error) {
	edges, err := s.store.DependencyListForAsset(ctx, a.ID, domain.Upstream)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, 0, len(edges))
	for _, e := range edges {
		ids = append(ids, e.UpstreamAssetID)
	}
	ups, err := s.store.AssetGetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]*domain.Asset, len(ups))
	for i := range ups {
		byID[ups[i].ID] = &ups[i]
	}
	out := []UpstreamPartition{}
	seen := map[uuid.UUID]bool{}
	for _, e := range edges {
		up := byID[e.UpstreamAssetID]
		if up == nil || up.Partitions == nil || seen[up.ID] {
			continue
		}
		seen[up.ID] = true
		ud, err := s.PartitionDef(ctx, up)
		if err != nil {
			return nil, err
		}
		keys, err := partition.Upstream(d, key, ud, e.PartitionMapping, now)
		if err != nil {
			return nil, fmt.Errorf("%w: mapping onto upstream %s: %s", domain.ErrInvalid, up.Name, err.Error())
		}
		out = append(out, UpstreamPartition{Asset: *up, Keys: keys})
	}
	return out, nil
}
