package openlineage_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/testdb"
)

// producerCase is one event shaped as a real producer sends it (see
// testdata/openlineage/README.md), and how each mode reads it.
type producerCase struct {
	file string
	// strictProblems are the locations strict mode refuses; none when the
	// event validates with formats asserted.
	strictProblems []string
	// warnings are the locations lenient mode warns of: the facets that
	// fail their own schema, kept as sent and not read.
	warnings []string
}

// producerCases lists the producer-shaped fixtures. Lenient mode accepts
// every one of them.
var producerCases = []producerCase{
	{"servo/airflow_dag_start.json", nil, nil},
	{"servo/airflow_task_start.json", nil, nil},
	{"servo/airflow_task_complete.json", nil, nil},
	{"servo/airflow_dag_complete.json", nil, nil},
	// Spark's BigQuery and file data sources name their uri "bigquery"
	// and "file": not URIs, so strict mode (formats asserted) refuses them.
	{"servo/spark_bigquery_start.json", []string{"#/inputs/0/facets/dataSource/uri"}, nil},
	{"servo/spark_bigquery_complete.json", []string{"#/inputs/0/facets/dataSource/uri"}, nil},
	{"servo/spark_file_to_hive.json", []string{"#/inputs/0/facets/dataSource/uri"}, nil},
	{"servo/spark_malformed_facets.json",
		[]string{"#/inputs/0/facets/dataSource/uri", "#/inputs/0/facets/schema/fields/1", "#/inputs/0/facets/symlinks/identifiers/0", "#/run/facets/spark_unknown"},
		[]string{"#/inputs/0/facets/schema/fields/1", "#/inputs/0/facets/symlinks/identifiers/0", "#/run/facets/spark_unknown"}},
}

// TestSchema_ProducerFixtures pins what each mode says of each producer
// fixture, without a database.
func TestSchema_ProducerFixtures(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	for _, c := range producerCases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			_, err := s.Validate(fixture(t, c.file))
			var got []string
			var se *openlineage.SchemaError
			if errors.As(err, &se) {
				for _, p := range se.Problems {
					got = append(got, p.Path)
				}
			} else if err != nil {
				t.Fatalf("strict: %v", err)
			}
			if !slices.Equal(got, c.strictProblems) {
				t.Errorf("strict problems at %v, want %v", got, c.strictProblems)
			}
			ev := fixture(t, c.file)
			before := string(canonicalJSON(t, ev))
			kind, checked, dropped, err := s.ValidateLenient(ev)
			if err != nil || kind != openlineage.KindRun {
				t.Fatalf("lenient: %s, %v", kind, err)
			}
			got = got[:0]
			for _, p := range dropped {
				got = append(got, p.Path)
				if !strings.Contains(p.Message, "kept as sent") {
					t.Errorf("warning %+v does not say the facet is kept", p)
				}
			}
			if !slices.Equal(got, c.warnings) {
				t.Errorf("lenient warnings at %v, want %v", got, c.warnings)
			}
			if string(canonicalJSON(t, ev)) != before {
				t.Error("ValidateLenient changed the event it was given")
			}
			if len(c.warnings) > 0 && string(canonicalJSON(t, checked)) == before {
				t.Error("the failing facets are still in what the mapping reads")
			}
		})
	}
}

// TestIngest_ProducerFixtures ingests the producer fixtures on both
// backends: lenient mode takes every one, with warnings exactly where a
// facet fails its schema, stored with the event; strict mode refuses those
// with problems and changes nothing for them. Replaying the events, in
// reverse order, or from another tenant keeps the outcomes.
func TestIngest_ProducerFixtures(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		for _, mode := range []openlineage.Mode{openlineage.Strict, openlineage.Lenient} {
			t.Run(string(mode), func(t *testing.T) {
				f := newFx(t, b, mode)
				outcome := func(f *fx, c producerCase, replay bool) string {
					t.Helper()
					before := f.state()
					res, err := f.ing.Ingest(f.ctx, fixture(t, c.file))
					if mode == openlineage.Strict && len(c.strictProblems) > 0 {
						if !errors.Is(err, domain.ErrInvalid) {
							t.Errorf("%s: err = %v, want invalid", c.file, err)
						}
						if f.state() != before {
							t.Errorf("%s: a refused event changed the tenant", c.file)
						}
						return "refused"
					}
					if err != nil {
						t.Fatalf("%s: %v", c.file, err)
					}
					if res.Duplicate != replay || res.RunID == nil {
						t.Errorf("%s: duplicate %v, run %v (replay %v)", c.file, res.Duplicate, res.RunID, replay)
					}
					var at []string
					for _, w := range res.Warnings {
						path, _, _ := strings.Cut(w, ": ")
						at = append(at, path)
					}
					want := c.warnings
					if mode == openlineage.Strict {
						want = nil
					}
					if !slices.Equal(at, want) {
						t.Errorf("%s: warnings %q, want at %v", c.file, res.Warnings, want)
					}
					return "accepted " + strings.Join(at, ",")
				}
				first := map[string]string{}
				for _, c := range producerCases {
					first[c.file] = outcome(f, c, false)
				}
				state := f.state()
				// Replayed: duplicates, nothing changes.
				for _, c := range producerCases {
					if got := outcome(f, c, first[c.file] != "refused"); got != first[c.file] {
						t.Errorf("replayed %s: %s, first %s", c.file, got, first[c.file])
					}
				}
				if f.state() != state {
					t.Errorf("replaying changed the tenant:\n%s\nwas\n%s", f.state(), state)
				}
				// Another tenant, in reverse order: the same outcomes, and
				// the same runs, states and edges in the end.
				g := newFxWith(t, b, f.svc, f.ing, f.clock)
				rev := slices.Clone(producerCases)
				slices.Reverse(rev)
				for _, c := range rev {
					if got := outcome(g, c, false); got != first[c.file] {
						t.Errorf("other tenant, reversed, %s: %s, first %s", c.file, got, first[c.file])
					}
				}
				if g.state() != state {
					t.Errorf("the other tenant, events reversed, ends with\n%s\nwant\n%s", g.state(), state)
				}
				// The runs answer to their runIds, in each tenant.
				for _, x := range []*fx{f, g} {
					for _, id := range []string{"0193a1b0-1111-7a00-8000-0000000d0001", "0193a1b0-2222-7a00-8000-0000000d0002"} {
						r, err := x.svc.GetRun(x.ctx, uuid.MustParse(id))
						if err != nil || r.ID.String() != id || r.Trigger != domain.TriggerOpenLineage {
							t.Errorf("run %s: %+v, %v", id, r, err)
						}
					}
					// The Airflow task's run is a child of its DAG run.
					task, err := x.svc.GetRun(x.ctx, uuid.MustParse("0193a1b0-2222-7a00-8000-0000000d0002"))
					if err != nil || task.ParentID == nil || task.ParentID.String() != "0193a1b0-1111-7a00-8000-0000000d0001" {
						t.Errorf("the task run's parent: %+v, %v", task, err)
					}
					dag, err := x.svc.GetRun(x.ctx, uuid.MustParse("0193a1b0-1111-7a00-8000-0000000d0001"))
					if err != nil || dag.State != domain.StateSucceeded || dag.ParentID != nil {
						t.Errorf("the DAG run: %+v, %v", dag, err)
					}
				}
			})
		}
	})
}

// canonicalJSON encodes decoded JSON with sorted keys.
func canonicalJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
