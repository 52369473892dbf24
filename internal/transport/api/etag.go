package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
)

// CodePreconditionFailed is the error code of a 412: an If-Match named a
// version that is no longer current.
const CodePreconditionFailed = "precondition_failed"

// etag is the strong entity tag of one version of a row: a hash of its id
// and its updated_at, which every update sets (to the microsecond), so
// that the tag changes with every update and says nothing about the row.
func etag(id uuid.UUID, updatedAt time.Time) string {
	// id.String() + "@" + updatedAt.UTC().Format(time.RFC3339Nano), hashed,
	// built in buffers on the stack: every read of a row answers its tag.
	var in [36 + 1 + 64]byte
	n := hex.Encode(in[:], id[:4])
	for _, part := range [][]byte{id[4:6], id[6:8], id[8:10], id[10:]} {
		in[n] = '-'
		n++
		n += hex.Encode(in[n:], part)
	}
	in[n] = '@'
	b := updatedAt.UTC().AppendFormat(in[:n+1], time.RFC3339Nano)
	sum := sha256.Sum256(b)
	var out [2 + 32]byte
	out[0], out[len(out)-1] = '"', '"'
	hex.Encode(out[1:], sum[:16])
	return string(out[:])
}

func assetETag(a *domain.Asset) string       { return etag(a.ID, a.UpdatedAt) }
func workflowETag(w *domain.Workflow) string { return etag(w.ID, w.UpdatedAt) }

// ifMatches reports whether the If-Match header value header admits the
// current tag: "*", or a list of strong tags one of which is current. Weak
// tags (W/"...") never match, as RFC 9110 requires for If-Match.
func ifMatches(header, current string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == current {
			return true
		}
	}
	return false
}

// errPreconditionFailed answers a PATCH whose If-Match is stale.
var errPreconditionFailed = &APIError{Status: http.StatusPreconditionFailed, Code: CodePreconditionFailed,
	Message: "the resource changed since you read it: GET it again and retry with its new ETag"}

// precondition returns the check an update must pass for the request's
// If-Match header, or nil when it sent none (the last write wins).
func precondition[T any](c echo.Context, tag func(*T) string) func(*T) error {
	header := c.Request().Header.Get("If-Match")
	if header == "" {
		return nil
	}
	return func(current *T) error {
		if !ifMatches(header, tag(current)) {
			return errPreconditionFailed
		}
		return nil
	}
}

// headerETag names the response header that carries a row's version.
const headerETag = "ETag"
