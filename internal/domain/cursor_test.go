package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestCursorRoundTrip encodes positions and reads them back to the
// microsecond (the precision of stored timestamps), in UTC.
func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{
		time.Date(2026, 11, 27, 10, 5, 54, 364235000, time.UTC),
		time.Date(2026, 3, 29, 2, 30, 0, 999, berlin), // nanoseconds are cut
		time.Unix(0, 0).UTC(),
		time.Date(1969, 12, 31, 23, 59, 59, 1000, time.UTC), // before the epoch
	} {
		c := Cursor{CreatedAt: at, ID: uuid.Must(uuid.NewV7())}
		s := c.Encode()
		if strings.ContainsAny(s, "+/=") {
			t.Errorf("cursor %q is not unpadded base64url", s)
		}
		got, err := DecodeCursor(s)
		if err != nil {
			t.Fatalf("DecodeCursor(%q): %v", s, err)
		}
		want := at.Truncate(time.Microsecond).UTC()
		if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC || got.ID != c.ID {
			t.Errorf("round trip of %v/%s = %v/%s", at, c.ID, got.CreatedAt, got.ID)
		}
	}
}

// TestDecodeCursorRefusesGarbage answers every malformed cursor with a
// validation error on the field "cursor".
func TestDecodeCursorRefusesGarbage(t *testing.T) {
	t.Parallel()
	valid := Cursor{CreatedAt: time.Now(), ID: uuid.New()}.Encode()
	for _, s := range []string{
		"", "x", "!!!!", valid[:len(valid)-1], valid + "AA", valid + "=",
		valid[:5] + "+" + valid[6:], "' OR 1=1 --",
	} {
		_, err := DecodeCursor(s)
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeCursor(%q) = %v, want a validation error", s, err)
			continue
		}
		if _, ok := ve.Fields["cursor"]; !ok {
			t.Errorf("DecodeCursor(%q): error names %v, want the field cursor", s, ve.Fields)
		}
	}
}

// TestPageNormalize applies the default limit and refuses bad pages.
func TestPageNormalize(t *testing.T) {
	t.Parallel()
	c := &Cursor{CreatedAt: time.Now(), ID: uuid.New()}
	tests := []struct {
		name      string
		in        Page
		wantLimit int
		badField  string
	}{
		{"default limit", Page{}, DefaultLimit, ""},
		{"explicit limit", Page{Limit: 7}, 7, ""},
		{"max limit", Page{Limit: MaxLimit}, MaxLimit, ""},
		{"over max", Page{Limit: MaxLimit + 1}, 0, "limit"},
		{"negative limit", Page{Limit: -1}, 0, "limit"},
		{"negative offset", Page{Offset: -1}, 0, "offset"},
		{"cursor and offset", Page{Offset: 5, Cursor: c}, 0, "cursor"},
		{"cursor alone", Page{Cursor: c}, DefaultLimit, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.in
			err := p.Normalize()
			if tt.badField == "" {
				if err != nil || p.Limit != tt.wantLimit {
					t.Fatalf("Normalize() = %v, limit %d; want nil, %d", err, p.Limit, tt.wantLimit)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Normalize() = %v, want a validation error", err)
			}
			if _, ok := ve.Fields[tt.badField]; !ok {
				t.Fatalf("Normalize() names %v, want %s", ve.Fields, tt.badField)
			}
		})
	}
}
