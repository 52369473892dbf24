package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// Attempt is what a step reported about its checks in one attempt.
type Attempt struct {
	// Succeeded says the step itself succeeded; only then can a check
	// block it.
	Succeeded bool
	// Results are the step's own reports.
	Results []Reported
	// ReadErr, when set, says the step's report could not be read: its
	// enabled checks without a readable result are stored as errors.
	ReadErr error
}

// Decision is what the checks of one attempt decided.
type Decision struct {
	// Blocking names the checks that fail the attempt, sorted; empty when
	// nothing blocks (or the step failed by itself).
	Blocking []string
	// Notes are lines for the run's log: unknown names, unreadable reports.
	Notes []string
}

// Error is the message of a blocked attempt.
func (d Decision) Error() string {
	return "blocking check failed: " + strings.Join(d.Blocking, ", ")
}

// RecordAttempt stores the results of a step's attempt and decides whether
// a check blocks it. Every check of the step's asset is matched by name:
// a reported result is stored with the check's severity and blocking as
// they are now; an enabled check with no result (reported by the step or
// posted to the run before it settled) is stored skipped, which never
// blocks. A name no check has is noted, not stored. Recording an attempt
// twice stores nothing new and decides the same.
func (s *Service) RecordAttempt(ctx context.Context, run *domain.Run, at Attempt) (Decision, error) {
	var d Decision
	var stored []domain.CheckResult
	if run.AssetID == nil {
		return d, nil
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		// The lock orders this against results posted to the run.
		cur, err := s.store.RunLock(ctx, run.ID)
		if err != nil {
			return err
		}
		rows, err := s.attemptRows(ctx, cur.ID, run.Attempt)
		if err != nil {
			return err
		}
		checks, err := s.store.CheckListForAsset(ctx, *cur.AssetID)
		if err != nil {
			return err
		}
		byName := make(map[string]*domain.Check, len(checks))
		byID := make(map[uuid.UUID]*domain.Check, len(checks))
		for i := range checks {
			byName[checks[i].Name], byID[checks[i].ID] = &checks[i], &checks[i]
		}
		if !slices.ContainsFunc(rows, func(r domain.CheckResult) bool { return r.Source == domain.SourceStep }) {
			fresh, notes, err := s.storeStepResults(ctx, run, at, checks, byName, rows)
			if err != nil {
				return err
			}
			d.Notes, stored = notes, fresh
			rows = append(rows, fresh...)
		}
		if !at.Succeeded {
			return nil
		}
		var ids []uuid.UUID
		for _, r := range rows {
			c := byID[derefID(r.CheckID)]
			if c == nil || !c.Blocks(r.Outcome) {
				continue
			}
			ids = append(ids, r.ID)
			if !slices.Contains(d.Blocking, r.Name) {
				d.Blocking = append(d.Blocking, r.Name)
			}
		}
		sort.Strings(d.Blocking)
		return s.store.CheckResultMarkBlocked(ctx, ids)
	})
	if err != nil {
		return Decision{}, err
	}
	s.metrics.observe(stored)
	return d, nil
}

func derefID(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

// attemptRows returns the results stored for one attempt of a run.
func (s *Service) attemptRows(ctx context.Context, runID uuid.UUID, attempt int) ([]domain.CheckResult, error) {
	all, err := s.store.CheckResultList(ctx, domain.CheckResultFilter{RunIDs: []uuid.UUID{runID}})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(r domain.CheckResult) bool { return r.Attempt != attempt }), nil
}

// storeStepResults stores a step's reports and the skipped (or, with an
// unreadable report, error) results of its silent enabled checks.
func (s *Service) storeStepResults(ctx context.Context, run *domain.Run, at Attempt, checks []domain.Check,
	byName map[string]*domain.Check, posted []domain.CheckResult) ([]domain.CheckResult, []string, error) {
	var out []domain.CheckResult
	var notes, unknown []string
	reported := map[string]bool{}
	for _, r := range posted {
		reported[r.Name] = true
	}
	now := s.now()
	for _, rep := range at.Results {
		c := byName[rep.Name]
		if c == nil {
			if rep.Name != "" && !slices.Contains(unknown, rep.Name) {
				unknown = append(unknown, rep.Name)
			}
			continue
		}
		problems := problemText(rep.Problems)
		bad := len(rep.Problems) > 0 && fitForStorage(&rep)
		res := resultFor(c, run, rep, domain.SourceStep, now)
		if bad {
			res.Outcome, res.Message, res.Details = domain.CheckError, "unreadable result: "+problems, nil
		}
		if err := s.store.CheckResultCreate(ctx, &res); err != nil {
			return nil, nil, fmt.Errorf("store result of check %q: %w", c.Name, err)
		}
		out = append(out, res)
		reported[c.Name] = true
	}
	if len(unknown) > 0 {
		notes = append(notes, "servo: check results name no check of this asset (ignored): "+strings.Join(unknown, ", "))
	}
	if at.ReadErr != nil {
		notes = append(notes, "servo: check results unreadable: "+at.ReadErr.Error())
	}
	for i := range checks {
		c := &checks[i]
		if !c.Enabled || reported[c.Name] {
			continue
		}
		rep := Reported{Name: c.Name, Outcome: domain.CheckSkipped, Message: "no result reported"}
		if at.ReadErr != nil {
			rep.Outcome, rep.Message = domain.CheckError, "check results unreadable: "+at.ReadErr.Error()
		}
		res := resultFor(c, run, rep, domain.SourceStep, now)
		if err := s.store.CheckResultCreate(ctx, &res); err != nil {
			return nil, nil, fmt.Errorf("store result of check %q: %w", c.Name, err)
		}
		out = append(out, res)
	}
	return out, notes, nil
}

func problemText(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + p[k]
	}
	return strings.Join(parts, "; ")
}

func resultFor(c *domain.Check, run *domain.Run, rep Reported, src domain.CheckResultSource, now time.Time) domain.CheckResult {
	at := rep.ExecutedAt
	if at.IsZero() {
		at = now
	}
	id := c.ID
	return domain.CheckResult{
		RunID: run.ID, Attempt: run.Attempt, CheckID: &id, Name: c.Name, Outcome: rep.Outcome,
		Severity: c.Severity, Blocking: c.Blocking, RowsChecked: rep.RowsChecked, RowsFailed: rep.RowsFailed,
		Message: rep.Message, Details: rep.Details, DurationMS: rep.DurationMS, ExecutedAt: at, Source: src,
	}
}

// Posted is the answer to results posted to a run.
type Posted struct {
	Results []domain.CheckResult
	// Counted says the run was still active: the results count toward the
	// blocking decision of its current attempt. Results posted after the
	// run ended (or after the attempt settled) are recorded only.
	Counted bool
}

// PostResults records results a client reports for a run executed
// elsewhere. The run must be a materialization or step (a run of one
// asset), and every result must name a check of that asset. They go to the
// run's current attempt. While the run is active (pending, queued or
// running) and that attempt has not settled, they count toward its
// blocking decision; otherwise they are recorded only and change nothing.
func (s *Service) PostResults(ctx context.Context, runID uuid.UUID, reps []Reported) (*Posted, error) {
	out := &Posted{Results: []domain.CheckResult{}}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		run, err := s.store.RunLock(ctx, runID)
		if err != nil {
			return err
		}
		var v domain.Validator
		if run.AssetID == nil {
			v.Add("run", "is a workflow run: post the results to the run of the step that built the asset")
			return v.Err()
		}
		if len(reps) == 0 {
			return domain.Invalid("check_results", "must hold at least one result")
		}
		checks, err := s.store.CheckListForAsset(ctx, *run.AssetID)
		if err != nil {
			return err
		}
		byName := make(map[string]*domain.Check, len(checks))
		for i := range checks {
			byName[checks[i].Name] = &checks[i]
		}
		for i, r := range reps {
			for k, m := range r.Problems {
				v.Add(fmt.Sprintf("check_results[%d].%s", i, k), "%s", m)
			}
			if r.Name != "" && byName[r.Name] == nil {
				v.Add(fmt.Sprintf("check_results[%d].check_name", i), "the run's asset has no check named %q", r.Name)
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		rows, err := s.attemptRows(ctx, run.ID, run.Attempt)
		if err != nil {
			return err
		}
		settled := slices.ContainsFunc(rows, func(r domain.CheckResult) bool { return r.Source == domain.SourceStep })
		out.Counted = !run.State.IsTerminal() && !settled
		now := s.now()
		for _, rep := range reps {
			res := resultFor(byName[rep.Name], run, rep, domain.SourceAPI, now)
			if err := res.Validate(); err != nil {
				return err
			}
			if err := s.store.CheckResultCreate(ctx, &res); err != nil {
				return err
			}
			out.Results = append(out.Results, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.metrics.observe(out.Results)
	return out, nil
}

// ResultView is a result with the step it belongs to.
type ResultView struct {
	domain.CheckResult
	AssetID   *uuid.UUID
	AssetName string
}

// RunResults returns the check results of a run, and of its steps when it
// is a workflow run: of each run's latest attempt with results, or of every
// attempt with all set. Newest first.
func (s *Service) RunResults(ctx context.Context, runID uuid.UUID, all bool) ([]ResultView, error) {
	var out []ResultView
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		run, err := s.store.RunGet(ctx, runID)
		if err != nil {
			return err
		}
		runs := []domain.Run{*run}
		if run.AssetID == nil {
			steps, err := s.store.RunChildren(ctx, run.ID)
			if err != nil {
				return err
			}
			runs = append(runs, steps...)
		}
		ids := make([]uuid.UUID, len(runs))
		assetOf := map[uuid.UUID]*uuid.UUID{}
		var assetIDs []uuid.UUID
		for i, r := range runs {
			ids[i] = r.ID
			assetOf[r.ID] = r.AssetID
			if r.AssetID != nil && !slices.Contains(assetIDs, *r.AssetID) {
				assetIDs = append(assetIDs, *r.AssetID)
			}
		}
		results, err := s.store.CheckResultList(ctx, domain.CheckResultFilter{RunIDs: ids})
		if err != nil {
			return err
		}
		assets, err := s.store.AssetGetMany(ctx, assetIDs)
		if err != nil {
			return err
		}
		names := map[uuid.UUID]string{}
		for _, a := range assets {
			names[a.ID] = a.Name
		}
		latest := map[uuid.UUID]int{}
		for _, r := range results {
			latest[r.RunID] = max(latest[r.RunID], r.Attempt)
		}
		out = make([]ResultView, 0, len(results))
		for _, r := range results {
			if !all && r.Attempt != latest[r.RunID] {
				continue
			}
			v := ResultView{CheckResult: r, AssetID: assetOf[r.RunID]}
			if v.AssetID != nil {
				v.AssetName = names[*v.AssetID]
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// History returns the newest results of one check, at most limit.
func (s *Service) History(ctx context.Context, checkID uuid.UUID, limit int) ([]domain.CheckResult, error) {
	var out []domain.CheckResult
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.CheckGet(ctx, checkID); err != nil {
			return err
		}
		var err error
		out, err = s.store.CheckResultList(ctx, domain.CheckResultFilter{CheckID: &checkID, Limit: limit})
		return err
	})
	return out, err
}

// Latest returns the latest outcome of each check of the given assets.
func (s *Service) Latest(ctx context.Context, assetIDs []uuid.UUID) ([]domain.CheckStatus, error) {
	return s.store.CheckLatest(ctx, assetIDs)
}

// FailingAssets returns, of the given assets, those with an enabled
// blocking check of severity error whose latest outcome is failed or error.
func (s *Service) FailingAssets(ctx context.Context, assetIDs []uuid.UUID) ([]uuid.UUID, error) {
	out := []uuid.UUID{}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		latest, err := s.store.CheckLatest(ctx, assetIDs)
		if err != nil {
			return err
		}
		for _, st := range latest {
			if slices.Contains(out, st.AssetID) || (st.Outcome != domain.CheckFailed && st.Outcome != domain.CheckError) {
				continue
			}
			c, err := s.store.CheckGet(ctx, st.CheckID)
			if errors.Is(err, domain.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if c.Blocks(st.Outcome) {
				out = append(out, st.AssetID)
			}
		}
		return nil
	})
	return out, err
}
