package domain

import (
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Severity says how much a failed check matters. Only an error can block.
type Severity string

// Check severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	return s == SeverityError || s == SeverityWarning || s == SeverityInfo
}

// CheckOutcome is how one evaluation of a check ended.
type CheckOutcome string

// Check outcomes.
const (
	CheckPassed  CheckOutcome = "passed"
	CheckFailed  CheckOutcome = "failed"
	CheckSkipped CheckOutcome = "skipped"
	CheckError   CheckOutcome = "error"
)

// Valid reports whether o is a known outcome.
func (o CheckOutcome) Valid() bool {
	switch o {
	case CheckPassed, CheckFailed, CheckSkipped, CheckError:
		return true
	}
	return false
}

// Limits on checks and their results.
const (
	// MaxCheckTypeBytes caps a check's type definition as JSON.
	MaxCheckTypeBytes = 16 << 10
	// MaxCheckDetailsBytes caps a result's details as JSON.
	MaxCheckDetailsBytes = 64 << 10
	// MaxCheckMessageLen caps a result's message.
	MaxCheckMessageLen = 8192
)

// CheckType is a check's definition: an object tagged by "type", kept as
// the client sent it (see ParseCheckType) so that it reads back unchanged.
type CheckType struct {
	// Kind is the value of "type".
	Kind string
	// Raw is the whole object as compact JSON.
	Raw json.RawMessage
}

// MarshalJSON implements json.Marshaler.
func (t CheckType) MarshalJSON() ([]byte, error) {
	if len(t.Raw) == 0 {
		return []byte("null"), nil
	}
	return t.Raw, nil
}

// Check is a data-quality expectation on one asset of the tenant. The step
// that builds the asset evaluates it and reports the outcome; Servo stores
// the outcome and, for an enabled blocking check of severity error, fails
// the step when it did not pass.
type Check struct {
	ID          uuid.UUID
	TenantID    string
	AssetID     uuid.UUID
	AssetName   string
	Name        string
	Description string
	Type        CheckType
	Severity    Severity
	Blocking    bool
	Enabled     bool
	Tags        []string
	Owner       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Blocks reports whether an outcome of the check fails the attempt that
// reported it: the check is enabled and blocking, its severity is error and
// the outcome is failed or error.
func (c *Check) Blocks(o CheckOutcome) bool {
	return c.Enabled && c.Blocking && c.Severity == SeverityError && (o == CheckFailed || o == CheckError)
}

// Normalize fills defaults before validation.
func (c *Check) Normalize() {
	if c.Severity == "" {
		c.Severity = SeverityError
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
}

// Validate checks a check before it is stored. Its type is validated when
// parsed (ParseCheckType).
func (c *Check) Validate() error {
	var v Validator
	checkName(&v, "name", c.Name)
	v.Check(c.Severity.Valid(), "severity", "must be one of error, warning, info")
	v.Check(c.Type.Kind != "" && len(c.Type.Raw) > 0, "check_type", "is required")
	checkCommon(&v, c.Description, c.Owner, c.Tags)
	return v.Err()
}

// CheckPatch is a partial update; nil fields are left as they are.
type CheckPatch struct {
	AssetID     *uuid.UUID
	Name        *string
	Description *string
	Type        *CheckType
	Severity    *Severity
	Blocking    *bool
	Enabled     *bool
	Tags        *[]string
	Owner       *string
}

// Apply copies the set fields of p onto c.
func (p CheckPatch) Apply(c *Check) {
	if p.AssetID != nil {
		c.AssetID = *p.AssetID
	}
	if p.Name != nil {
		c.Name = *p.Name
	}
	if p.Description != nil {
		c.Description = *p.Description
	}
	if p.Type != nil {
		c.Type = *p.Type
	}
	if p.Severity != nil {
		c.Severity = *p.Severity
	}
	if p.Blocking != nil {
		c.Blocking = *p.Blocking
	}
	if p.Enabled != nil {
		c.Enabled = *p.Enabled
	}
	if p.Tags != nil {
		c.Tags = *p.Tags
	}
	if p.Owner != nil {
		c.Owner = *p.Owner
	}
}

// CheckFilter narrows a check listing. Nil or empty fields do not filter.
type CheckFilter struct {
	AssetID     *uuid.UUID
	EnabledOnly bool
	Severity    Severity
}

// CheckResultSource says who reported a result.
type CheckResultSource string

// Result sources.
const (
	// SourceStep: the step reported it (its results file or http body), or
	// the worker stored it as skipped when the step reported nothing.
	SourceStep CheckResultSource = "step"
	// SourceAPI: posted to the run through the API.
	SourceAPI CheckResultSource = "api"
)

// CheckResult is one outcome of one check in one attempt of a run.
type CheckResult struct {
	ID       uuid.UUID
	TenantID string
	RunID    uuid.UUID
	Attempt  int
	// CheckID is nil once the check is deleted; Name keeps what it was.
	CheckID  *uuid.UUID
	Name     string
	Outcome  CheckOutcome
	Severity Severity
	Blocking bool
	// Blocked reports that this result turned a successful attempt into a
	// failed one.
	Blocked     bool
	RowsChecked *int64
	RowsFailed  *int64
	Message     string
	// Details is a JSON value of at most MaxCheckDetailsBytes, or nil.
	Details    json.RawMessage
	DurationMS *int64
	ExecutedAt time.Time
	Source     CheckResultSource
	CreatedAt  time.Time
}

// Validate checks a result before it is stored.
func (r *CheckResult) Validate() error {
	var v Validator
	checkName(&v, "check_name", r.Name)
	v.Check(r.Outcome.Valid(), "outcome", "must be one of passed, failed, skipped, error")
	v.Check(r.Severity.Valid(), "severity", "must be one of error, warning, info")
	v.Check(r.Attempt >= 1, "attempt", "must be at least 1")
	v.Check(r.RowsChecked == nil || *r.RowsChecked >= 0, "rows_checked", "must not be negative")
	v.Check(r.RowsFailed == nil || *r.RowsFailed >= 0, "rows_failed", "must not be negative")
	v.Check(r.DurationMS == nil || *r.DurationMS >= 0, "duration_ms", "must not be negative")
	v.Check(utf8.RuneCountInString(r.Message) <= MaxCheckMessageLen && validLongText(r.Message), "message", "must be at most %d printable characters", MaxCheckMessageLen)
	v.Check(len(r.Details) <= MaxCheckDetailsBytes, "details", "must be at most %d bytes of JSON", MaxCheckDetailsBytes)
	v.Check(r.Source == SourceStep || r.Source == SourceAPI, "source", "unknown source")
	return v.Err()
}

// CheckResultFilter selects results: of a run (its steps' too, when it is a
// workflow run), or of one check.
type CheckResultFilter struct {
	RunIDs  []uuid.UUID
	CheckID *uuid.UUID
	// Limit caps the rows returned, newest first; 0 means no cap.
	Limit int
}

// CheckStatus is the latest outcome of one check.
type CheckStatus struct {
	CheckID    uuid.UUID
	AssetID    uuid.UUID
	Outcome    CheckOutcome
	ExecutedAt time.Time
}

// CheckRepository stores checks and their results for the scope's tenant.
type CheckRepository interface {
	CheckCreate(ctx context.Context, c *Check) error
	CheckGet(ctx context.Context, id uuid.UUID) (*Check, error)
	CheckList(ctx context.Context, f CheckFilter, p Page) (List[Check], error)
	// CheckListForAsset returns every check of an asset, by name.
	CheckListForAsset(ctx context.Context, assetID uuid.UUID) ([]Check, error)
	// CheckUpdate locks the row, lets fn change it and stores the result.
	CheckUpdate(ctx context.Context, id uuid.UUID, fn func(*Check) error) (*Check, error)
	CheckDelete(ctx context.Context, id uuid.UUID) error
	CheckResultCreate(ctx context.Context, r *CheckResult) error
	// CheckResultList returns the results f selects, newest first.
	CheckResultList(ctx context.Context, f CheckResultFilter) ([]CheckResult, error)
	// CheckResultMarkBlocked sets blocked on the given results.
	CheckResultMarkBlocked(ctx context.Context, ids []uuid.UUID) error
	// CheckLatest returns the latest outcome of every check of the given
	// assets that has one.
	CheckLatest(ctx context.Context, assetIDs []uuid.UUID) ([]CheckStatus, error)
}
