package domain

import (
	"time"

	"github.com/google/uuid"
)

// RunEvent records one state transition of a run.
type RunEvent struct {
	ID       uuid.UUID `json:"id"`
	TenantID string    `json:"tenant_id"`
	RunID    uuid.UUID `json:"run_id"`
	From     State     `json:"from"`
	To       State     `json:"to"`
	At       time.Time `json:"at"`
	Attempt  int       `json:"attempt"`
	Reason   string    `json:"reason"`
}

// RunLog is the kept tail of a run's output.
type RunLog struct {
	RunID   uuid.UUID `json:"run_id"`
	Content string    `json:"content"`
	// Truncated reports that earlier output was dropped.
	Truncated bool      `json:"truncated"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxRunLogBytes is how much output is kept per run: the last 64 KiB.
const MaxRunLogBytes = 64 << 10

// RunLease says which worker runs an attempt and when it last showed it was
// alive. A lease not renewed within the heartbeat timeout marks the attempt
// lost.
type RunLease struct {
	RunID       uuid.UUID
	TenantID    string
	Attempt     int
	WorkerID    string
	HeartbeatAt time.Time
}
