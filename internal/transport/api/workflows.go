package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

type createWorkflowRequest struct {
	Name          string              `json:"name"`
	Description   string              `json:"description"`
	Owner         string              `json:"owner"`
	Tags          []string            `json:"tags"`
	Assets        []string            `json:"assets"`
	Retry         *domain.RetryPolicy `json:"retry"`
	MaxActiveRuns int                 `json:"max_active_runs"`
	// Schedule, when set, creates a schedule of the new version's workflow
	// in the same transaction.
	Schedule *scheduleRequest `json:"schedule"`
}

type patchWorkflowRequest struct {
	MaxActiveRuns *int      `json:"max_active_runs"`
	Description   *string   `json:"description"`
	Owner         *string   `json:"owner"`
	Tags          *[]string `json:"tags"`
}

type workflowEnvelope struct {
	Workflow WorkflowDTO `json:"workflow"`
	// Schedule is the schedule created inline with the workflow.
	Schedule *ScheduleDTO `json:"schedule,omitempty"`
}

type workflowList struct {
	Workflows []WorkflowDTO `json:"workflows"`
	Total     int64         `json:"total"`
	// TotalIsEstimate is true when total is an estimate: the listing runs
	// on more than 1,000 rows past the offset and count=exact was not asked.
	TotalIsEstimate bool `json:"total_is_estimate"`
	Limit           int  `json:"limit"`
	Offset          int  `json:"offset"`
	// NextCursor continues the listing; null on the last page.
	NextCursor *string `json:"next_cursor"`
}

// assetNames looks up the names of every asset the workflows hold, in one
// read.
func (a *api) assetNames(c echo.Context, ws ...domain.Workflow) (map[uuid.UUID]string, error) {
	var ids []uuid.UUID
	for _, w := range ws {
		ids = append(ids, w.AssetIDs...)
	}
	names := make(map[uuid.UUID]string, len(ids))
	if len(ids) == 0 {
		return names, nil
	}
	assets, err := a.svc.GetAssets(c.Request().Context(), ids)
	if err != nil {
		return nil, err
	}
	for _, x := range assets {
		names[x.ID] = x.Name
	}
	return names, nil
}

func (a *api) workflowResponse(c echo.Context, status int, w *domain.Workflow) error {
	names, err := a.assetNames(c, *w)
	if err != nil {
		return err
	}
	return c.JSON(status, workflowEnvelope{Workflow: workflowDTO(w, names)})
}

func (a *api) workflowListResponse(c echo.Context, list domain.List[domain.Workflow]) error {
	names, err := a.assetNames(c, list.Items...)
	if err != nil {
		return err
	}
	out := workflowList{Workflows: make([]WorkflowDTO, len(list.Items)), Total: list.Total, TotalIsEstimate: list.TotalIsEstimate, Limit: list.Limit, Offset: list.Offset, NextCursor: nextCursor(list.NextCursor)}
	for i := range list.Items {
		out.Workflows[i] = workflowDTO(&list.Items[i], names)
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) listWorkflows(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, err := a.svc.ListWorkflows(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return a.workflowListResponse(c, list)
}

func (a *api) createWorkflow(c echo.Context) error {
	var req createWorkflowRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	in := service.CreateWorkflowInput{
		Name: req.Name, Description: req.Description, Owner: req.Owner, Tags: req.Tags, Assets: req.Assets,
		Retry: req.Retry, MaxActiveRuns: req.MaxActiveRuns,
	}
	if req.Schedule != nil {
		return a.createWorkflowWithSchedule(c, in, req.Schedule)
	}
	w, err := a.svc.CreateWorkflow(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return a.workflowResponse(c, http.StatusCreated, w)
}

// resolveWorkflow reads {workflow} (a UUID or a name) and ?version=N.
func (a *api) resolveWorkflow(c echo.Context) (*domain.Workflow, error) {
	ref, err := pathRef(c, "workflow")
	if err != nil {
		return nil, err
	}
	version, err := queryInt(c, "version", 0, 1, 1<<31-1)
	if err != nil {
		return nil, err
	}
	return a.svc.ResolveWorkflow(c.Request().Context(), ref, version)
}

func (a *api) getWorkflow(c echo.Context) error {
	w, err := a.resolveWorkflow(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, workflowETag(w))
	return a.workflowResponse(c, http.StatusOK, w)
}

func (a *api) workflowVersions(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	w, err := a.resolveWorkflow(c)
	if err != nil {
		return err
	}
	list, err := a.svc.ListWorkflowVersions(c.Request().Context(), w.Name, p)
	if err != nil {
		return err
	}
	return a.workflowListResponse(c, list)
}

func (a *api) updateWorkflow(c echo.Context) error {
	var req patchWorkflowRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	w, err := a.resolveWorkflow(c)
	if err != nil {
		return err
	}
	updated, err := a.svc.UpdateWorkflowIf(c.Request().Context(), w.ID, domain.WorkflowPatch(req), precondition(c, workflowETag))
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, workflowETag(updated))
	return a.workflowResponse(c, http.StatusOK, updated)
}

// deleteWorkflow deletes one version when the path holds a UUID or the
// query a version, and every version of the workflow when it names it.
func (a *api) deleteWorkflow(c echo.Context) error {
	ref, err := pathRef(c, "workflow")
	if err != nil {
		return err
	}
	if _, isID := domain.ParseRef(ref); !isID && c.QueryParam("version") == "" {
		if _, err := a.svc.DeleteWorkflowVersions(c.Request().Context(), ref); err != nil {
			return err
		}
		return noContent(c)
	}
	w, err := a.resolveWorkflow(c)
	if err != nil {
		return err
	}
	if err := a.svc.DeleteWorkflow(c.Request().Context(), w.ID); err != nil {
		return err
	}
	return noContent(c)
}
