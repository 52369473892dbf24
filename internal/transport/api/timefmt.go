package api

import (
	"time"

	"github.com/servo-data/servo/internal/transport/lineagefmt"
)

// TimeLayout is how every timestamp in a response is written: UTC with
// microseconds and an explicit offset, which Python's
// datetime.fromisoformat reads on 3.9 and later. The streaming lineage
// encoder writes the same layout, so it is defined there.
const TimeLayout = lineagefmt.TimeLayout

// Time is a timestamp written in TimeLayout.
type Time struct{ time.Time }

// TimeOf wraps a time for a response.
func TimeOf(t time.Time) Time { return Time{t} }

// TimePtrOf wraps an optional time; nil stays null.
func TimePtrOf(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	return &Time{*t}
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts RFC 3339.
func (t *Time) UnmarshalJSON(b []byte) error {
	var v time.Time
	if err := v.UnmarshalJSON(b); err != nil {
		return err
	}
	t.Time = v
	return nil
}
