package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

// HeaderIdempotencyKey makes a trigger safe to retry: the same key returns
// the same run.
const HeaderIdempotencyKey = "Idempotency-Key"

type triggerRequest struct {
	PartitionKey string `json:"partition_key"`
	Trigger      string `json:"trigger"`
}

type materializeRequest struct {
	AssetName    string `json:"asset_name"`
	PartitionKey string `json:"partition_key"`
	Trigger      string `json:"trigger"`
}

type triggerResponse struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
}

type runList struct {
	Runs  []RunDTO `json:"runs"`
	Total int64    `json:"total"`
	// TotalIsEstimate is true when total is an estimate: the listing runs
	// on more than 1,000 rows past the offset and count=exact was not asked.
	TotalIsEstimate bool `json:"total_is_estimate"`
	Limit           int  `json:"limit"`
	Offset          int  `json:"offset"`
	// NextCursor continues the listing; null on the last page.
	NextCursor *string `json:"next_cursor"`
}

func (a *api) startRun(c echo.Context, in service.CreateRunInput) error {
	in.IdempotencyKey = c.Request().Header.Get(HeaderIdempotencyKey)
	run, _, err := a.svc.TriggerRun(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, triggerResponse{RunID: run.ID.String(), Status: string(run.Status())})
}

func (a *api) triggerWorkflow(c echo.Context) error {
	var req triggerRequest
	if err := decodeJSON(c, &req, true); err != nil {
		return err
	}
	w, err := a.resolveWorkflow(c)
	if err != nil {
		return err
	}
	return a.startRun(c, service.CreateRunInput{WorkflowID: &w.ID, PartitionKey: req.PartitionKey, Trigger: domain.Trigger(req.Trigger)})
}

func (a *api) materialize(c echo.Context) error {
	var req materializeRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.AssetName == "" {
		return domain.Invalid("asset_name", "is required")
	}
	asset, err := a.svc.ResolveAsset(c.Request().Context(), req.AssetName)
	if err != nil {
		return err
	}
	return a.startRun(c, service.CreateRunInput{AssetID: &asset.ID, PartitionKey: req.PartitionKey, Trigger: domain.Trigger(req.Trigger)})
}

func (a *api) listRuns(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	q := service.RunQuery{
		Status: domain.Status(c.QueryParam("status")),
		State:  domain.State(c.QueryParam("state")),
	}
	if q.AssetName, err = queryText(c, "asset_name", domain.MaxNameLen); err != nil {
		return err
	}
	if q.WorkflowName, err = queryText(c, "workflow_name", domain.MaxNameLen); err != nil {
		return err
	}
	if v, ok := c.QueryParams()["partition_key"]; ok && len(v) > 0 {
		q.PartitionKey = &v[0]
	}
	if q.Status != "" && !q.Status.Valid() {
		return badRequest("query parameter \"status\" must be pending, running, success, failed, skipped, upstream_failed or cancelled", map[string]any{"status": "unknown status"})
	}
	if q.State != "" && !q.State.Valid() {
		return badRequest("query parameter \"state\" is not a run state", map[string]any{"state": "unknown state"})
	}
	list, err := a.svc.ListRunViews(c.Request().Context(), q, p)
	if err != nil {
		return err
	}
	out := runList{Runs: make([]RunDTO, len(list.Items)), Total: list.Total, TotalIsEstimate: list.TotalIsEstimate, Limit: list.Limit, Offset: list.Offset, NextCursor: nextCursor(list.NextCursor)}
	for i := range list.Items {
		out.Runs[i] = runDTO(&list.Items[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) getRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := a.svc.GetRunView(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, runDTO(v))
}

func (a *api) cancelRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := a.svc.CancelRun(ctx, id, "cancelled by request"); err != nil {
		return err
	}
	v, err := a.svc.GetRunView(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, runDTO(v))
}

func (a *api) deleteRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.svc.DeleteRun(c.Request().Context(), id); err != nil {
		return err
	}
	return noContent(c)
}

// RunEventDTO is one transition of a run.
type RunEventDTO struct {
	From    string `json:"from"`
	To      string `json:"to"`
	At      Time   `json:"at"`
	Attempt int    `json:"attempt"`
	Reason  string `json:"reason"`
}

type runEvents struct {
	Events []RunEventDTO `json:"events"`
}

type runLogs struct {
	RunID     string `json:"run_id"`
	Logs      string `json:"logs"`
	Truncated bool   `json:"truncated"`
}

func (a *api) runEvents(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	evs, err := a.svc.RunEvents(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := runEvents{Events: make([]RunEventDTO, len(evs))}
	for i, e := range evs {
		out.Events[i] = RunEventDTO{From: string(e.From), To: string(e.To), At: TimeOf(e.At), Attempt: e.Attempt, Reason: e.Reason}
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) runLogs(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	l, err := a.svc.RunLog(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, runLogs{RunID: id.String(), Logs: l.Content, Truncated: l.Truncated})
}

// workflowRunDTO is a workflow run with its steps.
type workflowRunDTO struct {
	RunDTO
	Steps []RunDTO `json:"steps"`
}

func (a *api) getWorkflowRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := a.svc.GetRunView(ctx, id)
	if err != nil {
		return err
	}
	steps, err := a.svc.RunSteps(ctx, id)
	if err != nil {
		return err
	}
	out := workflowRunDTO{RunDTO: runDTO(v), Steps: make([]RunDTO, len(steps))}
	for i := range steps {
		out.Steps[i] = runDTO(&steps[i])
	}
	return c.JSON(http.StatusOK, out)
}
