package api

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestETagStable checks that a row's tag is the hash of its id and its
// updated_at in RFC 3339 with nanoseconds, as every tag handed out before
// was: a client's stored If-Match stays valid across versions of Servo.
func TestETagStable(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		id uuid.UUID
		at time.Time
	}{
		{uuid.MustParse("00000000-0000-0000-0000-000000000000"), time.Time{}},
		{uuid.MustParse("f47ac10b-58cc-4372-a567-0e02b2c3d479"), time.Date(2026, 12, 3, 18, 0, 0, 123456000, time.UTC)},
		{uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff"), time.Date(2026, 1, 2, 3, 4, 5, 0, berlin)},
		{uuid.New(), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	} {
		sum := sha256.Sum256([]byte(tc.id.String() + "@" + tc.at.UTC().Format(time.RFC3339Nano)))
		want := `"` + hex.EncodeToString(sum[:16]) + `"`
		if got := etag(tc.id, tc.at); got != want {
			t.Errorf("etag(%s, %s) = %s, want %s", tc.id, tc.at, got, want)
		}
	}
	a := uuid.New()
	at := time.Now()
	if etag(a, at) == etag(a, at.Add(time.Microsecond)) || etag(a, at) == etag(uuid.New(), at) {
		t.Error("the tag does not change with the row's id or its updated_at")
	}
}
