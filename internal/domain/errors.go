package domain

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sentinel errors. Every layer wraps one of these so callers can match with
// errors.Is and the HTTP layer can map them to a status in one place.
var (
	// ErrNotFound means the row does not exist or is not visible to the caller.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change clashes with existing state: a duplicate,
	// a dependency cycle, an illegal state transition or a lost race.
	ErrConflict = errors.New("conflict")
	// ErrPreconditionFailed means the row changed since the caller read it:
	// the version it named (an HTTP If-Match) is no longer the current one.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrInvalid means the input failed validation.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden means the caller's scope may not perform the operation.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated means the caller's credentials are missing, unknown
	// or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable means the database could not serve the request now: it
	// is down, restarting, refusing connections or out of them, or it did
	// not answer before the request's context ended. Trying again later may
	// succeed; it is never the caller's mistake nor a bug.
	ErrUnavailable = errors.New("unavailable")
)

// ErrNoRows is how a repository reports that a row it was asked for is
// absent or not visible in the caller's scope, in its own terms: it names a
// row, not a resource of the API. The service turns it into a
// NotFoundError (NameNotFound). It matches ErrNotFound, so that a caller
// that only asks whether the row was there reads both the same way.
var ErrNoRows = fmt.Errorf("no such row: %w", ErrNotFound)

// NotFoundError says which resource the caller asked for and could not
// see: one that does not exist and one of another tenant read the same.
// It matches ErrNotFound with errors.Is; the HTTP answer says "not found"
// and no more.
type NotFoundError struct {
	// Resource names the kind of thing: "asset", "workflow", "run", ...
	Resource string
	// Ref is the id or name asked for; empty when there is none to tell.
	Ref string
}

// NewNotFound returns a *NotFoundError for the resource and reference.
func NewNotFound(resource, ref string) error {
	return &NotFoundError{Resource: resource, Ref: ref}
}

// Error implements error: the resource, the reference when known, and
// "not found".
func (e *NotFoundError) Error() string {
	if e.Ref == "" {
		return e.Resource + " not found"
	}
	return e.Resource + " " + strconv.Quote(e.Ref) + " not found"
}

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// NameNotFound turns a repository's ErrNoRows into a *NotFoundError for
// the resource and reference the caller asked for; any other error
// (a NotFoundError already named by an inner call too) and nil are
// returned as they are.
func NameNotFound(err error, resource, ref string) error {
	if err == nil || !errors.Is(err, ErrNoRows) {
		return err
	}
	return &NotFoundError{Resource: resource, Ref: ref}
}

// ValidationError lists the fields that failed validation. It matches
// ErrInvalid with errors.Is.
type ValidationError struct {
	// Fields maps a field name (its JSON name) to what is wrong with it.
	Fields map[string]string
}

// Error implements error.
func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Validator collects field errors; Err returns nil when there are none.
type Validator struct {
	fields map[string]string
}

// Add records a problem with field unless one is already recorded.
func (v *Validator) Add(field, format string, args ...any) {
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, ok := v.fields[field]; !ok {
		v.fields[field] = fmt.Sprintf(format, args...)
	}
}

// Check records a problem with field when ok is false.
func (v *Validator) Check(ok bool, field, format string, args ...any) {
	if !ok {
		v.Add(field, format, args...)
	}
}

// Err returns a *ValidationError holding the recorded problems, or nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}

// Invalid returns a validation error for a single field.
func Invalid(field, format string, args ...any) error {
	var v Validator
	v.Add(field, format, args...)
	return v.Err()
}
