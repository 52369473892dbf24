package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// A reference is an id exactly when it is in a form uuid.Parse accepts,
// and a name that would read as one is refused, so no name is ever taken
// for an id. Names with bidirectional controls are refused too.
func TestParseRefAndNames(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("01a23c03-614e-7e04-b136-e2f842b0df75")
	for _, tc := range []struct {
		ref  string
		isID bool
	}{
		{id.String(), true},
		{strings.ToUpper(id.String()), true},
		{strings.ReplaceAll(id.String(), "-", ""), true},
		{"{" + id.String() + "}", true},
		{"urn:uuid:" + id.String(), true},
		{"raw.orders", false},
		{strings.ReplaceAll(id.String(), "-", "")[:31], false},
		{id.String() + "x", false},
		{"", false},
	} {
		got, isID := domain.ParseRef(tc.ref)
		if isID != tc.isID || (isID && got != id) {
			t.Errorf("ParseRef(%q) = %s, %v; want id %v", tc.ref, got, isID, tc.isID)
		}
		if tc.ref == "" {
			continue
		}
		for _, name := range []string{tc.ref, "a\u202Eb", "\u2066x\u2069", "x\u202A"} {
			refused := name != tc.ref || tc.isID
			err := (&domain.Asset{Name: name, AssetType: "table"}).Validate()
			if refused != errors.Is(err, domain.ErrInvalid) {
				t.Errorf("asset name %q: %v, want refused %v", name, err, refused)
			}
			err = (&domain.Workflow{Name: name, Version: 1}).Validate()
			if refused != (err != nil && strings.Contains(err.Error(), "name")) {
				t.Errorf("workflow name %q: %v, want refused %v", name, err, refused)
			}
		}
	}
}
