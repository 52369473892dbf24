package openlineage

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// Prune deletes the raw events of the tenant in ctx received longer than
// the retention ago, and reports how many went.
func (in *Ingester) Prune(ctx context.Context) (int64, error) {
	n, err := in.store.LineageEventDeleteReceivedBefore(ctx, in.now().Add(-in.retention))
	if err != nil {
		return 0, fmt.Errorf("prune OpenLineage events: %w", err)
	}
	return n, nil
}

// maybePrune prunes the tenant's events unless it did less than
// PruneInterval ago. A failure is logged: it never fails an ingestion.
func (in *Ingester) maybePrune(ctx context.Context, tenant string) {
	now := in.now()
	in.mu.Lock()
	if last, ok := in.lastPrune[tenant]; ok && now.Sub(last) < PruneInterval {
		in.mu.Unlock()
		return
	}
	in.lastPrune[tenant] = now
	in.mu.Unlock()
	n, err := in.Prune(ctx)
	if err != nil {
		in.log.Warn("prune OpenLineage events", zap.String("tenant", tenant), zap.Error(err))
		return
	}
	if n > 0 {
		in.log.Info("pruned OpenLineage events", zap.String("tenant", tenant), zap.Int64("deleted", n), zap.Duration("retention", in.retention))
	}
}
