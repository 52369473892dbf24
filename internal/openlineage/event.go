package openlineage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
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
	// Strict accepts only events that validate against the schema.
	Strict Mode = "strict"
	// Lenient also accepts, as Marquez does, an event without a schemaURL
	// and an eventTime without a zone (read as UTC), with a warning.
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
			out = append(out, dataset{Namespace: str(m, "namespace"), Name: str(m, "name"), At: "#/" + key + "/" + strconv.Itoa(i)})
		}
		return out
	}
	switch kind {
	case KindDataset:
		m := obj(ev["dataset"])
		out.Dataset = &dataset{Namespace: str(m, "namespace"), Name: str(m, "name"), At: "#/dataset"}
		return out, checkNames(out)
	case KindRun:
		out.EventType = str(ev, "eventType")
		id, err := uuid.Parse(str(obj(ev["run"]), "runId"))
		if err != nil {
			return nil, domain.Invalid("#/run/runId", "must be a UUID")
		}
		out.RunID = id.String()
		out.FailureMessage = failureMessage(ev)
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
	if err := storable(v, "#"); err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, "", domain.Invalid("#", "the event cannot be encoded: %v", err)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// storable walks v for values the database refuses.
func storable(v any, at string) error {
	switch x := v.(type) {
	case string:
		if strings.ContainsRune(x, 0) {
			return domain.Invalid(at, "must not hold NUL characters")
		}
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !math.IsInf(f, 0) {
			return domain.Invalid(at, "%s is not a number", x)
		}
		if math.IsInf(f, 0) {
			return domain.Invalid(at, "%s is out of range", x)
		}
	case map[string]any:
		for k, val := range x {
			if strings.ContainsRune(k, 0) {
				return domain.Invalid(at, "keys must not hold NUL characters")
			}
			if err := storable(val, at+"/"+escape(k)); err != nil {
				return err
			}
		}
	case []any:
		for i, val := range x {
			if err := storable(val, at+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// failureMessage reads the errorMessage run facet's message.
func failureMessage(ev map[string]any) string {
	run, _ := ev["run"].(map[string]any)
	facets, _ := run["facets"].(map[string]any)
	f, _ := facets["errorMessage"].(map[string]any)
	msg, _ := f["message"].(string)
	return strings.TrimSpace(msg)
}
