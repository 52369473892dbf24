package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/transport/lineagefmt"
)

// The catalog's two hottest answers, an asset (GET /assets/{asset}) and a
// page of assets (GET /assets), are appended by hand: encoding/json spent a
// quarter of a list request's CPU on them, by reflection and through
// Time.MarshalJSON, whose output it then scans again. The bytes are exactly
// those c.JSON writes for assetEnvelope and assetList (a test holds them
// together); with ?pretty, c.JSON writes them, indented.

// catalogEntry is one asset of an answer and its recorded freshness, nil
// when none is shown.
type catalogEntry struct {
	asset *domain.Asset
	fresh *domain.AssetFreshness
}

// appendCatalogAsset appends the JSON of CatalogAssetDTO for e: the asset's
// fields, then its freshness policy, last materialization and status at
// now.
func appendCatalogAsset(b []byte, e catalogEntry, now time.Time) []byte {
	b = lineagefmt.AppendAssetFields(b, e.asset)
	b = append(b, `,"freshness":`...)
	var (
		policy *domain.FreshnessPolicy
		last   *time.Time
		status *string
	)
	if e.fresh != nil {
		policy, last, status = e.fresh.Policy, e.fresh.LastMaterializedAt, freshness.Status(e.fresh, now)
	}
	if policy == nil {
		b = append(b, "null"...)
	} else {
		b = appendFreshnessPolicy(b, policy)
	}
	b = append(b, `,"last_materialized_at":`...)
	if last == nil {
		b = append(b, "null"...)
	} else {
		b = lineagefmt.AppendTime(b, *last)
	}
	b = append(b, `,"freshness_status":`...)
	if status == nil {
		b = append(b, "null"...)
	} else {
		b = lineagefmt.AppendString(b, *status)
	}
	return append(b, '}')
}

// appendFreshnessPolicy appends p as encoding/json writes a
// domain.FreshnessPolicy: its fields in order, the empty ones left out.
func appendFreshnessPolicy(b []byte, p *domain.FreshnessPolicy) []byte {
	b = append(b, '{')
	first := true
	for _, f := range [...]struct{ key, v string }{{`"max_age":`, p.MaxAge}, {`"cron":`, p.Cron}, {`"timezone":`, p.Timezone}} {
		if f.v == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		b = lineagefmt.AppendString(b, f.v)
	}
	return append(b, '}')
}

// catalogEntries pairs assets with their freshness in fs, after hiding
// global assets' environment values from a tenant (as catalogDTOs does).
func catalogEntries(c echo.Context, as []domain.Asset, fs map[uuid.UUID]domain.AssetFreshness) []catalogEntry {
	out := make([]catalogEntry, len(as))
	for i := range as {
		hideGlobalEnv(c.Request().Context(), &as[i])
		out[i].asset = &as[i]
		if f, ok := fs[as[i].ID]; ok {
			out[i].fresh = &f
		}
	}
	return out
}

// appendAssetEnvelope appends the JSON of assetEnvelope, final newline
// included.
func appendAssetEnvelope(b []byte, e catalogEntry, now time.Time) []byte {
	b = append(b, `{"asset":`...)
	b = appendCatalogAsset(b, e, now)
	return append(b, "}\n"...)
}

// appendAssetList appends the JSON of assetList, final newline included.
func appendAssetList(b []byte, entries []catalogEntry, list domain.List[domain.Asset], now time.Time) []byte {
	b = append(b, `{"assets":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCatalogAsset(b, e, now)
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, list.Total, 10)
	b = append(b, `,"total_is_estimate":`...)
	b = strconv.AppendBool(b, list.TotalIsEstimate)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(list.Limit), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(list.Offset), 10)
	b = append(b, `,"next_cursor":`...)
	if list.NextCursor == nil {
		b = append(b, "null"...)
	} else {
		b = lineagefmt.AppendString(b, list.NextCursor.Encode())
	}
	return append(b, "}\n"...)
}

// freshnessNow is the time freshness statuses are told at: the freshness
// service's clock, read only when some status is shown.
func (a *api) freshnessNow(fs map[uuid.UUID]domain.AssetFreshness) time.Time {
	if len(fs) == 0 || a.fresh == nil {
		return time.Time{}
	}
	return a.fresh.Now()
}

// prettyJSON reports whether c.JSON would indent the answer.
func prettyJSON(c echo.Context) bool {
	_, pretty := c.QueryParams()["pretty"]
	return pretty || c.Echo().Debug
}

// jsonBuffers holds the buffers answers are appended into: c.Blob copies
// the bytes into the response before it returns.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writeJSONBytes answers with the bytes fill appends, in a pooled buffer.
func writeJSONBytes(c echo.Context, code int, fill func([]byte) []byte) error {
	bp := jsonBuffers.Get().(*[]byte)
	b := fill((*bp)[:0])
	err := c.Blob(code, echo.MIMEApplicationJSON, b)
	if cap(b) <= 1<<20 { // a huge page's buffer is let go
		*bp = b
		jsonBuffers.Put(bp)
	}
	return err
}

// writeAssetList answers a page of assets with their freshness in fs.
func (a *api) writeAssetList(c echo.Context, list domain.List[domain.Asset], fs map[uuid.UUID]domain.AssetFreshness) error {
	if prettyJSON(c) {
		return c.JSON(http.StatusOK, assetList{Assets: a.catalogDTOs(c, list.Items, fs), Total: list.Total, TotalIsEstimate: list.TotalIsEstimate,
			Limit: list.Limit, Offset: list.Offset, NextCursor: nextCursor(list.NextCursor)})
	}
	entries, now := catalogEntries(c, list.Items, fs), a.freshnessNow(fs)
	return writeJSONBytes(c, http.StatusOK, func(b []byte) []byte { return appendAssetList(b, entries, list, now) })
}

// writeAsset answers one asset with its freshness in fs.
func (a *api) writeAsset(c echo.Context, code int, asset *domain.Asset, fs map[uuid.UUID]domain.AssetFreshness) error {
	if prettyJSON(c) {
		return c.JSON(code, assetEnvelope{Asset: a.catalogDTOs(c, []domain.Asset{*asset}, fs)[0]})
	}
	hideGlobalEnv(c.Request().Context(), asset)
	e := catalogEntry{asset: asset}
	if f, ok := fs[asset.ID]; ok {
		e.fresh = &f
	}
	now := a.freshnessNow(fs)
	return writeJSONBytes(c, code, func(b []byte) []byte { return appendAssetEnvelope(b, e, now) })
}
