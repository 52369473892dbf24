package backfill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/partition"
	"github.com/servo-data/servo/internal/service"
)

// Advance moves a backfill on, in one transaction holding its row: it
// records the partitions whose runs ended, launches the next ready
// partitions in key order while fewer than max_concurrency run, marks the
// ones whose upstream partitions are not materialized yet as waiting, and
// ends the backfill when nothing is left. Calling it again changes nothing
// that is already true, and a backfill another process is advancing right
// now is skipped. It reports whether the backfill is over.
func (b *Backfills) Advance(ctx context.Context, id uuid.UUID) (bool, error) {
	return b.advance(ctx, id, true)
}

// Nudge is Advance for a run that just ended: it waits for a concurrent
// advance to finish instead of skipping, so that the run's end is seen at
// once rather than at the next poll.
func (b *Backfills) Nudge(ctx context.Context, id uuid.UUID) (bool, error) {
	return b.advance(ctx, id, false)
}

func (b *Backfills) advance(ctx context.Context, id uuid.UUID, skipLocked bool) (bool, error) {
	done := false
	err := b.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := b.store.BackfillLock(ctx, id, skipLocked)
		if errors.Is(err, domain.ErrConflict) {
			return nil // another process holds it
		}
		if err != nil {
			return err
		}
		if cur.State.IsTerminal() {
			done = true
			return nil
		}
		running, err := b.settle(ctx, cur)
		if err != nil {
			return err
		}
		if cur.State == domain.BackfillPaused {
			return nil
		}
		if cur.State == domain.BackfillPending {
			if err := b.store.BackfillSetState(ctx, id, domain.BackfillRunning); err != nil {
				return err
			}
		}
		if free := cur.MaxConcurrency - running; free > 0 {
			if err := b.launch(ctx, cur, free); err != nil {
				return err
			}
		}
		now, err := b.store.BackfillGet(ctx, id)
		if err != nil {
			return err
		}
		if final, over := Final(now.Counts); over {
			done = true
			return b.store.BackfillSetState(ctx, id, final)
		}
		return nil
	})
	return done, err
}

// settle records the partitions whose runs have ended and returns how
// many still run.
func (b *Backfills) settle(ctx context.Context, cur *domain.Backfill) (int, error) {
	parts, err := b.store.BackfillPartitions(ctx, cur.ID, []domain.PartitionRunState{domain.PartitionRunning}, -1, 0)
	if err != nil {
		return 0, err
	}
	ids := make([]uuid.UUID, 0, len(parts))
	for _, p := range parts {
		if p.RunID != nil {
			ids = append(ids, *p.RunID)
		}
	}
	runs, err := b.store.RunGetMany(ctx, ids)
	if err != nil {
		return 0, err
	}
	byID := make(map[uuid.UUID]*domain.Run, len(runs))
	for i := range runs {
		byID[runs[i].ID] = &runs[i]
	}
	running := 0
	for i := range parts {
		p := &parts[i]
		var run *domain.Run
		if p.RunID != nil {
			run = byID[*p.RunID]
		}
		switch {
		case run == nil: // the run was deleted
			p.State = domain.PartitionFailed
			t := b.now().UTC()
			p.CompletedAt = &t
		case run.State.IsTerminal():
			p.State = partitionOutcome(run.State)
			p.CompletedAt = run.CompletedAt
		default:
			running++
			continue
		}
		if err := b.store.BackfillPartitionUpdate(ctx, p); err != nil {
			return 0, err
		}
	}
	return running, nil
}

// lookahead is how many candidates beyond the free slots one advance looks
// at, so that partitions waiting for upstream do not stall those behind.
const lookahead = 64

// launch starts up to free ready partitions in key order.
func (b *Backfills) launch(ctx context.Context, cur *domain.Backfill, free int) error {
	cands, err := b.store.BackfillPartitions(ctx, cur.ID, []domain.PartitionRunState{domain.PartitionPending, domain.PartitionWaitingUpstream}, -1, free+lookahead)
	if err != nil || len(cands) == 0 {
		return err
	}
	var asset *domain.Asset
	if cur.AssetID != nil {
		if asset, err = b.store.AssetGet(ctx, *cur.AssetID); err != nil {
			return err
		}
	}
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.PartitionKey
	}
	materialized := map[string]bool{}
	if cur.SkipMaterialized && asset != nil {
		latest, err := b.store.PartitionLatestRuns(ctx, asset.ID, keys)
		if err != nil {
			return err
		}
		for _, r := range latest {
			materialized[r.PartitionKey] = r.State == domain.StateSucceeded
		}
	}
	ready := map[string]bool{}
	for _, k := range keys {
		ready[k] = true
	}
	if cur.WaitForUpstream {
		if ready, err = b.targetReady(ctx, cur, asset, keys); err != nil {
			return err
		}
	}
	for i := range cands {
		p := &cands[i]
		switch {
		case materialized[p.PartitionKey]:
			p.State = domain.PartitionSkipped
			t := b.now().UTC()
			p.CompletedAt = &t
		case !ready[p.PartitionKey]:
			if p.State == domain.PartitionWaitingUpstream {
				continue
			}
			p.State = domain.PartitionWaitingUpstream
		case free == 0:
			continue
		default:
			run, _, err := b.svc.TriggerRun(ctx, service.CreateRunInput{
				AssetID: cur.AssetID, WorkflowID: cur.WorkflowID, Trigger: domain.TriggerBackfill,
				PartitionKey: p.PartitionKey, IdempotencyKey: runKey(cur.ID, p),
			})
			if err != nil {
				return fmt.Errorf("launch partition %q: %w", p.PartitionKey, err)
			}
			free--
			t := b.now().UTC()
			p.State, p.RunID, p.StartedAt, p.CompletedAt = domain.PartitionRunning, &run.ID, &t, nil
		}
		if err := b.store.BackfillPartitionUpdate(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// targetReady reports, per key, whether the backfill's target may run it:
// for an asset, whether every upstream partition it maps to has been
// materialized; for a workflow, the same for each of its assets partitioned
// like the backfill's keys, leaving out the upstreams inside the workflow,
// which each partition's workflow run materializes itself, in order.
func (b *Backfills) targetReady(ctx context.Context, cur *domain.Backfill, asset *domain.Asset, keys []string) (map[string]bool, error) {
	ready := make(map[string]bool, len(keys))
	for _, k := range keys {
		ready[k] = true
	}
	if asset != nil {
		if asset.Partitions == nil {
			return ready, nil
		}
		return b.upstreamReady(ctx, asset, keys, nil)
	}
	if cur.WorkflowID == nil {
		return ready, nil
	}
	w, err := b.store.WorkflowGet(ctx, *cur.WorkflowID)
	if err != nil {
		return nil, err
	}
	members, err := b.store.AssetGetMany(ctx, w.AssetIDs)
	if err != nil {
		return nil, err
	}
	inside := make(map[uuid.UUID]bool, len(members))
	for i := range members {
		inside[members[i].ID] = true
	}
	// The backfill's keys follow the first partitioned asset of the
	// workflow (as at creation); assets partitioned otherwise are left out.
	var keyDef *domain.PartitionsDef
	for _, id := range w.AssetIDs {
		for i := range members {
			if members[i].ID != id || members[i].Partitions == nil {
				continue
			}
			a := &members[i]
			if keyDef == nil {
				keyDef = a.Partitions
			} else if !reflect.DeepEqual(*keyDef, *a.Partitions) {
				continue
			}
			r, err := b.upstreamReady(ctx, a, keys, inside)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				ready[k] = ready[k] && r[k]
			}
		}
	}
	return ready, nil
}

// upstreamReady reports, per key of asset a, whether every upstream
// partition it maps to has been materialized, upstream assets in skip
// aside; one read per upstream asset.
func (b *Backfills) upstreamReady(ctx context.Context, a *domain.Asset, keys []string, skip map[uuid.UUID]bool) (map[string]bool, error) {
	def, err := b.svc.PartitionDef(ctx, a)
	if err != nil {
		return nil, err
	}
	now := b.now()
	need := map[string][]service.UpstreamPartition{}
	perAsset := map[uuid.UUID]map[string]bool{}
	for _, k := range keys {
		ups, err := b.svc.UpstreamPartitions(ctx, a, def, k, now)
		if err != nil {
			return nil, err
		}
		ups = slices.DeleteFunc(ups, func(u service.UpstreamPartition) bool { return skip[u.Asset.ID] })
		need[k] = ups
		for _, u := range ups {
			if perAsset[u.Asset.ID] == nil {
				perAsset[u.Asset.ID] = map[string]bool{}
			}
			for _, uk := range u.Keys {
				perAsset[u.Asset.ID][uk] = false
			}
		}
	}
	for assetID, set := range perAsset {
		list := make([]string, 0, len(set))
		for k := range set {
			list = append(list, k)
		}
		latest, err := b.store.PartitionLatestRuns(ctx, assetID, list)
		if err != nil {
			return nil, err
		}
		for _, r := range latest {
			set[r.PartitionKey] = r.LastMaterializedAt != nil
		}
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		ok := true
		for _, u := range need[k] {
			for _, uk := range u.Keys {
				ok = ok && perAsset[u.Asset.ID][uk]
			}
		}
		out[k] = ok
	}
	return out, nil
}

// runKey is the idempotency key of a partition's run: backfill:<id>:<key>,
// with the previous run's id added for a retried partition, and the key
// hashed when the whole would be too long.
func runKey(id uuid.UUID, p *domain.BackfillPartition) string {
	key := p.PartitionKey
	suffix := ""
	if p.RunID != nil {
		suffix = "#" + p.RunID.String()
	}
	k := "backfill:" + id.String() + ":" + key + suffix
	if len(k) > domain.MaxIdempotencyKeyLen || partition.CheckKeyText(k) != nil {
		sum := sha256.Sum256([]byte(key))
		k = "backfill:" + id.String() + ":sha256-" + hex.EncodeToString(sum[:16]) + suffix
	}
	return k
}
