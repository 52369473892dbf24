package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
)

// MaxLineageBodyBytes caps the bodies of the OpenLineage routes, which are
// larger than the rest of the API's (MaxBodyBytes): a batch of events, or
// one event with big facets (a Spark plan, a column lineage).
const MaxLineageBodyBytes = 10 << 20

// MaxLineageBatch caps the events of one batch.
const MaxLineageBatch = 1000

// lineageAPI serves OpenLineage ingestion and a run's raw events.
type lineageAPI struct {
	ing *openlineage.Ingester
	log *zap.Logger
}

// mountOpenLineage registers the OpenLineage routes. Without an ingester
// they answer 503: the routes exist whatever the options, as the OpenAPI
// document says. heavy limits each tenant's requests in flight, bodies the
// bytes decoded at once, budget each tenant's share of the time spent
// ingesting.
func (a *api) mountOpenLineage(g *echo.Group, ing *openlineage.Ingester, log *zap.Logger, heavy, bodies, budget echo.MiddlewareFunc) {
	h := &lineageAPI{ing: ing, log: log}
	g.POST("/lineage", h.ingest, heavy, bodies, budget)
	g.POST("/lineage/batch", h.ingestBatch, heavy, bodies, budget)
	for _, prefix := range []string{"/runs", "/executions"} {
		g.GET(prefix+"/:id/lineage-events", h.runEvents, heavy)
	}
}

// LineageOutcomeDTO says what an accepted event did.
type LineageOutcomeDTO struct {
	Duplicate  bool       `json:"duplicate"`
	Kind       string     `json:"kind"`
	EventID    uuid.UUID  `json:"event_id"`
	RunID      *uuid.UUID `json:"run_id"`
	RunState   *string    `json:"run_state"`
	WorkflowID *uuid.UUID `json:"workflow_id"`
	Warnings   []string   `json:"warnings"`
}

// LineageResultDTO answers POST /lineage.
type LineageResultDTO struct {
	OK bool `json:"ok"`
	LineageOutcomeDTO
}

// LineageBatchItemDTO is the result of one event of a batch: its outcome
// when ok, its error otherwise.
type LineageBatchItemDTO struct {
	Index int  `json:"index"`
	OK    bool `json:"ok"`
	*LineageOutcomeDTO
	Error *ErrorDetail `json:"error,omitempty"`
}

// LineageBatchDTO answers POST /lineage/batch.
type LineageBatchDTO struct {
	Results []LineageBatchItemDTO `json:"results"`
}

// LineageEventsDTO answers GET /runs/{id}/lineage-events.
type LineageEventsDTO struct {
	Events []json.RawMessage `json:"events"`
}

func lineageOutcome(r *openlineage.Result) *LineageOutcomeDTO {
	out := &LineageOutcomeDTO{
		Duplicate: r.Duplicate, Kind: string(r.Kind), EventID: r.EventID, RunID: r.RunID,
		WorkflowID: r.WorkflowID, Warnings: r.Warnings,
	}
	if r.RunState != "" {
		s := string(r.RunState)
		out.RunState = &s
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return out
}

// ready refuses requests the routes cannot serve: without an ingester, and
// in the system scope, which owns no run or asset.
func (h *lineageAPI) ready(c echo.Context) error {
	if h.ing == nil {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "OpenLineage ingestion is not enabled on this server"}
	}
	if p, ok := PrincipalFrom(c.Request().Context()); ok && p.Scope.IsSystem() {
		return &APIError{Status: http.StatusForbidden, Code: CodeForbidden, Message: "OpenLineage events belong to a tenant: use a tenant's API key, not the admin key"}
	}
	return nil
}

// readLineageBody reads a body of at most MaxLineageBodyBytes that is one
// JSON value and returns its text: the events are read from the text (see
// openlineage.Ingester.IngestJSON), never decoded whole.
func readLineageBody(c echo.Context) ([]byte, error) {
	req := c.Request()
	tooLarge := &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("request body over %d bytes", MaxLineageBodyBytes)}
	// Read into a buffer of the announced size: io.ReadAll's doubling
	// would allocate about twice a large body.
	var buf bytes.Buffer
	if n := req.ContentLength; n > 0 && n <= MaxLineageBodyBytes {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(req.Body, MaxLineageBodyBytes+1))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, badRequest("could not read the request body", nil)
	}
	if len(body) > MaxLineageBodyBytes {
		return nil, tooLarge
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
		return nil, &APIError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "send JSON with Content-Type: application/json"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("a JSON body is required", nil)
	}
	if err := checkUTF8Body(body); err != nil {
		return nil, err
	}
	if json.Valid(body) {
		return body, nil
	}
	// Not one valid JSON value: say why as the decoder does, without
	// building the value.
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&skipJSON{}); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("the body must hold exactly one JSON value", nil)
	}
	return nil, badRequest("malformed JSON", nil)
}

// skipJSON decodes any JSON value into nothing.
type skipJSON struct{}

// UnmarshalJSON implements json.Unmarshaler.
func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// firstByte returns the first byte of JSON text that is not white space.
func firstByte(b []byte) byte {
	if b = bytes.TrimLeft(b, " \t\r\n"); len(b) > 0 {
		return b[0]
	}
	return 0
}

// lineageError gives a schema failure its details: each failing location,
// as a JSON pointer fragment into the event, with what is wrong there.
func (h *lineageAPI) lineageError(err error) error {
	var se *openlineage.SchemaError
	if !errors.As(err, &se) {
		return err
	}
	details := make(map[string]any, len(se.Problems))
	for _, p := range se.Problems {
		if prev, ok := details[p.Path].(string); ok {
			details[p.Path] = prev + "; " + p.Message
		} else {
			details[p.Path] = p.Message
		}
	}
	return &APIError{
		Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Details: details,
		Message: fmt.Sprintf("the event is not a valid OpenLineage %s (schema %s, %s mode)", se.Kind, openlineage.SpecURL, h.ing.Mode()),
	}
}

func (h *lineageAPI) ingest(c echo.Context) error {
	if err := h.ready(c); err != nil {
		return err
	}
	raw, err := readLineageBody(c)
	if err != nil {
		return err
	}
	if firstByte(raw) != '{' {
		return badRequest("the body must be one OpenLineage event, a JSON object; send arrays of events to "+APIPrefix+"/lineage/batch", nil)
	}
	res, err := h.ing.IngestJSON(c.Request().Context(), raw)
	if err != nil {
		return h.lineageError(err)
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, LineageResultDTO{OK: true, LineageOutcomeDTO: *lineageOutcome(res)})
}

func (h *lineageAPI) ingestBatch(c echo.Context) error {
	if err := h.ready(c); err != nil {
		return err
	}
	raw, err := readLineageBody(c)
	if err != nil {
		return err
	}
	if firstByte(raw) != '[' {
		return badRequest("the body must be a JSON array of OpenLineage events", nil)
	}
	list, err := openlineage.SplitBatch(raw)
	if err != nil {
		return badRequest("the body must be a JSON array of OpenLineage events", nil)
	}
	if len(list) > MaxLineageBatch {
		return domain.Invalid("body", "the batch holds %d events; send at most %d per request", len(list), MaxLineageBatch)
	}
	outcomes := h.ing.IngestBatch(c.Request().Context(), list)
	out := LineageBatchDTO{Results: make([]LineageBatchItemDTO, len(list))}
	for i, o := range outcomes {
		switch {
		case errors.Is(o.Err, openlineage.ErrNotAttempted):
			// Out of time: nothing of this event was written.
			out.Results[i] = LineageBatchItemDTO{Index: i, Error: notStored("not attempted: the request ran out of time")}
		case o.Err != nil:
			out.Results[i] = LineageBatchItemDTO{Index: i, Error: h.itemError(c, i, o.Err)}
		default:
			out.Results[i] = LineageBatchItemDTO{Index: i, OK: true, LineageOutcomeDTO: lineageOutcome(o.Result)}
		}
	}
	return c.JSON(http.StatusOK, out)
}

// itemError is what a batch says about an event that failed: what the
// single route would have answered, and for a server error only that it was
// one (the cause is logged under the request id).
func (h *lineageAPI) itemError(c echo.Context, i int, err error) *ErrorDetail {
	rid := RequestIDFromContext(c.Request().Context())
	if unavailable(err) {
		// The transaction may have committed as its context ended.
		return notStored("maybe not stored: the database was unavailable or the request ran out of time while storing it")
	}
	ae, ok := toAPIError(h.lineageError(err))
	if !ok {
		if h.log != nil {
			h.log.Error("OpenLineage batch event failed", zap.Int("index", i), zap.String("request_id", rid), zap.Error(err))
		}
		return &ErrorDetail{Code: CodeInternal, Message: http.StatusText(http.StatusInternalServerError), Details: map[string]any{}, RequestID: rid}
	}
	details := ae.Details
	if details == nil {
		details = map[string]any{}
	}
	return &ErrorDetail{Code: ae.Code, Message: ae.Message, Details: details}
}

// notStored is the result of a batch event that was not attempted, or
// whose storing was cut short, for lack of time or database: the client
// resends it (ingestion is idempotent, so resending an event that was
// stored after all changes nothing).
func notStored(why string) *ErrorDetail {
	return &ErrorDetail{Code: CodeUnavailable, Message: why + "; resend this event",
		Details: map[string]any{"retry": true}}
}

func (h *lineageAPI) runEvents(c echo.Context) error {
	if err := h.ready(c); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", domain.MaxLineageEventsPage, 1, domain.MaxLineageEventsPage)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return err
	}
	events, err := h.ing.RunEvents(c.Request().Context(), id, domain.Page{Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	if events == nil {
		events = []json.RawMessage{}
	}
	return c.JSON(http.StatusOK, LineageEventsDTO{Events: events})
}
