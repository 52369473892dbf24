package domain_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/servo-data/servo/internal/domain"
)

func TestParseCheckTypeAcceptsEveryKind(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`{"type":"not_null","columns":["a","b"]}`,
		`{"type":"unique","columns":["a"]}`,
		`{"type":"in_range","column":"x","min":0,"max":10.5}`,
		`{"type":"in_range","column":"x","max":-1}`,
		`{"type":"in_range","column":"x","min":3,"max":null}`,
		`{"type":"regex","column":"email","pattern":"^[^@]+@[^@]+$"}`,
		`{"type":"row_count","min":1}`,
		`{"type":"row_count"}`,
		`{"type":"accepted_values","column":"state","values":["a",1,true,null]}`,
		`{"type":"no_duplicate_rows"}`,
		`{"type":"no_duplicate_rows","columns":["a","b"]}`,
		`{"type":"freshness","timestamp_column":"ts","max_age_seconds":3600}`,
		`{"type":"referential_integrity","column":"cid","reference_table":"customers","reference_column":"id"}`,
		`{"type":"schema_match","expected_columns":["a","b"],"allow_extra_columns":true}`,
		`{"type":"schema_match","expected_columns":{"a":"int","b":"text"}}`,
		`{"type":"custom","sql":"select 1","anything":{"goes":[1,2]}}`,
	} {
		ct, err := domain.ParseCheckType(json.RawMessage(raw))
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		var want, got any
		_ = json.Unmarshal([]byte(raw), &want)
		_ = json.Unmarshal(ct.Raw, &got)
		if ct.Kind == "" || !jsonEqual(want, got) {
			t.Errorf("%s: parsed to %q %s", raw, ct.Kind, ct.Raw)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestParseCheckTypeNamesTheBadField(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ raw, field string }{
		{``, "check_type"},
		{`null`, "check_type"},
		{`[]`, "check_type"},
		{`"not_null"`, "check_type"},
		{`{}`, "check_type.type"},
		{`{"type":""}`, "check_type.type"},
		{`{"type":7}`, "check_type.type"},
		{`{"type":"nonsense"}`, "check_type.type"},
		{`{"type":"not_null"}`, "check_type.columns"},
		{`{"type":"not_null","columns":[]}`, "check_type.columns"},
		{`{"type":"not_null","columns":"a"}`, "check_type.columns"},
		{`{"type":"not_null","columns":[""]}`, "check_type.columns"},
		{`{"type":"not_null","columns":["a"],"column":"b"}`, "check_type.column"},
		{`{"type":"unique"}`, "check_type.columns"},
		{`{"type":"in_range","min":1}`, "check_type.column"},
		{`{"type":"in_range","column":"x"}`, "check_type.min"},
		{`{"type":"in_range","column":"x","min":"1"}`, "check_type.min"},
		{`{"type":"in_range","column":"x","min":5,"max":1}`, "check_type.max"},
		{`{"type":"in_range","column":7,"min":1}`, "check_type.column"},
		{`{"type":"regex","column":"x"}`, "check_type.pattern"},
		{`{"type":"regex","column":"x","pattern":"(("}`, "check_type.pattern"},
		{`{"type":"regex","column":"x","pattern":"(?<=a)b"}`, "check_type.pattern"},
		{`{"type":"regex","pattern":"a"}`, "check_type.column"},
		{`{"type":"row_count","min":-1}`, "check_type.min"},
		{`{"type":"row_count","min":1.5}`, "check_type.min"},
		{`{"type":"row_count","min":5,"max":2}`, "check_type.max"},
		{`{"type":"accepted_values","column":"x"}`, "check_type.values"},
		{`{"type":"accepted_values","column":"x","values":[]}`, "check_type.values"},
		{`{"type":"accepted_values","column":"x","values":[{"a":1}]}`, "check_type.values"},
		{`{"type":"no_duplicate_rows","columns":"a"}`, "check_type.columns"},
		{`{"type":"freshness","timestamp_column":"ts"}`, "check_type.max_age_seconds"},
		{`{"type":"freshness","timestamp_column":"ts","max_age_seconds":0}`, "check_type.max_age_seconds"},
		{`{"type":"freshness","max_age_seconds":10}`, "check_type.timestamp_column"},
		{`{"type":"referential_integrity","column":"a","reference_table":"t"}`, "check_type.reference_column"},
		{`{"type":"referential_integrity","column":"a","reference_column":"c"}`, "check_type.reference_table"},
		{`{"type":"schema_match"}`, "check_type.expected_columns"},
		{`{"type":"schema_match","expected_columns":[]}`, "check_type.expected_columns"},
		{`{"type":"schema_match","expected_columns":["a"],"allow_extra_columns":"yes"}`, "check_type.allow_extra_columns"},
	} {
		_, err := domain.ParseCheckType(json.RawMessage(c.raw))
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
			t.Errorf("%s: err %v, want a problem with %s", c.raw, err, c.field)
		}
	}
}
