package repository_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/testdb"
)

// RunQueuedHeads lists a tenant's oldest queued runs with an asset and
// marks as observed only those that run nothing: no compute, no checks of
// the asset, no check result posted to the run. The bulk writes of a claim
// (RunTransitionMany, RunEventCreateMany, RunLogPutMany) touch only the
// scope's tenant's runs, however many ids name another tenant's.
func TestRunQueuedHeadsAndBulkWrites(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		sys := domain.WithSystem(context.Background())
		ctxOf := func(prefix string) context.Context {
			id := testdb.TenantID(prefix)
			if err := b.Store.TenantCreate(sys, &domain.Tenant{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
			return domain.WithTenant(context.Background(), id)
		}
		ctx, other := ctxOf("heads-a"), ctxOf("heads-b")
		asset := func(ctx context.Context, name string, compute *domain.ComputeSpec) uuid.UUID {
			a := &domain.Asset{Name: name, AssetType: "table", Compute: compute}
			if err := b.Store.AssetCreate(ctx, a); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		queued := func(ctx context.Context, asset uuid.UUID) uuid.UUID {
			r := domain.Run{AssetID: &asset, State: domain.StateQueued, Trigger: domain.TriggerManual, Attempt: 1}
			if err := b.Store.RunCreate(ctx, &r); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		observed := asset(ctx, "observed", nil)
		computed := asset(ctx, "computed", &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{"/bin/true"}})
		checked := asset(ctx, "checked", nil)
		ct, err := domain.ParseCheckType(json.RawMessage(`{"type":"not_null","columns":["id"]}`))
		if err != nil {
			t.Fatal(err)
		}
		c := domain.Check{AssetID: checked, Name: "ids", Type: ct, Severity: domain.SeverityError, Blocking: true, Enabled: true}
		c.Normalize()
		if err := b.Store.CheckCreate(ctx, &c); err != nil {
			t.Fatal(err)
		}
		runs := []uuid.UUID{queued(ctx, observed), queued(ctx, computed), queued(ctx, checked), queued(ctx, observed), queued(ctx, observed)}
		posted := runs[4]
		if err := b.Store.CheckResultCreate(ctx, &domain.CheckResult{RunID: posted, Attempt: 1, Name: "external", Outcome: domain.CheckPassed, Source: domain.SourceAPI,
			Severity: domain.SeverityError, ExecutedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// A workflow step whose asset runs nothing is still not Observed:
		// its end must move its workflow run on.
		parent := domain.Run{AssetID: &observed, State: domain.StateRunning, Trigger: domain.TriggerManual, Attempt: 1}
		if err := b.Store.RunCreate(ctx, &parent); err != nil {
			t.Fatal(err)
		}
		step := domain.Run{AssetID: &observed, ParentID: &parent.ID, State: domain.StateQueued, Trigger: domain.TriggerManual, Attempt: 1}
		if err := b.Store.RunCreate(ctx, &step); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, step.ID)
		theirs := queued(other, asset(other, "observed", nil))

		heads, err := b.Store.RunQueuedHeads(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []domain.RunHead{{ID: runs[0], Observed: true}, {ID: runs[1]}, {ID: runs[2]}, {ID: runs[3], Observed: true}, {ID: runs[4]}, {ID: runs[5]}}
		if !slices.Equal(heads, want) {
			t.Fatalf("RunQueuedHeads = %+v\nwant %+v", heads, want)
		}
		if heads, err := b.Store.RunQueuedHeads(ctx, 2); err != nil || len(heads) != 2 {
			t.Fatalf("RunQueuedHeads(2) = %+v, %v", heads, err)
		}

		// Bulk moves: another tenant's run among the ids stays as it was.
		start := domain.Transition{From: domain.StateQueued, To: domain.StateRunning, At: time.Now()}
		moved, err := b.Store.RunTransitionMany(ctx, []uuid.UUID{runs[0], runs[3], theirs}, start)
		if err != nil {
			t.Fatal(err)
		}
		got := []uuid.UUID{}
		for _, r := range moved {
			if r.State != domain.StateRunning || r.StartedAt == nil {
				t.Fatalf("moved run %+v, want running with its start", r)
			}
			got = append(got, r.ID)
		}
		slices.SortFunc(got, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		wantIDs := []uuid.UUID{runs[0], runs[3]}
		slices.SortFunc(wantIDs, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("RunTransitionMany moved %v, want %v", got, wantIDs)
		}
		if r, err := b.Store.RunGet(other, theirs); err != nil || r.State != domain.StateQueued {
			t.Fatalf("the other tenant's run = %+v, %v; want queued", r, err)
		}
		// Compare-and-swap: runs no longer queued are left out.
		if again, err := b.Store.RunTransitionMany(ctx, []uuid.UUID{runs[0], runs[3]}, start); err != nil || len(again) != 0 {
			t.Fatalf("second RunTransitionMany = %+v, %v; want nothing moved", again, err)
		}

		events := []domain.RunEvent{{RunID: runs[0], From: domain.StateQueued, To: domain.StateRunning, Attempt: 1}, {RunID: runs[3], From: domain.StateQueued, To: domain.StateRunning, Attempt: 1}}
		if err := b.Store.RunEventCreateMany(ctx, events); err != nil {
			t.Fatal(err)
		}
		if es, err := b.Store.RunEventList(ctx, runs[3]); err != nil || len(es) != 1 || es[0].To != domain.StateRunning {
			t.Fatalf("history after RunEventCreateMany = %+v, %v", es, err)
		}
		if err := b.Store.RunLogPut(ctx, &domain.RunLog{RunID: runs[0], Content: "old"}); err != nil {
			t.Fatal(err)
		}
		if err := b.Store.RunLogPutMany(ctx, []domain.RunLog{{RunID: runs[0], Content: "new 0"}, {RunID: runs[3], Content: "new 3"}}); err != nil {
			t.Fatal(err)
		}
		for i, id := range map[int]uuid.UUID{0: runs[0], 3: runs[3]} {
			if l, err := b.Store.RunLogGet(ctx, id); err != nil || l.Content != "new "+string(rune('0'+i)) {
				t.Fatalf("log of run %d = %+v, %v", i, l, err)
			}
		}
		// The other tenant sees none of it.
		if es, err := b.Store.RunEventList(other, runs[0]); err != nil || len(es) != 0 {
			t.Fatalf("the other tenant reads %+v, %v of this tenant's history", es, err)
		}
		if heads, err := b.Store.RunQueuedHeads(other, 10); err != nil || !slices.Equal(heads, []domain.RunHead{{ID: theirs, Observed: true}}) {
			t.Fatalf("the other tenant's heads = %+v, %v", heads, err)
		}
	})
}
