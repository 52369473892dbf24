package domain

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Check type kinds, the values of a check type's "type".
const (
	CheckNotNull              = "not_null"
	CheckUnique               = "unique"
	CheckInRange              = "in_range"
	CheckRegex                = "regex"
	CheckRowCount             = "row_count"
	CheckAcceptedValues       = "accepted_values"
	CheckNoDuplicateRows      = "no_duplicate_rows"
	CheckFreshness            = "freshness"
	CheckReferentialIntegrity = "referential_integrity"
	CheckSchemaMatch          = "schema_match"
	CheckCustom               = "custom"
)

// fieldRule says what one field of a check type must hold.
type fieldRule struct {
	name     string
	required bool
	check    func(v *Validator, field string, raw json.RawMessage)
}

// checkKinds lists each kind's fields. custom takes any fields.
var checkKinds = map[string][]fieldRule{
	CheckNotNull:         {{"columns", true, columnList}},
	CheckUnique:          {{"columns", true, columnList}},
	CheckInRange:         {{"column", true, identifier}, {"min", false, number}, {"max", false, number}},
	CheckRegex:           {{"column", true, identifier}, {"pattern", true, re2Pattern}},
	CheckRowCount:        {{"min", false, count}, {"max", false, count}},
	CheckAcceptedValues:  {{"column", true, identifier}, {"values", true, scalarList}},
	CheckNoDuplicateRows: {{"columns", false, columnList}},
	CheckFreshness:       {{"timestamp_column", true, identifier}, {"max_age_seconds", true, positive}},
	CheckReferentialIntegrity: {
		{"column", true, identifier}, {"reference_table", true, identifier}, {"reference_column", true, identifier},
	},
	CheckSchemaMatch: {{"expected_columns", true, expectedColumns}, {"allow_extra_columns", false, boolean}},
	CheckCustom:      nil,
}

// CheckKinds returns the known kinds, sorted.
func CheckKinds() []string {
	out := make([]string, 0, len(checkKinds))
	for k := range checkKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseCheckType validates a check type object and returns it in compact
// form. Field errors are keyed "check_type.<field>".
func ParseCheckType(raw json.RawMessage) (CheckType, error) {
	const root = "check_type"
	if len(raw) > MaxCheckTypeBytes {
		return CheckType{}, Invalid(root, "must be at most %d bytes of JSON", MaxCheckTypeBytes)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return CheckType{}, Invalid(root, "is required")
	}
	var fields map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		return CheckType{}, Invalid(root, `must be an object tagged by "type"`)
	}
	var kind string
	if t, ok := fields["type"]; !ok || json.Unmarshal(t, &kind) != nil || kind == "" {
		return CheckType{}, Invalid(root+".type", "is required: one of %s", strings.Join(CheckKinds(), ", "))
	}
	rules, known := checkKinds[kind]
	if !known {
		return CheckType{}, Invalid(root+".type", "unknown check type %q: one of %s", kind, strings.Join(CheckKinds(), ", "))
	}
	var v Validator
	if kind != CheckCustom {
		for name := range fields {
			if name == "type" {
				continue
			}
			if !slices.ContainsFunc(rules, func(r fieldRule) bool { return r.name == name }) {
				v.Add(root+"."+name, "unknown field for check type %s", kind)
			}
		}
	}
	for _, r := range rules {
		val, ok := fields[r.name]
		if !ok || bytes.Equal(bytes.TrimSpace(val), []byte("null")) {
			v.Check(!r.required, root+"."+r.name, "is required for check type %s", kind)
			continue
		}
		r.check(&v, root+"."+r.name, val)
	}
	boundsOrdered(&v, kind, fields)
	if err := v.Err(); err != nil {
		return CheckType{}, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, trimmed); err != nil {
		return CheckType{}, Invalid(root, "is not valid JSON")
	}
	return CheckType{Kind: kind, Raw: out.Bytes()}, nil
}

// boundsOrdered checks min <= max for the kinds that take both.
func boundsOrdered(v *Validator, kind string, fields map[string]json.RawMessage) {
	if kind != CheckInRange && kind != CheckRowCount {
		return
	}
	var lo, hi *float64
	_ = json.Unmarshal(fields["min"], &lo)
	_ = json.Unmarshal(fields["max"], &hi)
	if kind == CheckInRange && lo == nil && hi == nil {
		v.Add("check_type.min", "in_range needs min, max or both")
	}
	if lo != nil && hi != nil && *lo > *hi {
		v.Add("check_type.max", "must not be less than min")
	}
}

func identifier(v *Validator, field string, raw json.RawMessage) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		v.Add(field, "must be a string")
		return
	}
	n := utf8.RuneCountInString(s)
	v.Check(n >= 1 && n <= MaxNameLen && ValidText(s), field, "must be 1 to %d printable characters", MaxNameLen)
}

func columnList(v *Validator, field string, raw json.RawMessage) {
	var cols []string
	if json.Unmarshal(raw, &cols) != nil {
		v.Add(field, "must be an array of column names")
		return
	}
	v.Check(len(cols) >= 1 && len(cols) <= 1000, field, "must name 1 to 1000 columns")
	for _, c := range cols {
		n := utf8.RuneCountInString(c)
		if n < 1 || n > MaxNameLen || !ValidText(c) {
			v.Add(field, "each column must be 1 to %d printable characters", MaxNameLen)
			return
		}
	}
}

func number(v *Validator, field string, raw json.RawMessage) {
	var f float64
	if json.Unmarshal(raw, &f) != nil || math.IsInf(f, 0) {
		v.Add(field, "must be a number")
	}
}

func count(v *Validator, field string, raw json.RawMessage) {
	var f float64
	if json.Unmarshal(raw, &f) != nil || f < 0 || f != math.Trunc(f) || f > 1<<53 {
		v.Add(field, "must be a whole number, 0 or more")
	}
}

func positive(v *Validator, field string, raw json.RawMessage) {
	var f float64
	if json.Unmarshal(raw, &f) != nil || f <= 0 || f > 1<<53 {
		v.Add(field, "must be a number above 0")
	}
}

func boolean(v *Validator, field string, raw json.RawMessage) {
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		v.Add(field, "must be true or false")
	}
}

func re2Pattern(v *Validator, field string, raw json.RawMessage) {
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		v.Add(field, "must be a non-empty string")
		return
	}
	if len(s) > 4096 {
		v.Add(field, "must be at most 4096 bytes")
		return
	}
	if _, err := regexp.Compile(s); err != nil {
		v.Add(field, "is not a valid RE2 regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
}

func scalarList(v *Validator, field string, raw json.RawMessage) {
	var vals []any
	if json.Unmarshal(raw, &vals) != nil {
		v.Add(field, "must be an array")
		return
	}
	v.Check(len(vals) >= 1 && len(vals) <= 10000, field, "must hold 1 to 10000 values")
	for _, x := range vals {
		switch x.(type) {
		case string, float64, bool, nil:
		default:
			v.Add(field, "values must be strings, numbers, booleans or null")
			return
		}
	}
}

// expectedColumns takes a list of column names or an object of column name
// to type name.
func expectedColumns(v *Validator, field string, raw json.RawMessage) {
	var names []string
	if json.Unmarshal(raw, &names) == nil {
		columnList(v, field, raw)
		return
	}
	var typed map[string]string
	if json.Unmarshal(raw, &typed) != nil || len(typed) == 0 {
		v.Add(field, "must be an array of column names or an object of column name to type")
		return
	}
	for k, t := range typed {
		if k == "" || !ValidText(k) || !ValidText(t) || utf8.RuneCountInString(k) > MaxNameLen || utf8.RuneCountInString(t) > MaxTypeLen {
			v.Add(field, "column names and types must be printable text")
			return
		}
	}
}
