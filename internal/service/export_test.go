package service

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

var faultMu sync.Mutex

// faults holds the runs SettleFaultFor makes fail, with their errors.
var faults = map[uuid.UUID]error{}

func init() {
	settleFault = func(_ context.Context, id uuid.UUID) error {
		faultMu.Lock()
		defer faultMu.Unlock()
		return faults[id]
	}
}

// SettleFaultFor makes SettleRun fail for run id between the end of the
// step and the advance of its workflow run, until the returned function is
// called.
func SettleFaultFor(id uuid.UUID, err error) (restore func()) {
	faultMu.Lock()
	defer faultMu.Unlock()
	faults[id] = err
	return func() {
		faultMu.Lock()
		defer faultMu.Unlock()
		delete(faults, id)
	}
}

// LineageCapped is Lineage with a node cap of maxNodes instead of
// domain.MaxLineageNodes.
func (s *Service) LineageCapped(ctx context.Context, q domain.LineageQuery, maxNodes int) (*domain.Lineage, error) {
	return s.lineage(ctx, q, maxNodes)
}
