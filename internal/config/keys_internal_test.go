package config

import (
	"testing"
	"time"
)

// TestDuration checks how a default duration is written in the key table
// (and so in --help, the example file and the documentation): as an
// operator writes it.
func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{200 * time.Millisecond, "200ms"},
		{15 * time.Second, "15s"},
		{30 * time.Minute, "30m"},
		{90 * time.Second, "1m30s"},
		{720 * time.Hour, "720h"},
		{90 * time.Minute, "1h30m"},
		{0, "0s"},
	} {
		if got := duration(tc.d); got != tc.want {
			t.Errorf("duration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
