package openlineage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/servo-data/servo/internal/domain"
)

// decodeNumber decodes JSON text as the HTTP layer once did: the whole
// value, numbers as json.Number.
func decodeNumber(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %.100s: %v", b, err)
	}
	return v
}

// wholeCanonical is the canonical JSON of JSON text read the way it was
// before events were read as text: decoded whole, then encoded.
func wholeCanonical(t testing.TB, raw []byte) ([]byte, bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(decodeNumber(t, raw)); err != nil {
		return nil, false
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true
}

// canonicalCases are JSON texts whose canonical form takes care: order,
// duplicates, escapes, numbers, white space, nesting.
var canonicalCases = []string{
	`{}`, `[]`, `{"a":[]}`, ` { "b" : 1 , "a" : 2 } `,
	`{"b": 1.50, "a": ["<x>", {"d": 2, "c": 3}]}`,
	`{"a":1,"a":2}`, `{"b":0,"a":1,"a":{"z":1,"y":2},"b":[3]}`,
	`{"\u0061":1,"a":2}`, `{"a":2,"\u0061":1}`, `{"\u0062":1,"a":2}`,
	`{"x":"\u00e9\/\b\f\n\r\t\"\\","y":"\u2028\u2029","z":"<&>","w":"\ud83d\ude00"}`,
	"{\"k\":\"caf\u00e9 \u2028 \u65e5\u672c\"}",
	"{\"bad\":\"\xff\xfe\",\"\xc3\":1}",
	`{"n":[0,-0,1e5,1E+5,-1.25e-3,123456789012345678901234567890,1e308]}`,
	`[{"b":{"d":[{"f":1,"e":2}],"c":null},"a":true},false,"s"]`,
	`{"a":{"b":{"c":{"e":1,"d":2},"a":0}},"0":[[[{"y":1,"x":2}]]]}`,
	`{"é":1,"e":2,"z":3,"É":4}`,
	"\n\t{\"a\"\r:\n[ 1 ,\t2 ] }\n",
}

func TestCanonicalJSON_SameAsWholeDecode(t *testing.T) {
	t.Parallel()
	texts := append([]string{}, canonicalCases...)
	for _, f := range eventFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	for _, text := range texts {
		want, _ := wholeCanonical(t, []byte(text))
		got, hash, err := canonicalJSON([]byte(text))
		if err != nil {
			t.Errorf("canonicalJSON(%.80q): %v", text, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("canonicalJSON(%.80q)\n = %.300s\nwant %.300s", text, got, want)
		}
		if _, h2, _ := canonicalJSON(got); h2 != hash {
			t.Errorf("canonicalJSON(%.80q): the canonical form hashes differently", text)
		}
	}
}

func TestCanonicalJSON_Refusals(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, at string }{
		{`{"a":"x\u0000y"}`, "#/a"},
		{`{"a":{"b\u0000":1}}`, "#/a"},
		{`{"a":[1,{"x~/y":[1e400]}]}`, "#/a/1/x~0~1y/0"},
		{`{"b":1,"a":[-1e999]}`, "#/a/0"},
	}
	for _, tt := range tests {
		_, _, err := canonicalJSON([]byte(tt.text))
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Fields[tt.at] == "" {
			t.Errorf("canonicalJSON(%s): err = %v, want invalid at %s", tt.text, err, tt.at)
		}
	}
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `{"a":01}`, `{"a":1.}`, `{"a":tru}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{} {}`, `{"a":1}x`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001)} {
		if _, _, err := canonicalJSON([]byte(bad)); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("canonicalJSON(%.40q): err = %v, want invalid", bad, err)
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, c := range canonicalCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		got, _, err := canonicalJSON(raw)
		want, ok := wholeCanonical(t, raw)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("canonicalJSON(%q): %v", raw, err)
			}
			return
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%q) = %s, want %s", raw, got, want)
		}
	})
}

// eventFiles lists the fixture events.
func eventFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("../../testdata/openlineage", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".json") && !strings.Contains(p, "template") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) < 20 {
		t.Fatalf("fixtures: %d, %v", len(out), err)
	}
	return out
}

// variants returns the event and variants of it that fail in many places:
// each facet replaced by an array, a string, itself without _producer,
// with a _schemaURL that is no string, with _deleted no boolean, and with
// its own members all numbers; and the event without a schemaURL, job or
// run, with a dataset, with a zoneless eventTime. Of a large event only the
// first facet of each place is changed.
func variants(t testing.TB, raw []byte) [][]byte {
	t.Helper()
	enc := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := [][]byte{raw}
	fresh := func() map[string]any { return decodeNumber(t, raw).(map[string]any) }
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	// facetsAt finds each facets object of ev by a stable path.
	type place struct {
		get func(ev map[string]any) map[string]any
	}
	var places []place
	for _, top := range []string{"run", "job", "dataset"} {
		places = append(places, place{func(ev map[string]any) map[string]any { return obj(obj(ev[top])["facets"]) }})
	}
	for _, list := range []string{"inputs", "outputs"} {
		l, _ := fresh()[list].([]any)
		n := len(l)
		for i := range n {
			for _, k := range []string{"facets", "inputFacets", "outputFacets"} {
				places = append(places, place{func(ev map[string]any) map[string]any {
					l, _ := ev[list].([]any)
					return obj(obj(l[i])[k])
				}})
			}
		}
	}
	changes := []func(f map[string]any) any{
		func(map[string]any) any { return []any{1, 2} },
		func(map[string]any) any { return "facet" },
		func(f map[string]any) any { delete(f, "_producer"); return f },
		func(f map[string]any) any { f["_schemaURL"] = 5; return f },
		func(f map[string]any) any { f["_deleted"] = "yes"; return f },
		func(f map[string]any) any {
			for k := range f {
				if !strings.HasPrefix(k, "_") {
					f[k] = 42
				}
			}
			return f
		},
	}
	for _, p := range places {
		keys := []string{}
		for k := range p.get(fresh()) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(raw) > 32<<10 && len(keys) > 1 {
			keys = keys[:1]
		}
		for _, k := range keys {
			for _, change := range changes {
				ev := fresh()
				facets := p.get(ev)
				facets[k] = change(obj(facets[k]))
				out = append(out, enc(ev))
			}
		}
	}
	for _, change := range []func(ev map[string]any){
		func(ev map[string]any) { delete(ev, "schemaURL") },
		func(ev map[string]any) { delete(ev, "job") },
		func(ev map[string]any) { delete(ev, "run") },
		func(ev map[string]any) {
			ev["dataset"] = map[string]any{"namespace": "n", "name": "d", "facets": map[string]any{"schema": map[string]any{"_producer": "p", "fields": 1}}}
		},
		func(ev map[string]any) { ev["eventTime"] = "2020-12-28T19:51:01.641499" },
	} {
		ev := fresh()
		change(ev)
		out = append(out, enc(ev))
	}
	return out
}

// wholeRead reads an event as Ingest did before it read events as text:
// decoded whole, validated with Validate or forgive and ValidateLenient,
// then read.
func wholeRead(s *Schema, ev map[string]any, mode Mode) (*event, []string, error) {
	checked, warnings := ev, []string(nil)
	var kind Kind
	var err error
	if mode == Lenient {
		checked, warnings = forgive(ev)
		var dropped []Problem
		kind, checked, dropped, err = s.ValidateLenient(checked)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range dropped {
			warnings = append(warnings, p.Path+": "+p.Message)
		}
	} else if kind, err = s.Validate(checked); err != nil {
		return nil, nil, err
	}
	e, err := readEvent(checked, kind)
	if err != nil {
		return nil, nil, err
	}
	return e, warnings, nil
}

// sameError reports whether two errors say the same, schema problems
// compared in any order within a path.
func sameError(a, b error) bool {
	var sa, sb *SchemaError
	if errors.As(a, &sa) && errors.As(b, &sb) {
		norm := func(ps []Problem) []Problem {
			ps = append([]Problem{}, ps...)
			sort.Slice(ps, func(i, j int) bool {
				return ps[i].Path+"\x00"+ps[i].Message < ps[j].Path+"\x00"+ps[j].Message
			})
			return ps
		}
		return sa.Kind == sb.Kind && reflect.DeepEqual(norm(sa.Problems), norm(sb.Problems))
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// TestRead_SameAsWholeEvent pins that reading an event from its skeleton
// says what validating and reading the whole decoded event says, in both
// modes, for every fixture and variants failing at each facet.
func TestRead_SameAsWholeEvent(t *testing.T) {
	t.Parallel()
	s, err := LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	for l, keep := range s.keep {
		if keep == nil {
			t.Errorf("the facets at place %d are decoded whole: the schema looks at more than their base members", l)
		}
	}
	for _, file := range eventFiles(t) {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range variants(t, raw) {
				body, _, err := canonicalJSON(v)
				if err != nil {
					t.Fatalf("canonicalJSON: %v", err)
				}
				for _, mode := range []Mode{Strict, Lenient} {
					want, wantW, wantErr := wholeRead(s, decodeNumber(t, body).(map[string]any), mode)
					got, gotW, gotErr := s.read(body, mode)
					if !sameError(gotErr, wantErr) {
						t.Errorf("%s %.200s:\nerr  %v\nwant %v", mode, v, gotErr, wantErr)
					}
					sort.Strings(gotW)
					sort.Strings(wantW)
					if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotW, wantW) {
						t.Errorf("%s %.200s:\nread %+v %q\nwant %+v %q", mode, v, got, gotW, want, wantW)
					}
				}
			}
		})
	}
}

// TestFacetPlaces pins what the skeleton relies on in the event schema:
// the members of each facets object match one base facet definition, and
// nothing else looks at them.
func TestFacetPlaces(t *testing.T) {
	t.Parallel()
	docs, err := readEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defs := docs[0].doc["$defs"].(map[string]any)
	// properties collects a definition's properties, its own and its
	// allOf members'.
	var properties func(s map[string]any) map[string]any
	properties = func(s map[string]any) map[string]any {
		out := map[string]any{}
		if p, ok := s["properties"].(map[string]any); ok {
			for k, v := range p {
				out[k] = v
			}
		}
		all, _ := s["allOf"].([]any)
		for _, item := range all {
			for k, v := range properties(item.(map[string]any)) {
				out[k] = v
			}
		}
		return out
	}
	for _, c := range []struct{ def, prop string }{
		{"Run", "facets"}, {"Job", "facets"}, {"Dataset", "facets"}, {"InputDataset", "inputFacets"}, {"OutputDataset", "outputFacets"},
	} {
		got, _ := properties(defs[c.def].(map[string]any))[c.prop].(map[string]any)
		var slot string
		switch c.prop {
		case "inputFacets":
			slot = "InputDatasetFacet"
		case "outputFacets":
			slot = "OutputDatasetFacet"
		default:
			slot = c.def + "Facet"
		}
		want := map[string]any{"description": got["description"], "type": "object", "anyOf": []any{
			map[string]any{"type": "object", "additionalProperties": map[string]any{"$ref": "#/$defs/" + slot}},
		}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s.%s = %v, want %v", c.def, c.prop, got, want)
		}
	}
	for _, slot := range locSlot {
		names, ok := prunable(defs, slot)
		if !ok || !names["_producer"] || !names["_schemaURL"] {
			t.Errorf("%s: looks at %v (%v), want the base facet members", slot, names, ok)
		}
	}
}

func TestPrunable(t *testing.T) {
	t.Parallel()
	base := map[string]any{"type": "object", "properties": map[string]any{"_producer": map[string]any{"type": "string"}}, "additionalProperties": true, "required": []any{"_producer"}}
	tests := []struct {
		name string
		def  map[string]any
		want []string // nil: not prunable
	}{
		{"base", base, []string{"_producer"}},
		{"through allOf and $ref", map[string]any{"allOf": []any{map[string]any{"$ref": "#/$defs/Base"}, map[string]any{"properties": map[string]any{"_deleted": true}}}}, []string{"_deleted", "_producer"}},
		{"closed", map[string]any{"allOf": []any{map[string]any{"$ref": "#/$defs/Base"}}, "additionalProperties": false}, nil},
		{"additionalProperties with a schema", map[string]any{"additionalProperties": map[string]any{"type": "string"}}, nil},
		{"patternProperties", map[string]any{"patternProperties": map[string]any{"^x": true}}, nil},
		{"unevaluatedProperties", map[string]any{"unevaluatedProperties": false}, nil},
		{"minProperties", map[string]any{"minProperties": 2}, nil},
		{"anyOf", map[string]any{"anyOf": []any{map[string]any{"$ref": "#/$defs/Base"}}}, nil},
		{"a remote $ref", map[string]any{"$ref": "https://example.com/x.json"}, nil},
		{"a loop", map[string]any{"$ref": "#/$defs/Slot"}, nil},
	}
	for _, tt := range tests {
		names, ok := prunable(map[string]any{"Base": base, "Slot": tt.def}, "Slot")
		var got []string
		for n := range names {
			got = append(got, n)
		}
		sort.Strings(got)
		if ok != (tt.want != nil) || (ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%s: %v %v, want %v", tt.name, got, ok, tt.want)
		}
	}
}
