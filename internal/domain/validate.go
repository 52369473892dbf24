package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidText reports whether s is valid UTF-8 without control characters.
func ValidText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validLongText is ValidText that also allows tabs and newlines.
func validLongText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

// Limits on field sizes, shared by validation and the schema.
const (
	MaxNameLen        = 255
	MaxTypeLen        = 100
	MaxOwnerLen       = 255
	MaxDescriptionLen = 10000
	MaxTags           = 50
	MaxTagLen         = 100
)

func checkName(v *Validator, field, name string) {
	n := utf8.RuneCountInString(name)
	v.Check(n >= 1 && n <= MaxNameLen, field, "must be 1 to %d characters", MaxNameLen)
	v.Check(ValidText(name), field, "must be valid UTF-8 without control characters")
	v.Check(!strings.ContainsFunc(name, IsBidiControl), field, "must not hold bidirectional control characters (U+202A-U+202E, U+2066-U+2069)")
	_, isID := ParseRef(name)
	v.Check(!isID, field, "must not read as a UUID (a path takes an id or a name, and this would be taken for an id)")
}

func checkCommon(v *Validator, description, owner string, tags []string) {
	v.Check(utf8.RuneCountInString(description) <= MaxDescriptionLen, "description", "must be at most %d characters", MaxDescriptionLen)
	v.Check(validLongText(description), "description", "must be valid UTF-8 without control characters")
	v.Check(utf8.RuneCountInString(owner) <= MaxOwnerLen, "owner", "must be at most %d characters", MaxOwnerLen)
	v.Check(ValidText(owner), "owner", "must be valid UTF-8 without control characters")
	checkTags(v, tags)
}

func checkTags(v *Validator, tags []string) {
	if len(tags) > MaxTags {
		v.Add("tags", "at most %d tags", MaxTags)
		return
	}
	seen := make(map[string]struct{}, len(tags))
	for _, t := range tags {
		n := utf8.RuneCountInString(t)
		if n < 1 || n > MaxTagLen || !ValidText(t) {
			v.Add("tags", "each tag must be 1 to %d printable characters", MaxTagLen)
			return
		}
		if _, dup := seen[t]; dup {
			v.Add("tags", "duplicate tag %q", t)
			return
		}
		seen[t] = struct{}{}
	}
}
