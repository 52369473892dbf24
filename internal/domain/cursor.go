package domain

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Cursor is a keyset position in a listing ordered by (created_at DESC,
// id DESC): the next page holds the rows strictly after it in that order.
// It is a position, not a capability: every query still runs in the
// caller's tenant scope, so a cursor made from another tenant's rows only
// moves the caller through its own rows.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// cursorLen is the encoded size: 8 bytes of Unix microseconds, 16 of id.
const cursorLen = 8 + 16

// Encode returns the cursor as opaque unpadded base64url text.
func (c Cursor) Encode() string {
	var b [cursorLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.CreatedAt.UnixMicro()))
	copy(b[8:], c.ID[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// DecodeCursor parses text made by Cursor.Encode; anything else is a
// validation error on field "cursor".
func DecodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen {
		return Cursor{}, Invalid("cursor", "is malformed")
	}
	var c Cursor
	c.CreatedAt = time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))).UTC()
	copy(c.ID[:], b[8:])
	return c, nil
}
