package openlineage

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// An event is validated and read from its skeleton: the event decoded
// (json.Number numbers) but for its facets, which stay JSON text and are
// decoded one at a time to be checked against their own schema. In the
// skeleton a facet is pruned: its members that no schema applied at its
// place looks at (all but _producer, _schemaURL and _deleted) hold null,
// and an array is empty. The event schema and the base facet schemas give
// the skeleton the answers they give the whole event; the facets the
// mapping reads (schema, columnLineage, errorMessage, parent) are decoded
// whole.

// facetLoc is a place facets sit in an event.
type facetLoc int

// The places of facets, with the base facet schema their members match.
const (
	locRun     facetLoc = iota // #/run/facets: RunFacet
	locJob                     // #/job/facets: JobFacet
	locDataset                 // #/inputs/i/facets, #/outputs/i/facets: DatasetFacet
	locInput                   // #/inputs/i/inputFacets: InputDatasetFacet
	locOutput                  // #/outputs/i/outputFacets: OutputDatasetFacet
	locStatic                  // #/dataset/facets: DatasetFacet
	numLocs
)

// locSlot names each place's base facet definition in the event schema.
var locSlot = [numLocs]string{"RunFacet", "JobFacet", "DatasetFacet", "InputDatasetFacet", "OutputDatasetFacet", "DatasetFacet"}

// visited reports whether the facets of l are checked in an event of kind
// k, as eachFacets visits them.
func (l facetLoc) visited(k Kind) bool {
	switch k {
	case KindDataset:
		return l == locStatic
	case KindRun:
		return l != locStatic
	}
	return l != locStatic && l != locRun
}

// readWhole reports whether the mapping reads facet key at l, which the
// skeleton then holds decoded whole.
func (l facetLoc) readWhole(key string) bool {
	switch l {
	case locRun:
		return key == "errorMessage" || key == "parent"
	case locDataset, locStatic:
		return key == "schema" || key == "columnLineage"
	}
	return false
}

// skeleton is an event decoded but for its facets.
type skeleton struct {
	root   map[string]any
	facets []facetRef
	// keep lists, per place, the facet members the skeleton decodes; nil
	// to decode facets whole there.
	keep *[numLocs]map[string]bool
}

// facetRef is one facet of a skeleton.
type facetRef struct {
	loc facetLoc
	// at is the facets object's place, a JSON pointer fragment.
	at  string
	key string
	raw []byte
	// whole reports whether owner[key] is the facet decoded whole, not
	// pruned.
	whole bool
	// owner is the facets object in the skeleton.
	owner map[string]any
}

// value returns the facet decoded whole.
func (f *facetRef) value() any {
	if f.whole {
		return f.owner[f.key]
	}
	return decodeAll(f.raw)
}

// newSkeleton decodes the skeleton of the event in raw, a JSON object.
func newSkeleton(raw []byte, keep *[numLocs]map[string]bool) *skeleton {
	sk := &skeleton{root: map[string]any{}, keep: keep}
	i := skipSpace(raw, 0)
	members(raw[i:], func(key string, v []byte) {
		switch key {
		case "run":
			sk.root[key] = sk.object(v, "#/run", "facets", locRun, "", 0)
		case "job":
			sk.root[key] = sk.object(v, "#/job", "facets", locJob, "", 0)
		case "dataset":
			sk.root[key] = sk.object(v, "#/dataset", "facets", locStatic, "", 0)
		case "inputs", "outputs":
			extra, loc := "inputFacets", locInput
			if key == "outputs" {
				extra, loc = "outputFacets", locOutput
			}
			if v[0] != '[' {
				sk.root[key] = decodeAll(v)
				return
			}
			list := []any{}
			n := 0
			elements(v, func(d []byte) {
				at := "#/" + key + "/" + strconv.Itoa(n)
				list = append(list, sk.object(d, at, "facets", locDataset, extra, loc))
				n++
			})
			sk.root[key] = list
		default:
			sk.root[key] = decodeAll(v)
		}
	})
	return sk
}

// object decodes an object whose members name and extra (if not empty)
// hold facets of places loc and extraLoc.
func (sk *skeleton) object(v []byte, at, name string, loc facetLoc, extra string, extraLoc facetLoc) any {
	if v[0] != '{' {
		return decodeAll(v)
	}
	m := map[string]any{}
	members(v, func(key string, val []byte) {
		switch {
		case key == name:
			m[key] = sk.container(val, at+"/"+key, loc)
		case extra != "" && key == extra:
			m[key] = sk.container(val, at+"/"+key, extraLoc)
		default:
			m[key] = decodeAll(val)
		}
	})
	return m
}

// container decodes a facets object at place loc.
func (sk *skeleton) container(v []byte, at string, loc facetLoc) any {
	if v[0] != '{' {
		return decodeAll(v)
	}
	m := map[string]any{}
	keep := sk.keep[loc]
	members(v, func(key string, val []byte) {
		f := facetRef{loc: loc, at: at, key: key, raw: val, owner: m}
		if keep == nil || loc.readWhole(key) {
			m[key], f.whole = decodeAll(val), true
		} else {
			m[key] = prune(val, keep)
		}
		sk.facets = append(sk.facets, f)
	})
	return m
}

// prune decodes a facet keeping only the members in keep.
func prune(v []byte, keep map[string]bool) any {
	switch v[0] {
	case '[':
		return []any{}
	case '{':
		m := map[string]any{}
		members(v, func(key string, val []byte) {
			if keep[key] {
				m[key] = decodeAll(val)
			} else {
				m[key] = nil
			}
		})
		return m
	}
	return decodeAll(v)
}

// decodeAll decodes valid JSON text as the HTTP layer did: numbers as
// json.Number.
func decodeAll(v []byte) any {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil
	}
	return out
}

// members calls fn with each member of the valid JSON object at the start
// of b: its decoded key and its value's text.
func members(b []byte, fn func(key string, v []byte)) {
	j := skipSpace(b, 1)
	if b[j] == '}' {
		return
	}
	for {
		end := stringEnd(b, j)
		lit := b[j:end]
		var key string
		if plain(lit) {
			key = string(lit[1 : len(lit)-1])
		} else {
			key = unquote(lit)
		}
		v := skipSpace(b, skipSpace(b, end)+1) // past ':'
		e := skipValue(b, v)
		fn(key, b[v:e])
		j = skipSpace(b, e)
		if b[j] == '}' {
			return
		}
		j = skipSpace(b, j+1) // past ','
	}
}

// elements calls fn with the text of each element of the valid JSON array
// at the start of b.
func elements(b []byte, fn func(v []byte)) {
	j := skipSpace(b, 1)
	if b[j] == ']' {
		return
	}
	for {
		e := skipValue(b, j)
		fn(b[j:e])
		j = skipSpace(b, e)
		if b[j] == ']' {
			return
		}
		j = skipSpace(b, j+1)
	}
}

// prunable returns the members of an object the schema def of the event
// schema looks at, and whether those are all it looks at: it has only
// properties, required, type, additionalProperties true and annotations,
// itself and through allOf and local $refs.
func prunable(defs map[string]any, def string) (map[string]bool, bool) {
	names := map[string]bool{}
	var walk func(s any, depth int) bool
	walk = func(s any, depth int) bool {
		m, ok := s.(map[string]any)
		if !ok || depth > 16 {
			return false
		}
		for k, v := range m {
			switch k {
			case "description", "title", "example", "examples", "$comment", "type", "required":
			case "properties":
				props, ok := v.(map[string]any)
				if !ok {
					return false
				}
				for name := range props {
					names[name] = true
				}
			case "additionalProperties":
				if v != true {
					return false
				}
			case "allOf":
				list, ok := v.([]any)
				if !ok {
					return false
				}
				for _, item := range list {
					if !walk(item, depth+1) {
						return false
					}
				}
			case "$ref":
				ref, _ := v.(string)
				name, ok := strings.CutPrefix(ref, "#/$defs/")
				if !ok || !walk(defs[name], depth+1) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	if !walk(defs[def], 0) {
		return nil, false
	}
	return names, true
}

// pruning returns what the skeleton keeps of facets at each place, given
// the event schema's document.
func pruning(doc map[string]any) *[numLocs]map[string]bool {
	defs, _ := doc["$defs"].(map[string]any)
	var keep [numLocs]map[string]bool
	for l, slot := range locSlot {
		if names, ok := prunable(defs, slot); ok {
			keep[l] = names
		}
	}
	return &keep
}

// read validates the canonical JSON of an event in mode and reads what the
// mapping needs from it; in lenient mode it returns the warnings.
func (s *Schema) read(body []byte, mode Mode) (*event, []string, error) {
	sk := newSkeleton(body, s.keep)
	ev := sk.root
	var warnings []string
	var kind Kind
	if mode == Lenient {
		ev, warnings = forgive(ev)
		var dropped []Problem
		var err error
		if kind, dropped, err = s.loose.checkLenient(ev, sk.facets); err != nil {
			return nil, nil, err
		}
		for _, p := range dropped {
			warnings = append(warnings, p.Path+": "+p.Message)
		}
	} else {
		var err error
		if kind, err = s.strict.checkStrict(ev, sk.facets); err != nil {
			return nil, nil, err
		}
	}
	e, err := readEvent(ev, kind)
	if err != nil {
		return nil, nil, err
	}
	return e, warnings, nil
}

// checkStrict is Validate on a skeleton.
func (c *compiled) checkStrict(ev map[string]any, facets []facetRef) (Kind, error) {
	problems, kind := c.validateCore(ev)
	for i := range facets {
		f := &facets[i]
		if !f.loc.visited(kind) {
			continue
		}
		if sch, _ := c.facetSchema(f.key, f.owner[f.key]); sch != nil {
			_, value := c.facetSchema(f.key, f.value())
			problems = append(problems, collect(sch.Validate(value), f.at+"/"+escape(f.key))...)
		}
	}
	if len(problems) == 0 {
		return kind, nil
	}
	return kind, &SchemaError{Kind: kind, Problems: tidy(problems)}
}

// checkLenient is ValidateLenient on a skeleton: it drops the failing
// facets from the skeleton.
func (c *compiled) checkLenient(ev map[string]any, facets []facetRef) (Kind, []Problem, error) {
	kind := presumedKind(ev)
	var dropped []Problem
	for i := range facets {
		f := &facets[i]
		if !f.loc.visited(kind) {
			continue
		}
		fat := f.at + "/" + escape(f.key)
		v := f.owner[f.key]
		problems := collect(c.defs[SpecURL+"#/$defs/"+locSlot[f.loc]].Validate(v), fat)
		if sch, _ := c.facetSchema(f.key, v); sch != nil {
			_, value := c.facetSchema(f.key, f.value())
			problems = append(problems, collect(sch.Validate(value), fat)...)
		}
		if len(problems) == 0 {
			continue
		}
		delete(f.owner, f.key)
		for _, p := range problems {
			dropped = append(dropped, Problem{Path: p.Path, Message: p.Message + "; the facet " + fat + " is kept as sent and not read"})
		}
	}
	problems, kind := c.validateCore(ev)
	if len(problems) > 0 {
		return kind, nil, &SchemaError{Kind: kind, Problems: tidy(problems)}
	}
	return kind, tidy(dropped), nil
}
