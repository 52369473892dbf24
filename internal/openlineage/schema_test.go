package openlineage_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
)

func loadSchema(t *testing.T) *openlineage.Schema {
	t.Helper()
	s, err := openlineage.LoadSchema()
	if err != nil {
		t.Fatalf("LoadSchema: %v", err)
	}
	return s
}

// TestSchema_Fixtures checks every fixture against the schema with the
// outcome the fixtures' README states.
func TestSchema_Fixtures(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	for _, c := range fixtureCases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			kind, err := s.Validate(fixture(t, c.file))
			if kind != c.kind {
				t.Errorf("kind %s, want %s", kind, c.kind)
			}
			if c.strictValid {
				if err != nil {
					t.Fatalf("does not validate: %v", err)
				}
				return
			}
			var se *openlineage.SchemaError
			if !errors.As(err, &se) || !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("err = %v, want a *SchemaError matching ErrInvalid", err)
			}
			if len(se.Problems) != 1 || se.Problems[0].Path != c.problem {
				t.Errorf("problems %+v, want one at %s", se.Problems, c.problem)
			}
		})
	}
}

func TestSchema_SeedValidates(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	events := seedEvents(t, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	if len(events) != 26 {
		t.Fatalf("%d seed events, want 26", len(events))
	}
	for i, e := range events {
		if kind, err := s.Validate(e.(map[string]any)); err != nil || kind != openlineage.KindRun {
			t.Errorf("seed event %d: kind %s, err %v", i, kind, err)
		}
	}
}

// TestSchema_Refusals checks what strict validation says of broken events:
// the locations are JSON pointers into the event, and the problems are
// those of the kind the event looks like, not of the oneOf.
func TestSchema_Refusals(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	base := func() map[string]any {
		return runEvent("0d9b3f4e-3a61-4a0a-9f5a-7f1f2c3b4d5e", "START", time.Now(), "ns/job", []string{"ns/in"}, []string{"ns/out"})
	}
	tests := []struct {
		name   string
		change func(ev map[string]any)
		kind   openlineage.Kind
		want   map[string]string // path -> substring of its message
	}{
		{"run id not a UUID", func(ev map[string]any) { ev["run"] = map[string]any{"runId": "nope"} },
			openlineage.KindRun, map[string]string{"#/run/runId": "uuid"}},
		{"unknown event type", func(ev map[string]any) { ev["eventType"] = "DONE" },
			openlineage.KindRun, map[string]string{"#/eventType": "one of"}},
		{"producer not a URI", func(ev map[string]any) { ev["producer"] = "not a uri" },
			openlineage.KindRun, map[string]string{"#/producer": "uri"}},
		{"dataset without a name", func(ev map[string]any) { ev["inputs"] = []any{map[string]any{"namespace": "ns"}} },
			openlineage.KindRun, map[string]string{"#/inputs/0": "name"}},
		{"job missing", func(ev map[string]any) { delete(ev, "job") },
			openlineage.KindRun, map[string]string{"#": "job"}},
		{"dataset event without a dataset", func(ev map[string]any) {
			delete(ev, "run")
			delete(ev, "job")
			delete(ev, "inputs")
			delete(ev, "outputs")
			ev["dataset"] = "x"
		}, openlineage.KindDataset, map[string]string{"#/dataset": "object"}},
		{"facet without _producer", func(ev map[string]any) {
			ev["job"] = map[string]any{"namespace": "ns", "name": "job", "facets": map[string]any{"sql": map[string]any{"_schemaURL": "https://example.com/x", "query": "select 1"}}}
		}, openlineage.KindRun, map[string]string{"#/job/facets/sql": "_producer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := base()
			tt.change(ev)
			kind, err := s.Validate(ev)
			var se *openlineage.SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SchemaError", err)
			}
			if kind != tt.kind || se.Kind != tt.kind {
				t.Errorf("kind %s / %s, want %s", kind, se.Kind, tt.kind)
			}
			for path, want := range tt.want {
				found := false
				for _, p := range se.Problems {
					if p.Path == path && strings.Contains(p.Message, want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem at %s mentioning %q in %+v", path, want, se.Problems)
				}
			}
		})
	}
}

// TestSchema_FacetsByEmbeddedSchema checks that a facet naming one of the
// embedded facet schemas (same $id, so the same version) is validated
// against it, offline, and that other facets are left to the event schema.
func TestSchema_FacetsByEmbeddedSchema(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	const producer = "https://github.com/servo-data/servo/tests"
	sqlFacet := func(url string, withQuery bool) map[string]any {
		f := map[string]any{"_producer": producer, "_schemaURL": url}
		if withQuery {
			f["query"] = "SELECT 1"
		}
		return f
	}
	tests := []struct {
		name    string
		facets  map[string]any
		where   string // "job" or "run" or "input"
		problem string // the path of the expected problem; "" for none
	}{
		{"embedded $defs entry, valid", map[string]any{"sql": sqlFacet("https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet", true)}, "job", ""},
		{"embedded $defs entry, query missing", map[string]any{"sql": sqlFacet("https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet", false)}, "job", "#/job/facets/sql"},
		{"embedded file without fragment, query missing", map[string]any{"sql": sqlFacet("https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json", false)}, "job", "#/job/facets/sql"},
		{"another version is not embedded", map[string]any{"sql": sqlFacet("https://openlineage.io/spec/facets/1-0-0/SQLJobFacet.json", false)}, "job", ""},
		{"a custom schema", map[string]any{"sql": sqlFacet("https://example.com/MyFacet.json", false)}, "job", ""},
		{"root of a file without its own definition", map[string]any{"lineage": map[string]any{
			"_producer": producer, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/LineageFacet.json", "entries": "not a list", "inputs": "not a list"}}, "job", "#/job/facets/lineage"},
		{"nominal time must be a date-time", map[string]any{"nominalTime": map[string]any{
			"_producer": producer, "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet", "nominalStartTime": "yesterday"}}, "run", "#/run/facets/nominalTime/nominalStartTime"},
		{"input facet", map[string]any{"inputStatistics": map[string]any{
			"_producer": producer, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet", "rowCount": "many"}}, "input", "#/inputs/0/inputFacets/inputStatistics/rowCount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := runEvent("0d9b3f4e-3a61-4a0a-9f5a-7f1f2c3b4d5e", "START", time.Now(), "ns/job", []string{"ns/in"}, nil)
			switch tt.where {
			case "job":
				ev["job"].(map[string]any)["facets"] = tt.facets
			case "run":
				ev["run"].(map[string]any)["facets"] = tt.facets
			case "input":
				ev["inputs"].([]any)[0].(map[string]any)["inputFacets"] = tt.facets
			}
			_, err := s.Validate(ev)
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			var se *openlineage.SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SchemaError", err)
			}
			found := false
			for _, p := range se.Problems {
				found = found || strings.HasPrefix(p.Path, tt.problem)
			}
			if !found {
				t.Errorf("problems %+v, want one at %s", se.Problems, tt.problem)
			}
		})
	}
}
