package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// HeaderRequestID is the header that carries a request's id, in requests
// and in every response.
const HeaderRequestID = echo.HeaderXRequestID

// maxRequestIDLen caps the length of a request id taken from a client.
const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestIDFromContext returns the request id ctx carries, or "" when it
// carries none.
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID gives every request an id: the client's X-Request-ID when it is
// short and plain, a new UUID otherwise. The id goes back in the response
// header and into the request's context.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			id := req.Header.Get(HeaderRequestID)
			if !validRequestID(id) {
				id = uuid.NewString()
			}
			c.Response().Header().Set(HeaderRequestID, id)
			c.SetRequest(req.WithContext(context.WithValue(req.Context(), requestIDKey{}, id)))
			return next(c)
		}
	}
}

// validRequestID accepts ids of letters, digits and -_.:+/=@, so that a
// client cannot push control characters or megabytes into the logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-', r == '_', r == '.', r == ':', r == '+', r == '/', r == '=', r == '@':
		default:
			return false
		}
	}
	return true
}

// probeRoutes are polled by orchestrators every few seconds; their requests
// are logged at debug level unless they fail.
var probeRoutes = map[string]bool{"/healthz": true, "/readyz": true}

// requestLogger logs one line per request: method, route pattern (not the
// raw path; "unmatched" when no route matched), status, latency in
// milliseconds, response size and request id. It never logs
// bodies, query strings or headers. A handler's error is turned into a
// response here, so the logged status is the one the client got.
func requestLogger(log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			res := c.Response()
			status := res.Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			// Room for the optional fields too: growing the slice would copy
			// it on every authenticated request.
			fields := make([]zap.Field, 0, 8)
			fields = append(fields,
				zap.String("method", c.Request().Method),
				zap.String("route", route),
				zap.Int("status", status),
				zap.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
				zap.Int64("bytes_out", res.Size),
				zap.String("request_id", RequestIDFromContext(c.Request().Context())),
			)
			if p, ok := PrincipalFrom(c.Request().Context()); ok {
				fields = append(fields, zap.String("tenant", p.Scope.String()))
			}
			level := zapcore.InfoLevel
			switch {
			case status >= 500:
				level = zapcore.ErrorLevel
				if probeRoutes[c.Path()] {
					level = zapcore.WarnLevel
				}
				if err != nil {
					fields = append(fields, zap.Error(err))
				}
			case probeRoutes[c.Path()]:
				level = zapcore.DebugLevel
			}
			log.Log(level, "request", fields...)
			return nil
		}
	}
}

// recoverer turns a handler's panic into a 500 and logs it with its stack.
// http.ErrAbortHandler is re-raised: it is how a handler asks net/http to
// abort the response.
func recoverer(log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler { // compared by identity, as net/http does
					panic(r)
				}
				log.Error("panic while handling request",
					zap.Any("panic", r),
					zap.String("route", c.Path()),
					zap.String("request_id", RequestIDFromContext(c.Request().Context())),
					zap.Stack("stack"),
				)
				err = fmt.Errorf("panic: %v", r)
			}()
			return next(c)
		}
	}
}

// errorHandler writes every error as the JSON error body. Domain errors
// and client errors keep their message (toAPIError); anything else becomes a
// bare 500 whose cause is logged by requestLogger and never sent.
func errorHandler(log *zap.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae, ok := toAPIError(err)
		if !ok {
			ae = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: http.StatusText(http.StatusInternalServerError)}
		}
		if ae.Status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "1")
		}
		details := ae.Details
		if details == nil {
			details = map[string]any{}
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(ae.Status)
		} else {
			err = c.JSON(ae.Status, ErrorBody{Error: ErrorDetail{
				Code: ae.Code, Message: ae.Message, Details: details,
				RequestID: RequestIDFromContext(c.Request().Context()),
			}})
		}
		if err != nil {
			log.Warn("write error response", zap.Error(err))
		}
	}
}
