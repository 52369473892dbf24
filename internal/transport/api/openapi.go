package api

import (
	"bytes"
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenAPIPath is where the server serves its OpenAPI document.
const OpenAPIPath = APIPrefix + "/openapi.json"

// openAPIDocument is the OpenAPI 3.0.3 description of every route the
// server registers. openapi_test.go checks it against the router.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns a copy of the server's OpenAPI 3.0.3 document,
// as JSON.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDocument) }

// serveOpenAPI answers GET /api/v1/openapi.json. It needs no API key: the
// document describes the API, not anyone's data.
func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
