package domain

import "github.com/google/uuid"

// ParseRef reads a reference to a resource that may be its id or its
// name, such as the {asset} and {workflow} path parameters. It is an id
// when uuid.Parse accepts it, in any of the forms that function knows
// (canonical, 32 hex digits, braced, urn:uuid:); otherwise it is a name.
// Names that ParseRef would read as ids are refused when written, so a
// reference always means one thing.
func ParseRef(ref string) (uuid.UUID, bool) {
	id, err := uuid.Parse(ref)
	return id, err == nil
}

// IsBidiControl reports whether r is a bidirectional embedding, override
// or isolate control (U+202A-U+202E, U+2066-U+2069), which can make a name
// display as another one.
func IsBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
