package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/transport/lineagefmt"
)

// Lineage answer formats, chosen with ?format= on the lineage route.
const (
	lineageFormatJSON    = "json"
	lineageFormatDOT     = "dot"
	lineageFormatMermaid = "mermaid"
)

// Content types of the text formats of a lineage answer.
const (
	mimeGraphviz = "text/vnd.graphviz; charset=utf-8"
	mimeMermaid  = echo.MIMETextPlainCharsetUTF8
)

// lineageFormat reads ?format=: json (the default), dot or mermaid.
func lineageFormat(c echo.Context) (string, error) {
	switch f := c.QueryParam("format"); f {
	case "", lineageFormatJSON:
		return lineageFormatJSON, nil
	case lineageFormatDOT, lineageFormatMermaid:
		return f, nil
	default:
		return "", badRequest("query parameter \"format\" must be json, dot or mermaid", map[string]any{"format": "unknown format"})
	}
}

// writeLineageText answers with l as Graphviz DOT or as a Mermaid
// flowchart.
func writeLineageText(c echo.Context, format string, l *domain.Lineage) error {
	if format == lineageFormatDOT {
		return c.Blob(http.StatusOK, mimeGraphviz, []byte(lineagefmt.DOT(l)))
	}
	return c.Blob(http.StatusOK, mimeMermaid, []byte(lineagefmt.Mermaid(l)))
}

// writeLineageJSON answers 200 with l as the JSON of lineageResponse,
// streamed.
func writeLineageJSON(c echo.Context, l *domain.Lineage) error {
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	res.WriteHeader(http.StatusOK)
	return lineagefmt.EncodeJSON(res, l)
}
