package domain

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fieldsOf returns the fields a validation error names, or fails the test
// when err is not one.
func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error = %v, want a validation error", err)
	}
	return ve.Fields
}

// checkValidation asserts that err is nil when badField is empty, and
// otherwise a validation error naming badField.
func checkValidation(t *testing.T, err error, badField string) {
	t.Helper()
	if badField == "" {
		if err != nil {
			t.Fatalf("error = %v, want none", err)
		}
		return
	}
	if fields := fieldsOf(t, err); fields[badField] == "" {
		t.Fatalf("error names %v, want the field %s", fields, badField)
	}
}

// TestAssetValidation pins the limits and character rules shared by every
// named resource (validate.go), through the asset that uses all of them.
func TestAssetValidation(t *testing.T) {
	t.Parallel()
	tags := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("t%d", i)
		}
		return out
	}
	tests := []struct {
		name     string
		edit     func(a *Asset)
		badField string
	}{
		{"a plain asset", func(*Asset) {}, ""},
		{"name of 255 characters, multibyte", func(a *Asset) { a.Name = strings.Repeat("é", MaxNameLen) }, ""},
		{"name of 256 characters", func(a *Asset) { a.Name = strings.Repeat("a", MaxNameLen+1) }, "name"},
		{"empty name", func(a *Asset) { a.Name = "" }, "name"},
		{"name with a newline", func(a *Asset) { a.Name = "raw\norders" }, "name"},
		{"name with NUL", func(a *Asset) { a.Name = "raw\x00" }, "name"},
		{"name not UTF-8", func(a *Asset) { a.Name = "raw\xff" }, "name"},
		{"name with a right-to-left override", func(a *Asset) { a.Name = "raw\u202Eorders" }, "name"},
		{"name with a directional isolate", func(a *Asset) { a.Name = "\u2066raw\u2069" }, "name"},
		{"name reading as a UUID", func(a *Asset) { a.Name = "01a23c03-614e-7e04-b136-e2f842b0df75" }, "name"},
		{"name with spaces and dots", func(a *Asset) { a.Name = "warehouse.raw orders (v2)" }, ""},
		{"empty asset type", func(a *Asset) { a.AssetType = "" }, "asset_type"},
		{"asset type of 100 characters", func(a *Asset) { a.AssetType = strings.Repeat("t", MaxTypeLen) }, ""},
		{"asset type of 101 characters", func(a *Asset) { a.AssetType = strings.Repeat("t", MaxTypeLen+1) }, "asset_type"},
		{"asset type with a tab", func(a *Asset) { a.AssetType = "ta\tble" }, "asset_type"},
		{"description of the maximum length", func(a *Asset) { a.Description = strings.Repeat("d", MaxDescriptionLen) }, ""},
		{"description one over", func(a *Asset) { a.Description = strings.Repeat("d", MaxDescriptionLen+1) }, "description"},
		{"description with lines and tabs", func(a *Asset) { a.Description = "line one\r\n\tline two\n" }, ""},
		{"description with an escape", func(a *Asset) { a.Description = "red \x1b[31m" }, "description"},
		{"owner of 255 characters", func(a *Asset) { a.Owner = strings.Repeat("o", MaxOwnerLen) }, ""},
		{"owner of 256 characters", func(a *Asset) { a.Owner = strings.Repeat("o", MaxOwnerLen+1) }, "owner"},
		{"owner with a newline", func(a *Asset) { a.Owner = "team\nlead" }, "owner"},
		{"50 tags", func(a *Asset) { a.Tags = tags(MaxTags) }, ""},
		{"51 tags", func(a *Asset) { a.Tags = tags(MaxTags + 1) }, "tags"},
		{"an empty tag", func(a *Asset) { a.Tags = []string{"pii", ""} }, "tags"},
		{"a tag of 100 characters", func(a *Asset) { a.Tags = []string{strings.Repeat("x", MaxTagLen)} }, ""},
		{"a tag of 101 characters", func(a *Asset) { a.Tags = []string{strings.Repeat("x", MaxTagLen+1)} }, "tags"},
		{"a tag with a control character", func(a *Asset) { a.Tags = []string{"p\x07ii"} }, "tags"},
		{"a duplicate tag", func(a *Asset) { a.Tags = []string{"pii", "gold", "pii"} }, "tags"},
		{"tags differing in case", func(a *Asset) { a.Tags = []string{"pii", "PII"} }, ""},
		{"a bad compute spec", func(a *Asset) { a.Compute = &ComputeSpec{Kind: "shell"} }, "compute.kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &Asset{Name: "raw.orders", AssetType: "table", Description: "orders", Owner: "data", Tags: []string{"pii"}}
			tt.edit(a)
			checkValidation(t, a.Validate(), tt.badField)
		})
	}
}

// TestAssetValidationNamesEveryBadField reports all the broken fields at
// once, so a client fixes its input in one round.
func TestAssetValidationNamesEveryBadField(t *testing.T) {
	t.Parallel()
	a := &Asset{Name: "", AssetType: "", Owner: "a\nb", Tags: []string{""}, Description: "\x00"}
	fields := fieldsOf(t, a.Validate())
	for _, f := range []string{"name", "asset_type", "owner", "tags", "description"} {
		if fields[f] == "" {
			t.Errorf("field %s not named in %v", f, fields)
		}
	}
}

// TestValidText pins the two character rules: short text takes no control
// character at all, long text takes line breaks and tabs.
func TestValidText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s           string
		short, long bool
	}{
		{"", true, true},
		{"plain text, ünïcode ✓", true, true},
		{"tab\there", false, true},
		{"line\nbreak", false, true},
		{"carriage\rreturn", false, true},
		{"nul\x00", false, false},
		{"bell\x07", false, false},
		{"delete\x7f", false, false},
		{"c1 control \u0085", false, false},
		{"bad utf-8 \xc3\x28", false, false},
	} {
		if got := ValidText(tt.s); got != tt.short {
			t.Errorf("ValidText(%q) = %v, want %v", tt.s, got, tt.short)
		}
		if got := validLongText(tt.s); got != tt.long {
			t.Errorf("validLongText(%q) = %v, want %v", tt.s, got, tt.long)
		}
	}
}

// TestValidator keeps the first problem of each field, sorts fields in the
// message, matches ErrInvalid and is nil when nothing was wrong.
func TestValidator(t *testing.T) {
	t.Parallel()
	var ok Validator
	ok.Check(true, "name", "never recorded")
	if err := ok.Err(); err != nil {
		t.Fatalf("Err() with no problem = %v, want nil", err)
	}
	var v Validator
	v.Check(false, "name", "must be %d to %d characters", 1, 255)
	v.Add("name", "a second problem is dropped")
	v.Add("asset_type", "unknown")
	err := v.Err()
	if fields := fieldsOf(t, err); len(fields) != 2 || fields["name"] != "must be 1 to 255 characters" {
		t.Fatalf("fields = %v", fields)
	}
	if got, want := err.Error(), "invalid input: asset_type: unknown; name: must be 1 to 255 characters"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if wrapped := fmt.Errorf("create asset: %w", Invalid("owner", "too long")); !errors.Is(wrapped, ErrInvalid) || errors.Is(wrapped, ErrConflict) {
		t.Errorf("a wrapped validation error = %v, want it to match ErrInvalid only", wrapped)
	}
}
