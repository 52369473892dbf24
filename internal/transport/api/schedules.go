package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/schedule"
)

// ScheduleDTO is a schedule on the wire. WorkflowVersion is null when the
// schedule runs the latest version at each tick.
type ScheduleDTO struct {
	ID              uuid.UUID  `json:"id"`
	TenantID        string     `json:"tenant_id"`
	Name            string     `json:"name"`
	Workflow        string     `json:"workflow"`
	WorkflowVersion *int       `json:"workflow_version"`
	Cron            string     `json:"cron"`
	Timezone        string     `json:"timezone"`
	Enabled         bool       `json:"enabled"`
	Catchup         string     `json:"catchup"`
	MaxCatchup      int        `json:"max_catchup"`
	Overlap         string     `json:"overlap"`
	Partition       string     `json:"partition"`
	NextTickAt      *Time      `json:"next_tick_at"`
	LastTickAt      *Time      `json:"last_tick_at"`
	LastRunID       *uuid.UUID `json:"last_run_id"`
	CreatedAt       Time       `json:"created_at"`
	UpdatedAt       Time       `json:"updated_at"`
}

func scheduleDTO(s *domain.Schedule) ScheduleDTO {
	return ScheduleDTO{
		ID: s.ID, TenantID: s.TenantID, Name: s.Name, Workflow: s.WorkflowName, WorkflowVersion: s.WorkflowVersion,
		Cron: s.Cron, Timezone: s.Timezone, Enabled: s.Enabled, Catchup: string(s.Catchup), MaxCatchup: s.MaxCatchup,
		Overlap: string(s.Overlap), Partition: string(s.Partition),
		NextTickAt: TimePtrOf(s.NextTickAt), LastTickAt: TimePtrOf(s.LastTickAt), LastRunID: s.LastRunID,
		CreatedAt: TimeOf(s.CreatedAt), UpdatedAt: TimeOf(s.UpdatedAt),
	}
}

// ScheduleTickDTO is one tick of a schedule on the wire.
type ScheduleTickDTO struct {
	TickAt    Time       `json:"tick_at"`
	Status    string     `json:"status"`
	RunID     *uuid.UUID `json:"run_id"`
	Reason    string     `json:"reason"`
	CreatedAt Time       `json:"created_at"`
}

// scheduleRequest creates a schedule; inline on a workflow, name and
// workflow may be left out.
type scheduleRequest struct {
	Name            string `json:"name"`
	Workflow        string `json:"workflow"`
	WorkflowVersion *int   `json:"workflow_version"`
	Cron            string `json:"cron"`
	Timezone        string `json:"timezone"`
	Enabled         *bool  `json:"enabled"`
	Catchup         string `json:"catchup"`
	MaxCatchup      int    `json:"max_catchup"`
	Overlap         string `json:"overlap"`
	Partition       string `json:"partition"`
}

func (r *scheduleRequest) input() schedule.Input {
	return schedule.Input{
		Name: r.Name, Workflow: r.Workflow, WorkflowVersion: r.WorkflowVersion, Cron: r.Cron, Timezone: r.Timezone,
		Enabled: r.Enabled, Catchup: domain.Catchup(r.Catchup), MaxCatchup: r.MaxCatchup,
		Overlap: domain.Overlap(r.Overlap), Partition: domain.PartitionRule(r.Partition),
	}
}

type patchScheduleRequest struct {
	Cron            *string `json:"cron"`
	Timezone        *string `json:"timezone"`
	Enabled         *bool   `json:"enabled"`
	Catchup         *string `json:"catchup"`
	MaxCatchup      *int    `json:"max_catchup"`
	Overlap         *string `json:"overlap"`
	Partition       *string `json:"partition"`
	WorkflowVersion *int    `json:"workflow_version"`
}

type scheduleEnvelope struct {
	Schedule ScheduleDTO `json:"schedule"`
}

type scheduleList struct {
	Schedules []ScheduleDTO `json:"schedules"`
	Total     int64         `json:"total"`
	// TotalIsEstimate is true when total is an estimate: the listing runs
	// on more than 1,000 rows past the offset and count=exact was not asked.
	TotalIsEstimate bool    `json:"total_is_estimate"`
	Limit           int     `json:"limit"`
	Offset          int     `json:"offset"`
	NextCursor      *string `json:"next_cursor"`
}

type tickList struct {
	Ticks []ScheduleTickDTO `json:"ticks"`
}

// scheduleAPI serves /schedules; without a schedule service its routes
// answer 503.
type scheduleAPI struct {
	svc *schedule.Service
}

func (a *api) mountSchedules(g *echo.Group, svc *schedule.Service) {
	h := &scheduleAPI{svc: svc}
	g.GET("/schedules", h.list)
	g.POST("/schedules", h.create)
	g.GET("/schedules/:schedule", h.get)
	g.PATCH("/schedules/:schedule", h.update)
	g.DELETE("/schedules/:schedule", h.delete)
	g.GET("/schedules/:schedule/ticks", h.ticks)
}

func (h *scheduleAPI) available() error {
	if h.svc == nil {
		return featureOff("schedules")
	}
	return nil
}

// featureOff answers 503 for a feature this server was built without.
func featureOff(what string) error {
	return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: what + " are not enabled on this server"}
}

func (h *scheduleAPI) list(c echo.Context) error {
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
	out := scheduleList{Schedules: make([]ScheduleDTO, len(l.Items)), Total: l.Total, TotalIsEstimate: l.TotalIsEstimate, Limit: l.Limit, Offset: l.Offset, NextCursor: nextCursor(l.NextCursor)}
	for i := range l.Items {
		out.Schedules[i] = scheduleDTO(&l.Items[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (h *scheduleAPI) create(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	var req scheduleRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	sc, err := h.svc.Create(c.Request().Context(), req.input())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, scheduleEnvelope{Schedule: scheduleDTO(sc)})
}

func (h *scheduleAPI) get(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	ref, err := pathRef(c, "schedule")
	if err != nil {
		return err
	}
	sc, err := h.svc.Resolve(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, scheduleEnvelope{Schedule: scheduleDTO(sc)})
}

func (h *scheduleAPI) update(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	var req patchScheduleRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	ref, err := pathRef(c, "schedule")
	if err != nil {
		return err
	}
	p := schedule.Patch{Cron: req.Cron, Timezone: req.Timezone, Enabled: req.Enabled, MaxCatchup: req.MaxCatchup, WorkflowVersion: req.WorkflowVersion}
	if req.Catchup != nil {
		v := domain.Catchup(*req.Catchup)
		p.Catchup = &v
	}
	if req.Overlap != nil {
		v := domain.Overlap(*req.Overlap)
		p.Overlap = &v
	}
	if req.Partition != nil {
		v := domain.PartitionRule(*req.Partition)
		p.Partition = &v
	}
	sc, err := h.svc.Update(c.Request().Context(), ref, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, scheduleEnvelope{Schedule: scheduleDTO(sc)})
}

func (h *scheduleAPI) delete(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	ref, err := pathRef(c, "schedule")
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.Request().Context(), ref); err != nil {
		return err
	}
	return noContent(c)
}

func (h *scheduleAPI) ticks(c echo.Context) error {
	if err := h.available(); err != nil {
		return err
	}
	ref, err := pathRef(c, "schedule")
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", domain.DefaultLimit, 1, domain.MaxLimit)
	if err != nil {
		return err
	}
	ts, err := h.svc.Ticks(c.Request().Context(), ref, limit)
	if err != nil {
		return err
	}
	out := tickList{Ticks: make([]ScheduleTickDTO, len(ts))}
	for i, t := range ts {
		out.Ticks[i] = ScheduleTickDTO{TickAt: TimeOf(t.TickAt), Status: string(t.Status), RunID: t.RunID, Reason: t.Reason, CreatedAt: TimeOf(t.CreatedAt)}
	}
	return c.JSON(http.StatusOK, out)
}

// createWorkflowWithSchedule creates a workflow version and its inline
// schedule together. The schedule's workflow is the new one; its name
// defaults to the workflow's.
func (a *api) createWorkflowWithSchedule(c echo.Context, in service.CreateWorkflowInput, req *scheduleRequest) error {
	if a.sched == nil {
		return featureOff("schedules")
	}
	if req.Workflow != "" && req.Workflow != in.Name {
		return domain.Invalid("schedule.workflow", "an inline schedule runs the workflow it is part of; leave workflow out")
	}
	w, sc, err := a.sched.CreateWithWorkflow(c.Request().Context(), in, req.input())
	if err != nil {
		return err
	}
	names, err := a.assetNames(c, *w)
	if err != nil {
		return err
	}
	dto := scheduleDTO(sc)
	return c.JSON(http.StatusCreated, workflowEnvelope{Workflow: workflowDTO(w, names), Schedule: &dto})
}
