package domain

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// LineageEvent is one OpenLineage event as a tenant sent it, kept for the
// history of the run it concerns and deleted once older than the retention.
// Its Hash, of the event's canonical JSON, makes a second copy of the same
// event recognisable.
type LineageEvent struct {
	ID       uuid.UUID `json:"id"`
	TenantID string    `json:"tenant_id"`
	// RunID is the run the event concerns; nil for dataset and job
	// events.
	RunID *uuid.UUID `json:"run_id"`
	// Kind is RunEvent, DatasetEvent or JobEvent.
	Kind string `json:"kind"`
	// EventType is the run transition the event reports (START, COMPLETE,
	// ...); empty when the event names none.
	EventType string `json:"event_type"`
	// EventTime is the event's eventTime, in UTC.
	EventTime time.Time `json:"event_time"`
	// Hash is the hex SHA-256 of Body.
	Hash string `json:"hash"`
	// Body is the event's canonical JSON: as sent, keys sorted.
	Body json.RawMessage `json:"event"`
	// Warnings lists what a lenient reading forgave and what the mapping
	// could not do (an edge that would close a cycle, a finished run that a
	// later event could not move).
	Warnings []string `json:"warnings"`
	// ReceivedAt is when Servo stored the event; the retention counts from it.
	ReceivedAt time.Time `json:"received_at"`
}

// MaxLineageEventsPage caps one page of a run's lineage events.
const MaxLineageEventsPage = 1000

// LineageEventRepository stores the raw OpenLineage events of the scope's
// tenant.
type LineageEventRepository interface {
	// LineageEventCreate stores e. An event whose Hash the tenant already
	// holds is ErrConflict.
	LineageEventCreate(ctx context.Context, e *LineageEvent) error
	// LineageEventGetByHash returns the tenant's event with the given hash.
	LineageEventGetByHash(ctx context.Context, hash string) (*LineageEvent, error)
	// LineageEventListForRun returns one page of a run's events in eventTime
	// order, ties in the order they were received.
	LineageEventListForRun(ctx context.Context, executionID uuid.UUID, p Page) ([]LineageEvent, error)
	// LineageEventLatestTime returns the latest eventTime among a run's
	// events of the given type, and false when it has none.
	LineageEventLatestTime(ctx context.Context, executionID uuid.UUID, eventType string) (time.Time, bool, error)
	// LineageEventDeleteReceivedBefore deletes the tenant's events received
	// before t and reports how many went.
	LineageEventDeleteReceivedBefore(ctx context.Context, t time.Time) (int64, error)
}
