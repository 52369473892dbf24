package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/automation"
)

// AutomationDTO is an automation on the wire: exactly one of workflow and
// asset_id is set.
type AutomationDTO struct {
	ID          uuid.UUID   `json:"id"`
	TenantID    string      `json:"tenant_id"`
	Name        string      `json:"name"`
	On          string      `json:"on"`
	Mode        string      `json:"mode"`
	Workflow    *string     `json:"workflow"`
	AssetID     *uuid.UUID  `json:"asset_id"`
	Assets      []uuid.UUID `json:"assets"`
	MinInterval string      `json:"min_interval"`
	Enabled     bool        `json:"enabled"`
	Since       Time        `json:"since"`
	NextEvalAt  *Time       `json:"next_eval_at"`
	LastRunAt   *Time       `json:"last_run_at"`
	LastRunID   *uuid.UUID  `json:"last_run_id"`
	CreatedAt   Time        `json:"created_at"`
	UpdatedAt   Time        `json:"updated_at"`
}

func automationDTO(a *domain.Automation) AutomationDTO {
	return AutomationDTO{
		ID: a.ID, TenantID: a.TenantID, Name: a.Name, On: string(a.On), Mode: a.Mode, Workflow: a.WorkflowName,
		AssetID: a.AssetID, Assets: a.Assets, MinInterval: a.MinInterval.String(), Enabled: a.Enabled,
		Since: TimeOf(a.Since), NextEvalAt: TimePtrOf(a.NextEvalAt), LastRunAt: TimePtrOf(a.LastRunAt), LastRunID: a.LastRunID,
		CreatedAt: TimeOf(a.CreatedAt), UpdatedAt: TimeOf(a.UpdatedAt),
	}
}

// AutomationEvaluationDTO is one evaluation on the wire.
type AutomationEvaluationDTO struct {
	EvaluatedAt Time       `json:"evaluated_at"`
	Result      string     `json:"result"`
	RunID       *uuid.UUID `json:"run_id"`
	Reason      string     `json:"reason"`
}

type createAutomationRequest struct {
	Name        string   `json:"name"`
	On          string   `json:"on"`
	Mode        string   `json:"mode"`
	Workflow    string   `json:"workflow"`
	Asset       string   `json:"asset"`
	Assets      []string `json:"assets"`
	MinInterval string   `json:"min_interval"`
	Enabled     *bool    `json:"enabled"`
}

type patchAutomationRequest struct {
	Mode        *string `json:"mode"`
	MinInterval *string `json:"min_interval"`
	Enabled     *bool   `json:"enabled"`
}

type automationEnvelope struct {
	Automation AutomationDTO `json:"automation"`
}

type automationList struct {
	Automations []AutomationDTO `json:"automations"`
	Total       int64           `json:"total"`
	// TotalIsEstimate is true when total is an estimate: the listing runs
	// on more than 1,000 rows past the offset and count=exact was not asked.
	TotalIsEstimate bool    `json:"total_is_estimate"`
	Limit           int     `json:"limit"`
	Offset          int     `json:"offset"`
	NextCursor      *string `json:"next_cursor"`
}

type evaluationList struct {
	Evaluations []AutomationEvaluationDTO `json:"evaluations"`
}

// automationAPI serves /automations; without the service its routes
// answer 503.
type automationAPI struct {
	svc *automation.Service
}

func (a *api) mountAutomations(g *echo.Group, svc *automation.Service) {
	h := &automationAPI{svc: svc}
	g.GET("/automations", h.list)
	g.POST("/automations", h.create)
	g.GET("/automations/:automation", h.get)
	g.PATCH("/automations/:automation", h.update)
	g.DELETE("/automations/:automation", h.delete)
	g.GET("/automations/:automation/evaluations", h.evaluations)
}

func (h *automationAPI) available() error {
	if h.svc == nil {
		return featureOff("automations")
	}
	return nil
}

func (h *automationAPI) list(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	l, err := h.svc.List(c.Request().Context(), p)
	if err != nil {
		return err
	}
	out := automationList{Automations: make([]AutomationDTO, len(l.Items)), Total: l.Total, TotalIsEstimate: l.TotalIsEstimate, Limit: l.Limit, Offset: l.Offset, NextCursor: nextCursor(l.NextCursor)}
	for i := range l.Items {
		out.Automations[i] = automationDTO(&l.Items[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (h *automationAPI) create(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	var req createAutomationRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	a, err := h.svc.Create(c.Request().Context(), automation.Input{
		Name: req.Name, On: domain.AutomationEvent(req.On), Mode: req.Mode, Workflow: req.Workflow, Asset: req.Asset,
		Assets: req.Assets, MinInterval: req.MinInterval, Enabled: req.Enabled,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, automationEnvelope{Automation: automationDTO(a)})
}

func (h *automationAPI) get(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	ref, err := pathRef(c, "automation")
	if err != nil {
		return err
	}
	a, err := h.svc.Resolve(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, automationEnvelope{Automation: automationDTO(a)})
}

func (h *automationAPI) update(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	var req patchAutomationRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	ref, err := pathRef(c, "automation")
	if err != nil {
		return err
	}
	a, err := h.svc.Update(c.Request().Context(), ref, automation.Patch(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, automationEnvelope{Automation: automationDTO(a)})
}

func (h *automationAPI) delete(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	ref, err := pathRef(c, "automation")
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.Request().Context(), ref); err != nil {
		return err
	}
	return noContent(c)
}

func (h *automationAPI) evaluations(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	ref, err := pathRef(c, "automation")
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", domain.DefaultLimit, 1, domain.MaxLimit)
	if err != nil {
		return err
	}
	evs, err := h.svc.Evaluations(c.Request().Context(), ref, limit)
	if err != nil {
		return err
	}
	out := evaluationList{Evaluations: make([]AutomationEvaluationDTO, len(evs))}
	for i, e := range evs {
		out.Evaluations[i] = AutomationEvaluationDTO{EvaluatedAt: TimeOf(e.EvaluatedAt), Result: e.Result, RunID: e.RunID, Reason: e.Reason}
	}
	return c.JSON(http.StatusOK, out)
}
