package openlineage

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/servo-data/servo/internal/domain"
)

// specFS holds the OpenLineage 2-0-2 schema and its facet schemas, copied
// unchanged from the OpenLineage repository (see spec/README.md).
//
//go:embed spec/OpenLineage.json spec/facets/*.json
var specFS embed.FS

// SpecURL is the $id of the embedded OpenLineage schema.
const SpecURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

// Kind is the kind of an OpenLineage event.
type Kind string

// Event kinds, named as in the schema's $defs.
const (
	KindRun     Kind = "RunEvent"
	KindDataset Kind = "DatasetEvent"
	KindJob     Kind = "JobEvent"
)

// maxProblems caps the problems a SchemaError reports.
const maxProblems = 50

// Problem is one reason an event fails validation: where, as a JSON pointer
// into the event written as a URI fragment ("#/run/runId"), and what.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// SchemaError says why an event does not validate against the OpenLineage
// schema. It matches domain.ErrInvalid.
type SchemaError struct {
	// Kind is the kind of event the problems were found against.
	Kind Kind
	// Problems lists the failures, sorted by path, at most 50.
	Problems []Problem
}

// Error implements error.
func (e *SchemaError) Error() string {
	parts := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		parts = append(parts, p.Path+": "+p.Message)
	}
	return fmt.Sprintf("the event is not a valid OpenLineage %s: %s", e.Kind, strings.Join(parts, "; "))
}

// Is reports whether target is domain.ErrInvalid.
func (e *SchemaError) Is(target error) bool { return target == domain.ErrInvalid }

// Schema validates events against the embedded OpenLineage schema and the
// facet schemas. It is safe for concurrent use.
type Schema struct {
	// strict asserts JSON Schema formats; loose reads them as annotations,
	// as draft 2020-12 does without the format-assertion vocabulary.
	strict, loose *compiled
	// keep says what a skeleton keeps of the facets at each place.
	keep *[numLocs]map[string]bool
}

// compiled is the embedded schemas compiled one way.
type compiled struct {
	event *jsonschema.Schema
	kinds map[Kind]*jsonschema.Schema
	// defs holds every $defs entry of every embedded schema, by absolute
	// URL ("<$id>#/$defs/<name>"), for facets whose _schemaURL names one.
	defs map[string]*jsonschema.Schema
	// roots holds the facet schemas' roots by $id; each constrains one key
	// of a facets object ("schema" for SchemaDatasetFacet.json).
	roots map[string]*jsonschema.Schema
}

// embeddedLoader resolves schema URLs to the embedded files by their $id and
// refuses every other URL: nothing is ever fetched over the network.
type embeddedLoader map[string]string

// Load implements jsonschema.URLLoader.
func (l embeddedLoader) Load(url string) (any, error) {
	name, ok := l[url]
	if !ok {
		return nil, fmt.Errorf("%s is not one of the embedded OpenLineage schemas, and schemas are never fetched over the network", url)
	}
	f, err := specFS.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open embedded schema %s: %w", name, err)
	}
	defer func() { _ = f.Close() }()
	return jsonschema.UnmarshalJSON(f)
}

// embeddedDoc is one embedded schema file.
type embeddedDoc struct {
	name string
	id   string
	doc  map[string]any
}

// readEmbedded parses every embedded schema file.
func readEmbedded() ([]embeddedDoc, error) {
	names, err := fs.Glob(specFS, "spec/facets/*.json")
	if err != nil {
		return nil, fmt.Errorf("list facet schemas: %w", err)
	}
	names = append([]string{"spec/OpenLineage.json"}, names...)
	out := make([]embeddedDoc, 0, len(names))
	for _, name := range names {
		f, err := specFS.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open embedded schema %s: %w", name, err)
		}
		v, err := jsonschema.UnmarshalJSON(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("parse embedded schema %s: %w", name, err)
		}
		doc, _ := v.(map[string]any)
		id, _ := doc["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("embedded schema %s has no $id", name)
		}
		out = append(out, embeddedDoc{name: name, id: id, doc: doc})
	}
	return out, nil
}

// LoadSchema compiles the embedded schemas twice: with format assertions on
// for Validate (a date-time must carry a zone, a runId must be a UUID, a
// producer a URI), and with formats as annotations for ValidateLenient.
func LoadSchema() (*Schema, error) {
	docs, err := readEmbedded()
	if err != nil {
		return nil, err
	}
	strict, err := compile(docs, true)
	if err != nil {
		return nil, err
	}
	loose, err := compile(docs, false)
	if err != nil {
		return nil, err
	}
	return &Schema{strict: strict, loose: loose, keep: pruning(docs[0].doc)}, nil
}

// compile compiles the embedded schemas, asserting formats or not.
func compile(docs []embeddedDoc, assertFormat bool) (*compiled, error) {
	loader := embeddedLoader{}
	for _, d := range docs {
		loader[d.id] = d.name
	}
	if _, ok := loader[SpecURL]; !ok {
		return nil, fmt.Errorf("the embedded OpenLineage schema is not %s", SpecURL)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if assertFormat {
		c.AssertFormat()
	}
	c.UseLoader(loader)

	s := &compiled{kinds: map[Kind]*jsonschema.Schema{}, defs: map[string]*jsonschema.Schema{}, roots: map[string]*jsonschema.Schema{}}
	var err error
	if s.event, err = c.Compile(SpecURL); err != nil {
		return nil, fmt.Errorf("compile %s: %w", SpecURL, err)
	}
	for _, k := range []Kind{KindRun, KindDataset, KindJob} {
		if s.kinds[k], err = c.Compile(SpecURL + "#/$defs/" + string(k)); err != nil {
			return nil, fmt.Errorf("compile %s: %w", k, err)
		}
	}
	for i, d := range docs {
		if i > 0 {
			if s.roots[d.id], err = c.Compile(d.id); err != nil {
				return nil, fmt.Errorf("compile %s: %w", path.Base(d.name), err)
			}
		}
		defs, _ := d.doc["$defs"].(map[string]any)
		for name := range defs {
			url := d.id + "#/$defs/" + name
			if s.defs[url], err = c.Compile(url); err != nil {
				return nil, fmt.Errorf("compile %s: %w", url, err)
			}
		}
	}
	return s, nil
}

// Validate checks a decoded event (decoded with jsonschema.UnmarshalJSON or
// with json.Number numbers) against the OpenLineage schema and the facet
// schemas of the facets it carries, formats asserted. It returns the
// event's kind, and a *SchemaError when the event does not validate.
func (s *Schema) Validate(ev map[string]any) (Kind, error) {
	c := s.strict
	problems, kind := c.validateCore(ev)
	problems = append(problems, c.validateFacets(ev, kind)...)
	if len(problems) == 0 {
		return kind, nil
	}
	return kind, &SchemaError{Kind: kind, Problems: tidy(problems)}
}

// ValidateLenient checks an event as lenient mode reads it: formats are
// annotations, and a facet that fails its own schema (or the base facet
// schema) does not fail the event. It returns the event's kind, the event
// without the failing facets (a copy when any was dropped; what the
// mapping may read), and the failing facets' problems, to be reported as
// warnings. The event itself, without those facets, must still validate:
// otherwise the error is a *SchemaError.
func (s *Schema) ValidateLenient(ev map[string]any) (Kind, map[string]any, []Problem, error) {
	c := s.loose
	kind := presumedKind(ev)
	var dropped []Problem
	checked := ev
	copied := false
	c.eachFacets(ev, kind, func(at, slot string, facets map[string]any, owner func(map[string]any) map[string]any) {
		for key, f := range facets {
			fat := at + "/" + escape(key)
			problems := collect(c.defs[SpecURL+"#/$defs/"+slot].Validate(f), fat)
			if sch, value := c.facetSchema(key, f); sch != nil {
				problems = append(problems, collect(sch.Validate(value), fat)...)
			}
			if len(problems) == 0 {
				continue
			}
			if !copied {
				checked, copied = deepCopy(ev).(map[string]any), true
			}
			delete(owner(checked), key)
			for _, p := range problems {
				dropped = append(dropped, Problem{Path: p.Path, Message: p.Message + "; the facet " + fat + " is kept as sent and not read"})
			}
		}
	})
	problems, kind := c.validateCore(checked)
	if len(problems) > 0 {
		return kind, nil, nil, &SchemaError{Kind: kind, Problems: tidy(problems)}
	}
	return kind, checked, tidy(dropped), nil
}

// deepCopy copies decoded JSON.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = deepCopy(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = deepCopy(val)
		}
		return out
	}
	return v
}

// validateCore validates the event against the OpenLineage schema and
// returns its problems and its kind.
func (c *compiled) validateCore(ev map[string]any) ([]Problem, Kind) {
	kind := presumedKind(ev)
	err := c.event.Validate(ev)
	if err == nil {
		return nil, validKind(ev)
	}
	// The schema is a oneOf of the three kinds: report the failures
	// against the kind the event looks like, which says what to fix,
	// unless it validates as that kind (it then matched several).
	problems := collect(c.kinds[kind].Validate(ev), "#")
	if len(problems) == 0 {
		problems = collect(err, "#")
	}
	return problems, kind
}

// presumedKind guesses the kind of a possibly invalid event from its shape.
func presumedKind(ev map[string]any) Kind {
	_, run := ev["run"]
	_, dataset := ev["dataset"]
	_, job := ev["job"]
	switch {
	case run:
		return KindRun
	case dataset:
		return KindDataset
	case job:
		return KindJob
	}
	return KindRun
}

// validKind returns the kind of an event that validates: the schema's oneOf
// admits exactly one, and these are its rules.
func validKind(ev map[string]any) Kind {
	_, run := ev["run"]
	_, job := ev["job"]
	_, dataset := ev["dataset"]
	switch {
	case run && job:
		return KindRun
	case dataset:
		return KindDataset
	}
	return KindJob
}

// eachFacets calls fn for every facets object of an event of kind: at is
// its location, slot the base facet definition its members must match, and
// owner finds the same object in a copy of the event.
func (c *compiled) eachFacets(ev map[string]any, kind Kind, fn func(at, slot string, facets map[string]any, owner func(map[string]any) map[string]any)) {
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	visit := func(v any, at, slot string, owner func(map[string]any) map[string]any) {
		if facets := obj(v); len(facets) > 0 {
			fn(at, slot, facets, owner)
		}
	}
	under := func(keys ...string) func(map[string]any) map[string]any {
		return func(root map[string]any) map[string]any {
			m := root
			for _, k := range keys {
				m = obj(m[k])
			}
			return m
		}
	}
	datasets := func(key, extra, slot string) {
		list, _ := ev[key].([]any)
		for i, d := range list {
			at := "#/" + key + "/" + strconv.Itoa(i)
			item := func(k string) func(map[string]any) map[string]any {
				return func(root map[string]any) map[string]any {
					l, _ := root[key].([]any)
					return obj(obj(l[i])[k])
				}
			}
			visit(obj(d)["facets"], at+"/facets", "DatasetFacet", item("facets"))
			visit(obj(d)[extra], at+"/"+extra, slot, item(extra))
		}
	}
	switch kind {
	case KindDataset:
		visit(obj(ev["dataset"])["facets"], "#/dataset/facets", "DatasetFacet", under("dataset", "facets"))
		return
	case KindRun:
		visit(obj(ev["run"])["facets"], "#/run/facets", "RunFacet", under("run", "facets"))
	}
	visit(obj(ev["job"])["facets"], "#/job/facets", "JobFacet", under("job", "facets"))
	datasets("inputs", "inputFacets", "InputDatasetFacet")
	datasets("outputs", "outputFacets", "OutputDatasetFacet")
}

// validateFacets checks every facet of the event whose _schemaURL names one
// of the embedded facet schemas (by $id, so the same version) against that
// schema. Facets that name another version, or a schema of their own, are
// checked by the event schema alone (every facet is a BaseFacet).
func (c *compiled) validateFacets(ev map[string]any, kind Kind) []Problem {
	var out []Problem
	c.eachFacets(ev, kind, func(at, _ string, facets map[string]any, _ func(map[string]any) map[string]any) {
		for key, f := range facets {
			if sch, value := c.facetSchema(key, f); sch != nil {
				out = append(out, collect(sch.Validate(value), at+"/"+escape(key))...)
			}
		}
	})
	return out
}

// facetSchema returns the embedded schema a facet names in its _schemaURL,
// with the value to validate against it: the facet itself for a $defs entry
// ("...SQLJobFacet.json#/$defs/SQLJobFacet", or the file's own definition
// when the URL has no fragment), or {key: facet} for a file's root. It
// returns nil when the facet names no embedded schema.
func (c *compiled) facetSchema(key string, facet any) (*jsonschema.Schema, any) {
	f, _ := facet.(map[string]any)
	url, _ := f["_schemaURL"].(string)
	base, frag, _ := strings.Cut(url, "#")
	root, ok := c.roots[base]
	if !ok {
		return nil, nil
	}
	if frag != "" {
		if sch, ok := c.defs[base+"#"+frag]; ok {
			return sch, facet
		}
		return nil, nil
	}
	if sch, ok := c.defs[base+"#/$defs/"+strings.TrimSuffix(path.Base(base), ".json")]; ok {
		return sch, facet
	}
	return root, map[string]any{key: facet}
}

var printer = message.NewPrinter(language.English)

// collect turns a validation error into problems: the leaves of its tree,
// located under prefix.
func collect(err error, prefix string) []Problem {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			return []Problem{{Path: prefix, Message: err.Error()}}
		}
		return nil
	}
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, Problem{Path: prefix + pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// pointer writes tokens as a JSON pointer.
func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(escape(t))
	}
	return sb.String()
}

// escape escapes one JSON pointer token.
func escape(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

// tidy sorts problems by path, drops duplicates and keeps at most
// maxProblems.
func tidy(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Path < ps[j].Path })
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		if len(out) > 0 && p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	if len(out) > maxProblems {
		out = append(out[:maxProblems:maxProblems], Problem{Path: "#", Message: fmt.Sprintf("and %d more problems", len(out)-maxProblems)})
	}
	return out
}
