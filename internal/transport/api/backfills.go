package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
)

type backfillRange struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type createBackfillRequest struct {
	Asset            string         `json:"asset"`
	Workflow         string         `json:"workflow"`
	PartitionKeys    []string       `json:"partition_keys"`
	Range            *backfillRange `json:"range"`
	MaxConcurrency   int            `json:"max_concurrency"`
	SkipMaterialized bool           `json:"skip_materialized"`
	WaitForUpstream  *bool          `json:"wait_for_upstream"`
}

// BackfillDTO is a backfill on the wire, with its partitions counted by
// state.
type BackfillDTO struct {
	ID               uuid.UUID  `json:"id"`
	State            string     `json:"state"`
	AssetID          *uuid.UUID `json:"asset_id"`
	WorkflowID       *uuid.UUID `json:"workflow_id"`
	MaxConcurrency   int        `json:"max_concurrency"`
	SkipMaterialized bool       `json:"skip_materialized"`
	WaitForUpstream  bool       `json:"wait_for_upstream"`
	Total            int        `json:"total"`
	Pending          int        `json:"pending"`
	WaitingUpstream  int        `json:"waiting_upstream"`
	Running          int        `json:"running"`
	Succeeded        int        `json:"succeeded"`
	Failed           int        `json:"failed"`
	Cancelled        int        `json:"cancelled"`
	Skipped          int        `json:"skipped"`
	CreatedAt        Time       `json:"created_at"`
	UpdatedAt        Time       `json:"updated_at"`
	CompletedAt      *Time      `json:"completed_at"`
}

func backfillDTO(b *domain.Backfill) BackfillDTO {
	c := b.Counts
	return BackfillDTO{
		ID: b.ID, State: string(b.State), AssetID: b.AssetID, WorkflowID: b.WorkflowID,
		MaxConcurrency: b.MaxConcurrency, SkipMaterialized: b.SkipMaterialized, WaitForUpstream: b.WaitForUpstream,
		Total: b.Total, Pending: c.Pending, WaitingUpstream: c.WaitingUpstream, Running: c.Running,
		Succeeded: c.Succeeded, Failed: c.Failed, Cancelled: c.Cancelled, Skipped: c.Skipped,
		CreatedAt: TimeOf(b.CreatedAt), UpdatedAt: TimeOf(b.UpdatedAt), CompletedAt: TimePtrOf(b.CompletedAt),
	}
}

type backfillEnvelope struct {
	Backfill BackfillDTO `json:"backfill"`
}

type backfillList struct {
	Backfills []BackfillDTO `json:"backfills"`
	Total     int64         `json:"total"`
	// TotalIsEstimate is true when total is an estimate: the listing runs
	// on more than 1,000 rows past the offset and count=exact was not asked.
	TotalIsEstimate bool `json:"total_is_estimate"`
	Limit           int  `json:"limit"`
	Offset          int  `json:"offset"`
	// NextCursor continues the listing; null on the last page.
	NextCursor *string `json:"next_cursor"`
}

// BackfillPartitionDTO is one partition of a backfill.
type BackfillPartitionDTO struct {
	Position     int        `json:"position"`
	PartitionKey string     `json:"partition_key"`
	State        string     `json:"state"`
	RunID        *uuid.UUID `json:"run_id"`
	StartedAt    *Time      `json:"started_at"`
	CompletedAt  *Time      `json:"completed_at"`
}

type backfillPartitionList struct {
	Partitions []BackfillPartitionDTO `json:"partitions"`
	// NextCursor continues the listing; null on the last page.
	NextCursor *string `json:"next_cursor"`
}

// errNoBackfills answers backfill routes on a server built without them.
var errNoBackfills = &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "backfills are not enabled on this server"}

func (a *api) backfillsOrErr() (*backfill.Backfills, error) {
	if a.backfills == nil {
		return nil, errNoBackfills
	}
	return a.backfills, nil
}

func (a *api) createBackfill(c echo.Context) error {
	var req createBackfillRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	bf, err := a.backfillsOrErr()
	if err != nil {
		return err
	}
	in := backfill.CreateInput{
		Asset: req.Asset, Workflow: req.Workflow, PartitionKeys: req.PartitionKeys,
		MaxConcurrency: req.MaxConcurrency, SkipMaterialized: req.SkipMaterialized, WaitForUpstream: true,
		IdempotencyKey: c.Request().Header.Get(HeaderIdempotencyKey),
	}
	if req.WaitForUpstream != nil {
		in.WaitForUpstream = *req.WaitForUpstream
	}
	if req.Range != nil {
		in.HasRange, in.RangeStart, in.RangeEnd = true, req.Range.Start, req.Range.End
	}
	b, _, err := bf.Create(c.Request().Context(), in)
	var overlap *backfill.OverlapError
	if errors.As(err, &overlap) {
		return &APIError{Status: http.StatusConflict, Code: CodeConflict, Message: overlap.Error(), Details: map[string]any{"backfill_id": overlap.Other.String()}}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, backfillEnvelope{Backfill: backfillDTO(b)})
}

func (a *api) listBackfills(c echo.Context) error {
	bf, err := a.backfillsOrErr()
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	list, err := bf.List(c.Request().Context(), domain.BackfillState(c.QueryParam("state")), p)
	if err != nil {
		return err
	}
	out := backfillList{Backfills: make([]BackfillDTO, len(list.Items)), Total: list.Total, TotalIsEstimate: list.TotalIsEstimate, Limit: list.Limit, Offset: list.Offset, NextCursor: nextCursor(list.NextCursor)}
	for i := range list.Items {
		out.Backfills[i] = backfillDTO(&list.Items[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) getBackfill(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	bf, err := a.backfillsOrErr()
	if err != nil {
		return err
	}
	b, err := bf.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, backfillEnvelope{Backfill: backfillDTO(b)})
}

func (a *api) backfillPartitions(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 1000, 1, domain.MaxBackfillPartitions)
	if err != nil {
		return err
	}
	after := -1
	if raw := c.QueryParam("cursor"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return badRequest("query parameter \"cursor\" must be a next_cursor from a previous page", map[string]any{"cursor": "malformed"})
		}
		after = n
	}
	bf, err := a.backfillsOrErr()
	if err != nil {
		return err
	}
	parts, err := bf.Partitions(c.Request().Context(), id, after, limit+1)
	if err != nil {
		return err
	}
	out := backfillPartitionList{Partitions: []BackfillPartitionDTO{}}
	if len(parts) > limit {
		parts = parts[:limit]
		s := strconv.Itoa(parts[limit-1].Position)
		out.NextCursor = &s
	}
	for _, p := range parts {
		out.Partitions = append(out.Partitions, BackfillPartitionDTO{
			Position: p.Position, PartitionKey: p.PartitionKey, State: string(p.State), RunID: p.RunID,
			StartedAt: TimePtrOf(p.StartedAt), CompletedAt: TimePtrOf(p.CompletedAt),
		})
	}
	return c.JSON(http.StatusOK, out)
}

// backfillAction answers POST /backfills/{id}/pause, resume, cancel and
// retry-failed.
func (a *api) backfillAction(act backfill.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		bf, err := a.backfillsOrErr()
		if err != nil {
			return err
		}
		b, err := bf.Do(c.Request().Context(), id, act)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, backfillEnvelope{Backfill: backfillDTO(b)})
	}
}
