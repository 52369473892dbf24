package openlineage

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// Mode says how strictly events are read.
type Mode string

// Modes.
const (
	// Strict accepts only events that validate against the schema and
	// the facet schemas, JSON Schema formats asserted.
	Strict Mode = "strict"
	// Lenient accepts every event whose core is usable: formats are
	// annotations (as draft 2020-12 has them), a facet failing its own
	// schema is kept as sent, not read, and reported as a warning, and, as
	// Marquez does, an event without a schemaURL and an eventTime without a
	// zone (read as UTC) are taken with a warning.
	Lenient Mode = "lenient"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == Strict || m == Lenient }

// Run event types: the eventType of a RunEvent.
const (
	EventStart    = "START"
	EventRunning  = "RUNNING"
	EventComplete = "COMPLETE"
	EventAbort    = "ABORT"
	EventFail     = "FAIL"
	EventOther    = "OTHER"
)

// dataset is a dataset an event names.
type dataset struct {
	Namespace string
	Name      string
	// At is where the event names it, as a JSON pointer fragment.
	At string
	// Fields are the schema facet's fields; nil without a schema facet.
	Fields []domain.Field
	// Columns are the column lineage facet's edges into this dataset.
	Columns []columnInput
}

// columnInput is one input column of one output column, as the column
// lineage facet names it.
type columnInput struct {
	Namespace, Name, Field string // the input column
	Output                 string // the output column
	Type, Subtype          string
	Description            string
	Masking                bool
}

// maxColumnInputs caps the column edges one dataset of an event may name.
const maxColumnInputs = 10000

// readFields reads a schema facet's top-level fields: those with a name
// Servo can store (nested struct fields are not read).
func readFields(facets map[string]any) []domain.Field {
	schema, ok := facets["schema"].(map[string]any)
	if !ok {
		return nil
	}
	list, _ := schema["fields"].([]any)
	out := make([]domain.Field, 0, len(list))
	for _, f := range list {
		m, _ := f.(map[string]any)
		name, _ := m["name"].(string)
		if n := utf8.RuneCountInString(name); n == 0 || n > domain.MaxColumnLen || !printable(name) {
			continue
		}
		typ, _ := m["type"].(string)
		desc, _ := m["description"].(string)
		out = append(out, domain.Field{Name: name, Type: typ, Description: desc})
		if len(out) == 2000 {
			break
		}
	}
	return out
}

// readColumnLineage reads a columnLineage facet: each output field's input
// fields, and the dataset-level inputs, which bear on every output field
// (those the facet names and those of the schema facet).
func readColumnLineage(facets map[string]any, fields []domain.Field) []columnInput {
	cl, ok := facets["columnLineage"].(map[string]any)
	if !ok {
		return nil
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	var out []columnInput
	add := func(output string, in map[string]any, legacyType, legacyDesc string) {
		base := columnInput{Namespace: str(in, "namespace"), Name: str(in, "name"), Field: str(in, "field"), Output: output}
		if base.Namespace == "" || base.Name == "" || base.Field == "" {
			return
		}
		ts, _ := in["transformations"].([]any)
		if len(ts) == 0 {
			c := base
			c.Subtype, c.Description = legacyType, legacyDesc
			out = append(out, c)
			return
		}
		for _, t := range ts {
			m, _ := t.(map[string]any)
			c := base
			c.Type, c.Subtype, c.Description = str(m, "type"), str(m, "subtype"), str(m, "description")
			c.Masking, _ = m["masking"].(bool)
			out = append(out, c)
		}
	}
	outputs := map[string]bool{}
	var order []string
	byField, _ := cl["fields"].(map[string]any)
	names := make([]string, 0, len(byField))
	for name := range byField {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m, _ := byField[name].(map[string]any)
		if !outputs[name] {
			outputs[name] = true
			order = append(order, name)
		}
		ins, _ := m["inputFields"].([]any)
		for _, in := range ins {
			im, _ := in.(map[string]any)
			add(name, im, str(m, "transformationType"), str(m, "transformationDescription"))
		}
	}
	for _, f := range fields {
		if !outputs[f.Name] {
			outputs[f.Name] = true
			order = append(order, f.Name)
		}
	}
	ds, _ := cl["dataset"].([]any)
	for _, in := range ds {
		im, _ := in.(map[string]any)
		for _, name := range order {
			add(name, im, "", "")
		}
	}
	return out
}

// AssetName returns the name of the asset a dataset maps to.
func (d dataset) AssetName() string { return d.Namespace + "/" + d.Name }

// event is what the mapping reads from a validated event.
type event struct {
	Kind      Kind
	EventType string
	EventTime time.Time
	// RunID is the run's runId, lower case; empty unless Kind is KindRun.
	RunID        string
	JobNamespace string
	JobName      string
	Inputs       []dataset
	Outputs      []dataset
	// Dataset is the dataset of a DatasetEvent.
	Dataset *dataset
	// FailureMessage is the errorMessage run facet's message, if any.
	FailureMessage string
	// Parent is the run the parent run facet names, if any.
	Parent *parentRun
}

// parentRun is what a parent run facet names.
type parentRun struct {
	RunID        string
	JobNamespace string
	JobName      string
}

// WorkflowName returns the name of the workflow a job maps to.
func (e *event) WorkflowName() string { return e.JobNamespace + "/" + e.JobName }

// localTime matches an RFC 3339 date-time without its zone.
var localTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$`)

// forgive returns a copy of ev with what lenient mode forgives put right:
// a missing schemaURL becomes the schema's URL for the event's kind, and an
// eventTime without a zone is read as UTC. It lists what it changed.
func forgive(ev map[string]any) (map[string]any, []string) {
	var warnings []string
	out := ev
	copied := false
	set := func(k string, v any) {
		if !copied {
			out = make(map[string]any, len(ev)+1)
			for key, val := range ev {
				out[key] = val
			}
			copied = true
		}
		out[k] = v
	}
	if _, ok := ev["schemaURL"]; !ok {
		kind := presumedKind(ev)
		set("schemaURL", SpecURL+"#/$defs/"+string(kind))
		warnings = append(warnings, fmt.Sprintf("schemaURL is missing; the event was read as an OpenLineage 2-0-2 %s", kind))
	}
	if t, ok := ev["eventTime"].(string); ok && localTime.MatchString(t) {
		set("eventTime", t+"Z")
		warnings = append(warnings, fmt.Sprintf("eventTime %q has no time zone; it was read as UTC", t))
	}
	return out, warnings
}

// readEvent extracts what the mapping needs from an event that validated
// as kind.
func readEvent(ev map[string]any, kind Kind) (*event, error) {
	out := &event{Kind: kind}
	raw, _ := ev["eventTime"].(string)
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(raw))
	if err != nil {
		return nil, domain.Invalid("#/eventTime", "%q is not a time Servo can read", raw)
	}
	out.EventTime = t.UTC()
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	datasets := func(key string) []dataset {
		list, _ := ev[key].([]any)
		out := make([]dataset, 0, len(list))
		for i, d := range list {
			m := obj(d)
			facets := obj(m["facets"])
			ds := dataset{Namespace: str(m, "namespace"), Name: str(m, "name"), At: "#/" + key + "/" + strconv.Itoa(i), Fields: readFields(facets)}
			ds.Columns = readColumnLineage(facets, ds.Fields)
			out = append(out, ds)
		}
		return out
	}
	switch kind {
	case KindDataset:
		m := obj(ev["dataset"])
		out.Dataset = &dataset{Namespace: str(m, "namespace"), Name: str(m, "name"), At: "#/dataset", Fields: readFields(obj(m["facets"]))}
		return out, checkNames(out)
	case KindRun:
		out.EventType = str(ev, "eventType")
		id, err := uuid.Parse(str(obj(ev["run"]), "runId"))
		if err != nil {
			return nil, domain.Invalid("#/run/runId", "must be a UUID")
		}
		out.RunID = id.String()
		out.FailureMessage = failureMessage(ev)
		out.Parent = readParent(ev)
	}
	job := obj(ev["job"])
	out.JobNamespace, out.JobName = str(job, "namespace"), str(job, "name")
	out.Inputs, out.Outputs = datasets("inputs"), datasets("outputs")
	return out, checkNames(out)
}

// checkNames refuses names Servo cannot store: asset and workflow names are
// 1 to 255 printable characters.
func checkNames(e *event) error {
	var v domain.Validator
	check := func(field, name string) {
		n := utf8.RuneCountInString(name)
		v.Check(n <= domain.MaxNameLen, field, "%q is %d characters once namespace and name are joined; Servo names hold at most %d", name, n, domain.MaxNameLen)
		v.Check(printable(name), field, "namespace and name must not hold control characters")
		v.Check(!strings.ContainsFunc(name, domain.IsBidiControl), field, "namespace and name must not hold bidirectional control characters (U+202A-U+202E, U+2066-U+2069)")
	}
	if e.Dataset != nil {
		check(e.Dataset.At, e.Dataset.AssetName())
	} else {
		check("#/job", e.WorkflowName())
	}
	for _, d := range append(append([]dataset{}, e.Inputs...), e.Outputs...) {
		check(d.At, d.AssetName())
	}
	return v.Err()
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}

// canonical returns the canonical JSON of a decoded event (object keys
// sorted, numbers as sent, no HTML escaping) and its hex SHA-256. It
// refuses what the database could not store: NUL characters, and numbers
// beyond the range of a float64.
func canonical(v any) ([]byte, string, error) {
	raw, err := encodeEvent(v)
	if err != nil {
		return nil, "", err
	}
	return canonicalJSON(raw)
}

// failureMessage reads the errorMessage run facet's message.
func failureMessage(ev map[string]any) string {
	run, _ := ev["run"].(map[string]any)
	facets, _ := run["facets"].(map[string]any)
	f, _ := facets["errorMessage"].(map[string]any)
	msg, _ := f["message"].(string)
	return strings.TrimSpace(msg)
}

// readParent reads the parent run facet: a run id that is a UUID and a job
// with a namespace and a name Servo can store, or nothing.
func readParent(ev map[string]any) *parentRun {
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	f := obj(obj(obj(ev["run"])["facets"])["parent"])
	id, err := uuid.Parse(str(obj(f["run"]), "runId"))
	job := obj(f["job"])
	ns, name := str(job, "namespace"), str(job, "name")
	if err != nil || ns == "" || name == "" {
		return nil
	}
	if full := ns + "/" + name; utf8.RuneCountInString(full) > domain.MaxNameLen || !printable(full) {
		return nil
	}
	return &parentRun{RunID: id.String(), JobNamespace: ns, JobName: name}
}
