package lineagefmt

import (
	"encoding/json"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// A lineage answer can hold 10,000 nodes and tens of thousands of edges,
// several megabytes of JSON. encoding/json would build it whole in one
// growing buffer, by reflection, before the first byte leaves; this writer
// appends each node and edge by hand into a small buffer that it sends
// whenever it fills. The bytes are exactly those encoding/json writes for
// the API's lineage answer (a test of the API package holds the two
// together), strings included: a string that is not plain printable ASCII
// is left to encoding/json itself.

// TimeLayout is how the API writes every timestamp: UTC with microseconds
// and an explicit offset.
const TimeLayout = "2006-01-02T15:04:05.000000+00:00"

// lineageChunk is the size at which the buffer is sent.
const lineageChunk = 32 << 10

// EncodeJSON writes l to w as json.Encoder.Encode writes the API's lineage
// answer, final newline included: {"root", "nodes", "edges", "truncated"},
// with assets and edges as the API writes them. It sends the bytes in
// chunks as they fill and stops at the first write error, which it returns.
func EncodeJSON(w io.Writer, l *domain.Lineage) error {
	e := lineageEncoder{w: w, buf: make([]byte, 0, lineageChunk+4096)}
	e.buf = append(e.buf, `{"root":`...)
	e.buf = appendAsset(e.buf, &l.Root)
	e.buf = append(e.buf, `,"nodes":[`...)
	for i := range l.Nodes {
		n := &l.Nodes[i]
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, `{"asset":`...)
		e.buf = appendAsset(e.buf, &n.Asset)
		e.buf = append(e.buf, `,"depth":`...)
		e.buf = appendInt(e.buf, n.Depth)
		e.buf = append(e.buf, `,"direction":`...)
		e.buf = appendString(e.buf, string(n.Direction))
		e.buf = append(e.buf, '}')
		if !e.flushIfFull() {
			return e.err
		}
	}
	e.buf = append(e.buf, `],"edges":[`...)
	for i := range l.Edges {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendEdge(e.buf, &l.Edges[i])
		if !e.flushIfFull() {
			return e.err
		}
	}
	e.buf = append(e.buf, `],"truncated":`...)
	if l.Truncated {
		e.buf = append(e.buf, "true}\n"...)
	} else {
		e.buf = append(e.buf, "false}\n"...)
	}
	e.flush()
	return e.err
}

type lineageEncoder struct {
	w   io.Writer
	buf []byte
	err error
}

// flushIfFull sends the buffer once it holds a chunk; it reports whether
// writing may go on.
func (e *lineageEncoder) flushIfFull() bool {
	if len(e.buf) >= lineageChunk {
		e.flush()
	}
	return e.err == nil
}

func (e *lineageEncoder) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// appendAsset appends the JSON of the API's asset answer for a.
func appendAsset(b []byte, a *domain.Asset) []byte {
	return append(AppendAssetFields(b, a), '}')
}

// AppendAssetFields appends the JSON of the API's asset answer for a
// without its closing brace, for answers that add fields of their own
// (the catalog's freshness).
func AppendAssetFields(b []byte, a *domain.Asset) []byte {
	b = append(b, `{"id":`...)
	b = appendUUID(b, a.ID)
	b = append(b, `,"tenant_id":`...)
	if a.TenantID == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *a.TenantID)
	}
	b = append(b, `,"name":`...)
	b = appendString(b, a.Name)
	b = append(b, `,"description":`...)
	b = appendString(b, a.Description)
	b = append(b, `,"asset_type":`...)
	b = appendString(b, a.AssetType)
	b = append(b, `,"owner":`...)
	b = appendString(b, a.Owner)
	b = append(b, `,"tags":[`...)
	for i, t := range a.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	b = append(b, `],"global":`...)
	if a.IsGlobal() {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `,"compute":`...)
	if a.Compute == nil {
		b = append(b, "null"...)
	} else {
		// Rare and nested: encoding/json writes it. A ComputeSpec always
		// encodes (strings, string maps and numbers only).
		raw, _ := json.Marshal(a.Compute)
		b = append(b, raw...)
	}
	if a.Partitions != nil {
		// As rare; left out when the asset has none (omitempty).
		raw, _ := json.Marshal(a.Partitions)
		b = append(b, `,"partitions":`...)
		b = append(b, raw...)
	}
	b = append(b, `,"created_at":`...)
	b = appendTime(b, a.CreatedAt)
	b = append(b, `,"updated_at":`...)
	return appendTime(b, a.UpdatedAt)
}

// AppendString appends s as encoding/json writes a string.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// AppendTime appends t as the API writes a timestamp: in TimeLayout,
// quoted.
func AppendTime(b []byte, t time.Time) []byte { return appendTime(b, t) }

// appendEdge appends the JSON of the API's dependency answer for d.
func appendEdge(b []byte, d *domain.AssetDependency) []byte {
	b = append(b, `{"id":`...)
	b = appendUUID(b, d.ID)
	b = append(b, `,"tenant_id":`...)
	b = appendString(b, d.TenantID)
	b = append(b, `,"upstream_asset_id":`...)
	b = appendUUID(b, d.UpstreamAssetID)
	b = append(b, `,"downstream_asset_id":`...)
	b = appendUUID(b, d.DownstreamAssetID)
	b = append(b, `,"dependency_type":`...)
	b = appendString(b, string(d.DependencyType))
	b = append(b, `,"created_at":`...)
	b = appendTime(b, d.CreatedAt)
	return append(b, '}')
}

// appendTime appends t in TimeLayout, quoted, as the API's timestamps are
// written (years 0-9999 digit by digit; others through time.AppendFormat).
func appendTime(b []byte, t time.Time) []byte {
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		b = append(b, '"')
		b = u.AppendFormat(b, TimeLayout)
		return append(b, '"')
	}
	hour, minute, sec := u.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, u.Nanosecond()/1000, 6)
	return append(b, `+00:00"`...)
}

// appendDigits appends n (0 <= n < 10^width) in exactly width digits.
func appendDigits(b []byte, n, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		b = append(b, 0)
	}
	for i := len(b) - 1; i >= len(b)-width; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

const hexDigits = "0123456789abcdef"

// appendUUID appends id as uuid.UUID's text in quotes.
func appendUUID(b []byte, id uuid.UUID) []byte {
	b = append(b, '"')
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(b, '"')
}

// appendString appends s quoted as encoding/json quotes it: printable
// ASCII other than the quote, the backslash and the HTML characters is
// copied as it is; anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s)
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
