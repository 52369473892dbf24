package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// MaxBodyBytes caps request bodies.
const MaxBodyBytes = 1 << 20

// decodeJSON reads the request body into dst strictly: the media type must
// be JSON (415), the body at most MaxBodyBytes (413), and it must hold one
// JSON value of the right shape with no unknown fields (400). An empty body
// counts as {} when allowEmpty is set.
func decodeJSON(c echo.Context, dst any, allowEmpty bool) error {
	req := c.Request()
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("request body over %d bytes", MaxBodyBytes)}
		}
		return badRequest("could not read the request body", nil)
	}
	if len(body) > MaxBodyBytes {
		return &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("request body over %d bytes", MaxBodyBytes)}
	}
	if err := checkUTF8Body(body); err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return badRequest("a JSON body is required", nil)
	}
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return &APIError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "send JSON with Content-Type: application/json"}
		}
	} else {
		return &APIError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "send JSON with Content-Type: application/json"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badRequest("the body must hold exactly one JSON value", nil)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body must hold exactly one JSON value", nil)
	}
	return nil
}

// jsonError explains a decoding failure without echoing the body.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d", se.Offset), nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("truncated JSON", nil)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return badRequest(fmt.Sprintf("field %q must be %s", field, jsonKind(te.Type.Kind().String())), map[string]any{field: "wrong type"})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(fmt.Sprintf("unknown field %q", name), map[string]any{name: "unknown field"})
	}
	return badRequest("malformed JSON", nil)
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	case "ptr":
		return "a value of another type"
	}
	return "a number"
}

// queryInt reads an optional integer query parameter within [lo, hi].
func queryInt(c echo.Context, name string, def, lo, hi int) (int, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(fmt.Sprintf("query parameter %q must be an integer from %d to %d", name, lo, hi), map[string]any{name: "out of range"})
	}
	return n, nil
}

// checkUTF8Body refuses a body that is not valid UTF-8 or whose JSON
// strings hold a lone UTF-16 surrogate escape (such as "\ud800"):
// encoding/json would quietly store U+FFFD in place of either, text the
// client never sent.
func checkUTF8Body(body []byte) error {
	if !utf8.Valid(body) {
		return badRequest("the body is not valid UTF-8", nil)
	}
	if at := loneSurrogate(body); at >= 0 {
		return badRequest(fmt.Sprintf("the body is not valid UTF-8: a lone UTF-16 surrogate escape at byte %d", at), nil)
	}
	return nil
}

// loneSurrogate returns the offset of the first \uXXXX escape in b that is
// a surrogate (D800-DFFF) not part of a high-low pair, or -1. Backslashes
// only occur inside JSON strings, so a scan of the raw bytes is exact for
// valid JSON; for invalid JSON the decoder reports its own error anyway.
func loneSurrogate(b []byte) int {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
		return rune(n), err == nil
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if lo, ok := hex4(i + 6); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				i += 11
				continue
			}
			return i
		case r >= 0xDC00 && r <= 0xDFFF:
			return i
		}
		i += 5
	}
	return -1
}

// queryText reads an optional text query parameter of at most max
// characters; a longer one is 400, never a truncated or failed filter.
func queryText(c echo.Context, name string, max int) (string, error) {
	v := c.QueryParam(name)
	if utf8.RuneCountInString(v) > max {
		return "", badRequest(fmt.Sprintf("query parameter %q must be at most %d characters", name, max), map[string]any{name: "too long"})
	}
	return v, nil
}

// pathID reads a path parameter that must be a UUID.
func pathID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, badRequest(fmt.Sprintf("path parameter %q must be a UUID", name), map[string]any{name: "not a UUID"})
	}
	return id, nil
}
