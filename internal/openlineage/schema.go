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

// LoadSchema compiles the embedded schemas, with format assertions on (a
// date-time must carry a zone, a runId must be a UUID, a producer a URI).
func LoadSchema() (*Schema, error) {
	docs, err := readEmbedded()
	if err != nil {
		return nil, err
	}
	loader := embeddedLoader{}
	for _, d := range docs {
		loader[d.id] = d.name
	}
	if _, ok := loader[SpecURL]; !ok {
		return nil, fmt.Errorf("the embedded OpenLineage schema is not %s", SpecURL)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(loader)

	s := &Schema{kinds: map[Kind]*jsonschema.Schema{}, defs: map[string]*jsonschema.Schema{}, roots: map[string]*jsonschema.Schema{}}
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
// schemas of the facets it carries. It returns the event's kind, and a
// *SchemaError when the event does not validate.
func (s *Schema) Validate(ev map[string]any) (Kind, error) {
	var problems []Problem
	kind := presumedKind(ev)
	if err := s.event.Validate(ev); err != nil {
		// The schema is a oneOf of the three kinds: report the failures
		// against the kind the event looks like, which says what to fix,
		// unless it validates as that kind (it then matched several).
		problems = collect(s.kinds[kind].Validate(ev), "#")
		if len(problems) == 0 {
			problems = collect(err, "#")
		}
	} else {
		kind = validKind(ev)
	}
	problems = append(problems, s.validateFacets(ev, kind)...)
	if len(problems) == 0 {
		return kind, nil
	}
	return kind, &SchemaError{Kind: kind, Problems: tidy(problems)}
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

// validateFacets checks every facet of the event whose _schemaURL names one
// of the embedded facet schemas (by $id, so the same version) against that
// schema. Facets that name another version, or a schema of their own, are
// checked by the event schema alone (every facet is a BaseFacet).
func (s *Schema) validateFacets(ev map[string]any, kind Kind) []Problem {
	var out []Problem
	check := func(v any, at string) {
		facets, _ := v.(map[string]any)
		for key, f := range facets {
			if sch, value := s.facetSchema(key, f); sch != nil {
				out = append(out, collect(sch.Validate(value), at+"/"+escape(key))...)
			}
		}
	}
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	datasets := func(key, extra string) {
		list, _ := ev[key].([]any)
		for i, d := range list {
			at := "#/" + key + "/" + strconv.Itoa(i)
			check(obj(d)["facets"], at+"/facets")
			check(obj(d)[extra], at+"/"+extra)
		}
	}
	switch kind {
	case KindDataset:
		check(obj(ev["dataset"])["facets"], "#/dataset/facets")
		return out
	case KindRun:
		check(obj(ev["run"])["facets"], "#/run/facets")
	}
	check(obj(ev["job"])["facets"], "#/job/facets")
	datasets("inputs", "inputFacets")
	datasets("outputs", "outputFacets")
	return out
}

// facetSchema returns the embedded schema a facet names in its _schemaURL,
// with the value to validate against it: the facet itself for a $defs entry
// ("...SQLJobFacet.json#/$defs/SQLJobFacet", or the file's own definition
// when the URL has no fragment), or {key: facet} for a file's root. It
// returns nil when the facet names no embedded schema.
func (s *Schema) facetSchema(key string, facet any) (*jsonschema.Schema, any) {
	f, _ := facet.(map[string]any)
	url, _ := f["_schemaURL"].(string)
	base, frag, _ := strings.Cut(url, "#")
	root, ok := s.roots[base]
	if !ok {
		return nil, nil
	}
	if frag != "" {
		if sch, ok := s.defs[base+"#"+frag]; ok {
			return sch, facet
		}
		return nil, nil
	}
	if sch, ok := s.defs[base+"#/$defs/"+strings.TrimSuffix(path.Base(base), ".json")]; ok {
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
