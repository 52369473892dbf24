package service_test

import (
	"sync/atomic"
	"testing"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// TestListPartitionsOneStatement lists pages of a ten-year hourly asset
// (87,600 keys and more) at its start and at its end, filtered and not:
// each page costs one read statement, and the statuses come from the
// latest run of each key.
func TestListPartitionsOneStatement(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		asset, err := svc.CreateAsset(a.ctx, service.CreateAssetInput{Name: "hourly",
			Partitions: &domain.PartitionsDef{Type: domain.PartitionHourly, StartDate: "2016-01-01T00"}})
		mustOK(t, err)
		// Runs: one succeeded, one failed after an earlier success, one in
		// flight.
		run := func(key string, to ...domain.State) {
			r, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &asset.ID, PartitionKey: key})
			mustOK(t, err)
			from := domain.StatePending
			for _, s := range to {
				_, err := svc.TransitionRun(a.ctx, domain.Transition{ID: r.ID, From: from, To: s})
				mustOK(t, err)
				from = s
			}
		}
		run("2016-01-01T01", domain.StateQueued, domain.StateRunning, domain.StateSucceeded)
		run("2025-06-30T23", domain.StateQueued, domain.StateRunning, domain.StateSucceeded)
		run("2025-06-30T23", domain.StateQueued, domain.StateRunning, domain.StateFailed)
		run("2025-07-01T00", domain.StateQueued)

		count := func(status, after string, limit int) ([]service.PartitionStatus, string, int64) {
			var n atomic.Int64
			ctx := repository.CountQueries(a.ctx, &n)
			got, next, err := svc.ListPartitions(ctx, asset, status, after, limit)
			mustOK(t, err)
			return got, next, n.Load()
		}
		first, next, n := count("", "", 1000)
		if n != 1 || len(first) != 1000 || next != first[999].PartitionKey || first[0].PartitionKey != "2016-01-01T00" ||
			first[0].Status != service.PartitionMissing || first[1].Status != service.PartitionMaterialized || first[1].LastMaterializedAt == nil {
			t.Fatalf("first page: %d statements, %d partitions, next %q, %+v %+v", n, len(first), next, first[0], first[1])
		}
		late, _, n := count("", "2025-06-30T22", 2)
		if n != 1 || len(late) != 2 || late[0].Status != service.PartitionFailed || late[0].LastMaterializedAt == nil || late[1].Status != service.PartitionInFlight {
			t.Errorf("a page ten years in: %d statements, %+v", n, late)
		}
		done, next, n := count(service.PartitionMaterialized, "", 100)
		if n != 1 || len(done) != 1 || done[0].PartitionKey != "2016-01-01T01" || next != "" {
			t.Errorf("status=materialized over every key: %d statements, %+v, next %q", n, done, next)
		}
		// Another tenant sees no runs of these keys and cannot name the asset.
		if _, err := svc.GetAsset(other.ctx, asset.ID); err == nil {
			t.Error("another tenant reads the asset")
		}
		if got, err := b.Store.PartitionLatestRuns(other.ctx, asset.ID, []string{"2016-01-01T01"}); err != nil || len(got) != 0 {
			t.Errorf("another tenant reads %d latest runs (%v)", len(got), err)
		}
	})
}
