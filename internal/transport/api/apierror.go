package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
)

// Error codes of the error body.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthenticated  = "unauthenticated"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeTooLarge         = "payload_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInvalid          = "validation_failed"
	CodeRateLimited      = "rate_limited"
	CodeInternal         = "internal"
	CodeUnavailable      = "unavailable"
)

// APIError is an error with the status, code and details the client sees.
type APIError struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

// Error implements error.
func (e *APIError) Error() string { return e.Message }

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong. Details carries field errors for
// validation failures; a server error never shows its cause.
type ErrorDetail struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details"`
	RequestID string         `json:"request_id,omitempty"`
}

// errUnavailable is what a client sees when the database cannot serve its
// request now: it is down, restarting, or every pooled connection stayed
// busy for the whole request timeout.
var errUnavailable = &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
	Message: "the database is unavailable or busy; retry shortly"}

// unavailable reports whether err says that the request could not be
// served now, as opposed to a bug: the repository said the database was
// unavailable, or the request's context ended (the request timeout, or the
// client going away). Such errors are 503, never 500.
func unavailable(err error) bool {
	return errors.Is(err, domain.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func badRequest(msg string, details map[string]any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: msg, Details: details}
}

// codeForStatus names the code of a plain HTTP status.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMedia
	case http.StatusUnprocessableEntity:
		return CodeInvalid
	case http.StatusPreconditionFailed:
		return CodePreconditionFailed
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeBadRequest
}

// toAPIError maps any error onto what the client sees. This is the one
// place where domain errors become HTTP statuses. ok is false for errors
// that are not the client's: they become a bare 500.
func toAPIError(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae, true
	}
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		details := make(map[string]any, len(ve.Fields))
		for k, v := range ve.Fields {
			details[k] = v
		}
		return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "validation failed", Details: details}, true
	case errors.Is(err, domain.ErrInvalid):
		return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "the request was rejected: " + err.Error()}, true
	case errors.Is(err, domain.ErrNotFound):
		// Never more than "not found": another tenant's id must read exactly
		// like an id that does not exist.
		return &APIError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "not found"}, true
	case errors.Is(err, domain.ErrPreconditionFailed):
		return errPreconditionFailed, true
	case errors.Is(err, domain.ErrConflict):
		return &APIError{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}, true
	case errors.Is(err, domain.ErrUnauthenticated):
		return &APIError{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "missing, unknown or revoked API key"}, true
	case errors.Is(err, domain.ErrForbidden):
		return &APIError{Status: http.StatusForbidden, Code: CodeForbidden, Message: err.Error()}, true
	}
	var he *echo.HTTPError
	if !errors.As(err, &he) && unavailable(err) {
		return errUnavailable, true
	}
	if errors.As(err, &he) && he.Code < 500 {
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		switch he.Code {
		case http.StatusNotFound:
			msg = "no such route"
		case http.StatusRequestEntityTooLarge:
			msg = "request body too large"
		}
		return &APIError{Status: he.Code, Code: codeForStatus(he.Code), Message: msg}, true
	}
	if errors.As(err, &he) {
		// A server-side HTTP error keeps its status but never its message.
		return &APIError{Status: he.Code, Code: codeForStatus(he.Code), Message: http.StatusText(he.Code)}, true
	}
	return nil, false
}
