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

// Partition statuses, from the latest run of each key.
const (
	PartitionMissing      = "missing"
	PartitionInFlight     = "running"
	PartitionMaterialized = "materialized"
	PartitionFailed       = "failed"
)

// PartitionStatus is one partition of an asset and its latest run.
type PartitionStatus struct {
	PartitionKey       string
	Status             string
	LastRunID          *uuid.UUID
	LastMaterializedAt *time.Time
}

// MaxDynamicKeys caps a dynamic asset's keys.
const MaxDynamicKeys = partition.MaxStaticKeys

func statusOf(s domain.State) string {
	switch s {
	case domain.StateSucceeded:
		return PartitionMaterialized
	case domain.StatePending, domain.StateQueued, domain.StateRunning:
		return PartitionInFlight
	default:
		return PartitionFailed
	}
}

// ListPartitions returns up to limit partitions of a partitioned asset
// after the key after, in key order, with their status; status, when set,
// keeps one status only. The keys are generated here and their latest runs
// read in one statement, however many keys the asset has. next is the last
// key returned when more follow, else "".
func (s *Service) ListPartitions(ctx context.Context, a *domain.Asset, status, after string, limit int) (out []PartitionStatus, next string, err error) {
	switch status {
	case "", PartitionMissing, PartitionInFlight, PartitionMaterialized, PartitionFailed:
	default:
		return nil, "", domain.Invalid("status", "must be one of missing, running, materialized, failed")
	}
	now := time.Now()
	out = []PartitionStatus{}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		d, err := s.PartitionDef(ctx, a)
		if err != nil {
			return err
		}
		build := func(k string, r *domain.PartitionRun) PartitionStatus {
			p := PartitionStatus{PartitionKey: k, Status: PartitionMissing}
			if r != nil {
				id := r.RunID
				p.Status, p.LastRunID, p.LastMaterializedAt = statusOf(r.State), &id, r.LastMaterializedAt
			}
			return p
		}
		if status == "" {
			keys, more := d.Keys(after, limit, now)
			runs, err := s.store.PartitionLatestRuns(ctx, a.ID, keys)
			if err != nil {
				return err
			}
			byKey := make(map[string]*domain.PartitionRun, len(runs))
			for i := range runs {
				byKey[runs[i].PartitionKey] = &runs[i]
			}
			for _, k := range keys {
				out = append(out, build(k, byKey[k]))
			}
			if more && len(keys) > 0 {
				next = keys[len(keys)-1]
			}
			return nil
		}
		// A status filter: every key's latest run in one statement, the
		// keys generated and filtered here.
		runs, err := s.store.PartitionLatestRuns(ctx, a.ID, nil)
		if err != nil {
			return err
		}
		byKey := make(map[string]*domain.PartitionRun, len(runs))
		for i := range runs {
			byKey[runs[i].PartitionKey] = &runs[i]
		}
		cur := after
		for {
			keys, more := d.Keys(cur, 5000, now)
			for _, k := range keys {
				p := build(k, byKey[k])
				if p.Status != status {
					continue
				}
				if len(out) == limit {
					next = out[len(out)-1].PartitionKey
					return nil
				}
				out = append(out, p)
			}
			if !more || len(keys) == 0 {
				return nil
			}
			cur = keys[len(keys)-1]
		}
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// AddPartitionKeys adds keys to a dynamic asset; keys it has are kept.
func (s *Service) AddPartitionKeys(ctx context.Context, id uuid.UUID, keys []string) error {
	var v domain.Validator
	v.Check(len(keys) >= 1 && len(keys) <= 1000, "keys", "must hold 1 to 1000 keys")
	for i, k := range keys {
		if err := partition.CheckKeyText(k); err != nil {
			v.Add("keys", "key %d: %s", i, err.Error())
			break
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		a, err := s.dynamicAsset(ctx, id)
		if err != nil {
			return err
		}
		have, err := s.store.PartitionKeyList(ctx, a.ID)
		if err != nil {
			return err
		}
		if len(have)+len(keys) > MaxDynamicKeys {
			return domain.Invalid("keys", "a dynamic asset holds at most %d keys", MaxDynamicKeys)
		}
		return s.store.PartitionKeyAdd(ctx, a.ID, keys)
	})
}

// DeletePartitionKey removes one key of a dynamic asset; its runs stay.
func (s *Service) DeletePartitionKey(ctx context.Context, id uuid.UUID, key string) error {
	if key == "" {
		return domain.Invalid("key", "is required")
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		a, err := s.dynamicAsset(ctx, id)
		if err != nil {
			return err
		}
		return s.store.PartitionKeyDelete(ctx, a.ID, key)
	})
}

// PartitionKeys lists a dynamic asset's keys in the order they were added.
func (s *Service) PartitionKeys(ctx context.Context, id uuid.UUID) ([]string, error) {
	return s.store.PartitionKeyList(ctx, id)
}

func (s *Service) dynamicAsset(ctx context.Context, id uuid.UUID) (*domain.Asset, error) {
	a, err := s.writableAsset(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Partitions == nil || a.Partitions.Type != domain.PartitionDynamic {
		return nil, domain.Invalid("asset", "keys are added only to an asset with dynamic partitions")
	}
	return a, nil
}
