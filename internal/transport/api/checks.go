package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/checks"
)

// mountChecks registers the data-quality check routes and their metrics.
func (a *api) mountChecks(g *echo.Group, reg prometheus.Registerer) {
	for _, c := range a.svc.Checks().Metrics().Collectors() {
		_ = reg.Register(c)
	}
	g.GET("/checks", a.listChecks)
	g.POST("/checks", a.createCheck)
	g.GET("/checks/failing", a.failingAssets)
	g.GET("/checks/:id", a.getCheck)
	g.PATCH("/checks/:id", a.updateCheck)
	g.DELETE("/checks/:id", a.deleteCheck)
	g.GET("/checks/:id/results", a.checkHistory)
	g.GET("/assets/:asset/checks", a.assetChecks)
	g.POST("/assets/:asset/checks/sync", a.syncChecks)
	for _, prefix := range []string{"/runs", "/executions"} {
		g.GET(prefix+"/:id/check-results", a.runCheckResults)
		g.POST(prefix+"/:id/check-results", a.postCheckResults)
	}
}

// CheckDTO is a check on the wire: a flat object, as the servo SDK reads it.
type CheckDTO struct {
	ID          uuid.UUID        `json:"id"`
	AssetID     uuid.UUID        `json:"asset_id"`
	AssetName   string           `json:"asset_name"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	CheckType   domain.CheckType `json:"check_type"`
	Severity    domain.Severity  `json:"severity"`
	Blocking    bool             `json:"blocking"`
	Enabled     bool             `json:"enabled"`
	Tags        []string         `json:"tags"`
	Owner       string           `json:"owner"`
	CreatedAt   Time             `json:"created_at"`
	UpdatedAt   Time             `json:"updated_at"`
}

func checkDTO(c *domain.Check) CheckDTO {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return CheckDTO{
		ID: c.ID, AssetID: c.AssetID, AssetName: c.AssetName, Name: c.Name, Description: c.Description,
		CheckType: c.Type, Severity: c.Severity, Blocking: c.Blocking, Enabled: c.Enabled, Tags: tags,
		Owner: c.Owner, CreatedAt: TimeOf(c.CreatedAt), UpdatedAt: TimeOf(c.UpdatedAt),
	}
}

func checkDTOs(cs []domain.Check) []CheckDTO {
	out := make([]CheckDTO, len(cs))
	for i := range cs {
		out[i] = checkDTO(&cs[i])
	}
	return out
}

func checkETag(c *domain.Check) string { return etag(c.ID, c.UpdatedAt) }

// CheckResultDTO is one check result on the wire. Outcome is repeated as
// status, the name the servo SDK's CheckResult uses.
type CheckResultDTO struct {
	ID          uuid.UUID           `json:"id"`
	RunID       uuid.UUID           `json:"run_id"`
	AssetID     *uuid.UUID          `json:"asset_id,omitempty"`
	AssetName   string              `json:"asset_name,omitempty"`
	Attempt     int                 `json:"attempt"`
	CheckID     *uuid.UUID          `json:"check_id"`
	CheckName   string              `json:"check_name"`
	Outcome     domain.CheckOutcome `json:"outcome"`
	Status      domain.CheckOutcome `json:"status"`
	Severity    domain.Severity     `json:"severity"`
	Blocking    bool                `json:"blocking"`
	Blocked     bool                `json:"blocked"`
	RowsChecked *int64              `json:"rows_checked"`
	RowsFailed  *int64              `json:"rows_failed"`
	Message     string              `json:"message"`
	Details     json.RawMessage     `json:"details"`
	DurationMS  *int64              `json:"duration_ms"`
	Source      string              `json:"source"`
	ExecutedAt  Time                `json:"executed_at"`
}

func checkResultDTO(r *domain.CheckResult) CheckResultDTO {
	details := r.Details
	if len(details) == 0 {
		details = json.RawMessage("null")
	}
	return CheckResultDTO{
		ID: r.ID, RunID: r.RunID, Attempt: r.Attempt, CheckID: r.CheckID, CheckName: r.Name,
		Outcome: r.Outcome, Status: r.Outcome, Severity: r.Severity, Blocking: r.Blocking, Blocked: r.Blocked,
		RowsChecked: r.RowsChecked, RowsFailed: r.RowsFailed, Message: r.Message, Details: details,
		DurationMS: r.DurationMS, Source: string(r.Source), ExecutedAt: TimeOf(r.ExecutedAt),
	}
}

type checkList struct {
	Checks []CheckDTO `json:"checks"`
	Total  int64      `json:"total"`
	// TotalIsEstimate is true when total is an estimate: the listing runs
	// on more than 1,000 rows past the offset and count=exact was not asked.
	TotalIsEstimate bool    `json:"total_is_estimate"`
	Limit           int     `json:"limit"`
	Offset          int     `json:"offset"`
	NextCursor      *string `json:"next_cursor"`
}

type checkResultList struct {
	Results []CheckResultDTO `json:"results"`
}

// createCheckRequest is what the SDK's deploy sends.
type createCheckRequest struct {
	AssetID     string          `json:"asset_id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	CheckType   json.RawMessage `json:"check_type"`
	Severity    string          `json:"severity"`
	Blocking    *bool           `json:"blocking"`
	Enabled     *bool           `json:"enabled"`
	Tags        []string        `json:"tags"`
	Owner       string          `json:"owner"`
}

func (r createCheckRequest) input() checks.Input {
	return checks.Input{Asset: r.AssetID, Name: r.Name, Description: r.Description, Type: r.CheckType,
		Severity: r.Severity, Blocking: r.Blocking, Enabled: r.Enabled, Tags: r.Tags, Owner: r.Owner}
}

type patchCheckRequest struct {
	AssetID     *string          `json:"asset_id"`
	Name        *string          `json:"name"`
	Description *string          `json:"description"`
	CheckType   json.RawMessage  `json:"check_type"`
	Severity    *domain.Severity `json:"severity"`
	Blocking    *bool            `json:"blocking"`
	Enabled     *bool            `json:"enabled"`
	Tags        *[]string        `json:"tags"`
	Owner       *string          `json:"owner"`
}

type syncChecksRequest struct {
	Checks []createCheckRequest `json:"checks"`
	Prune  bool                 `json:"prune"`
}

type syncChecksResponse struct {
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Unchanged []string `json:"unchanged"`
	Deleted   []string `json:"deleted"`
}

func (a *api) createCheck(c echo.Context) error {
	var req createCheckRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	chk, err := a.svc.Checks().Create(c.Request().Context(), req.input())
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, checkETag(chk))
	return c.JSON(http.StatusCreated, checkDTO(chk))
}

// queryBool reads an optional true/false query parameter.
func queryBool(c echo.Context, name string) (bool, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, badRequest("query parameter \""+name+"\" must be true or false", map[string]any{name: "not a boolean"})
	}
	return b, nil
}

func (a *api) listChecks(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	var f domain.CheckFilter
	if f.EnabledOnly, err = queryBool(c, "enabled_only"); err != nil {
		return err
	}
	f.Severity = domain.Severity(c.QueryParam("severity"))
	if ref := c.QueryParam("asset_id"); ref != "" {
		asset, err := a.svc.Checks().ResolveAsset(c.Request().Context(), ref)
		if errors.Is(err, domain.ErrNotFound) {
			// As the run listing's asset filter: no such asset, no checks.
			return c.JSON(http.StatusOK, checkList{Checks: []CheckDTO{}, Limit: p.Limit, Offset: p.Offset})
		}
		if err != nil {
			return err
		}
		f.AssetID = &asset.ID
	}
	list, err := a.svc.Checks().List(c.Request().Context(), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, checkList{Checks: checkDTOs(list.Items), Total: list.Total, TotalIsEstimate: list.TotalIsEstimate, Limit: list.Limit, Offset: list.Offset, NextCursor: nextCursor(list.NextCursor)})
}

func (a *api) getCheck(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	chk, err := a.svc.Checks().Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, checkETag(chk))
	return c.JSON(http.StatusOK, checkDTO(chk))
}

func (a *api) updateCheck(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req patchCheckRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	p := checks.Patch{Asset: req.AssetID, TypeJSON: req.CheckType, CheckPatch: domain.CheckPatch{
		Name: req.Name, Description: req.Description, Severity: req.Severity, Blocking: req.Blocking,
		Enabled: req.Enabled, Tags: req.Tags, Owner: req.Owner,
	}}
	chk, err := a.svc.Checks().Update(c.Request().Context(), id, p, precondition(c, checkETag))
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerETag, checkETag(chk))
	return c.JSON(http.StatusOK, checkDTO(chk))
}

func (a *api) deleteCheck(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.svc.Checks().Delete(c.Request().Context(), id); err != nil {
		return err
	}
	return noContent(c)
}

func (a *api) checkHistory(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", domain.DefaultLimit, 1, domain.MaxLimit)
	if err != nil {
		return err
	}
	rs, err := a.svc.Checks().History(c.Request().Context(), id, limit)
	if err != nil {
		return err
	}
	out := checkResultList{Results: make([]CheckResultDTO, len(rs))}
	for i := range rs {
		out.Results[i] = checkResultDTO(&rs[i])
	}
	return c.JSON(http.StatusOK, out)
}

// assetChecksResponse lists an asset's checks with the latest outcome of
// each.
type assetChecksResponse struct {
	Checks []assetCheckDTO `json:"checks"`
}

type assetCheckDTO struct {
	CheckDTO
	// LastOutcome is the outcome of the check's latest result; null
	// without one.
	LastOutcome *domain.CheckOutcome `json:"last_outcome"`
	LastRunAt   *Time                `json:"last_run_at"`
}

func (a *api) assetChecks(c echo.Context) error {
	ref, err := pathRef(c, "asset")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	asset, cs, err := a.svc.Checks().ForAsset(ctx, ref)
	if err != nil {
		return err
	}
	latest, err := a.svc.Checks().Latest(ctx, []uuid.UUID{asset.ID})
	if err != nil {
		return err
	}
	byCheck := map[uuid.UUID]domain.CheckStatus{}
	for _, st := range latest {
		byCheck[st.CheckID] = st
	}
	out := assetChecksResponse{Checks: make([]assetCheckDTO, len(cs))}
	for i := range cs {
		d := assetCheckDTO{CheckDTO: checkDTO(&cs[i])}
		if st, ok := byCheck[cs[i].ID]; ok {
			o, at := st.Outcome, TimeOf(st.ExecutedAt)
			d.LastOutcome, d.LastRunAt = &o, &at
		}
		out.Checks[i] = d
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) syncChecks(c echo.Context) error {
	ref, err := pathRef(c, "asset")
	if err != nil {
		return err
	}
	var req syncChecksRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.Checks == nil {
		return domain.Invalid("checks", "is required (an empty list with prune removes every check)")
	}
	ins := make([]checks.Input, len(req.Checks))
	for i, r := range req.Checks {
		ins[i] = r.input()
	}
	res, err := a.svc.Checks().Sync(c.Request().Context(), ref, ins, req.Prune)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, syncChecksResponse(*res))
}

func (a *api) runCheckResults(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	all := false
	switch v := c.QueryParam("attempts"); v {
	case "", "latest":
	case "all":
		all = true
	default:
		return badRequest("query parameter \"attempts\" must be latest or all", map[string]any{"attempts": "must be latest or all"})
	}
	rs, err := a.svc.Checks().RunResults(c.Request().Context(), id, all)
	if err != nil {
		return err
	}
	out := checkResultList{Results: make([]CheckResultDTO, len(rs))}
	for i := range rs {
		d := checkResultDTO(&rs[i].CheckResult)
		d.AssetID, d.AssetName = rs[i].AssetID, rs[i].AssetName
		out.Results[i] = d
	}
	return c.JSON(http.StatusOK, out)
}

// postCheckResultsResponse answers results posted to a run.
type postCheckResultsResponse struct {
	Results []CheckResultDTO `json:"results"`
	// Counted says the results count toward the run's blocking decision:
	// false when the run had already ended.
	Counted bool `json:"counted"`
}

func (a *api) postCheckResults(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		CheckResults json.RawMessage `json:"check_results"`
	}
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(req.CheckResults, &entries); err != nil || req.CheckResults == nil {
		return domain.Invalid("check_results", "must be an array of results")
	}
	reps, err := checks.ParseReport(req.CheckResults)
	if err != nil {
		return domain.Invalid("check_results", "%s", err.Error())
	}
	posted, err := a.svc.Checks().PostResults(c.Request().Context(), id, reps)
	if err != nil {
		return err
	}
	out := postCheckResultsResponse{Results: make([]CheckResultDTO, len(posted.Results)), Counted: posted.Counted}
	for i := range posted.Results {
		out.Results[i] = checkResultDTO(&posted.Results[i])
	}
	return c.JSON(http.StatusCreated, out)
}

// failingAssets answers which of the given assets (asset_ids, comma
// separated, at most domain.MaxLimit) have an enabled blocking check of
// severity error whose latest outcome is failed or error: the lineage
// graph marks them.
func (a *api) failingAssets(c echo.Context) error {
	var ids []uuid.UUID
	if raw := c.QueryParam("asset_ids"); raw != "" {
		parts := strings.Split(raw, ",")
		if len(parts) > domain.MaxLimit {
			return badRequest("query parameter \"asset_ids\" names too many assets", map[string]any{"asset_ids": "too many"})
		}
		for _, p := range parts {
			id, err := uuid.Parse(strings.TrimSpace(p))
			if err != nil {
				return badRequest("query parameter \"asset_ids\" must be UUIDs separated by commas", map[string]any{"asset_ids": "not UUIDs"})
			}
			ids = append(ids, id)
		}
	}
	failing, err := a.svc.Checks().FailingAssets(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]uuid.UUID{"asset_ids": failing})
}
