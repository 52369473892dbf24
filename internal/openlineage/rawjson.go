package openlineage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/servo-data/servo/internal/domain"
)

// This file reads events as JSON text, without decoding them whole: a
// decoded event of many small objects takes some twenty times its size in
// memory.

// Ingest validates one decoded event (an object decoded with json.Number
// numbers, as jsonschema.UnmarshalJSON does), stores it and maps it, in the
// tenant of ctx, in one transaction: an event that fails changes nothing.
// An invalid event is an error matching domain.ErrInvalid (a *SchemaError
// when the schema refuses it); the system scope is refused with
// domain.ErrForbidden. It is IngestJSON of the event written as JSON.
func (in *Ingester) Ingest(ctx context.Context, v any) (*Result, error) {
	sc, err := domain.ScopeFrom(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok || sc.IsSystem() {
		return in.IngestJSON(ctx, nil) // refused, as IngestJSON says
	}
	raw, err := encodeEvent(v)
	if err != nil {
		return nil, err
	}
	return in.IngestJSON(ctx, raw)
}

// maxDepth caps the nesting of an event, as encoding/json does.
const maxDepth = 10000

// maxRawLen caps the JSON text an event may be (offsets are kept as int32).
const maxRawLen = math.MaxInt32 - 1

// SplitBatch returns the elements of a JSON array, each the JSON text of one
// value, sharing raw's memory. It fails when raw is not one JSON array.
func SplitBatch(raw []byte) ([][]byte, error) {
	i := skipSpace(raw, 0)
	if !json.Valid(raw) || i == len(raw) || raw[i] != '[' {
		return nil, domain.Invalid("body", "must be one JSON array")
	}
	var out [][]byte
	j := skipSpace(raw, i+1)
	if raw[j] == ']' {
		return out, nil
	}
	for {
		j = skipSpace(raw, j)
		e := skipValue(raw, j)
		out = append(out, raw[j:e])
		j = skipSpace(raw, e)
		if raw[j] == ']' {
			return out, nil
		}
		j++ // the comma
	}
}

// isObject reports whether the JSON text raw starts with an object.
func isObject(raw []byte) bool {
	i := skipSpace(raw, 0)
	return i < len(raw) && raw[i] == '{'
}

// canonicalJSON returns the canonical JSON of the event in raw, as
// canonical returns it of the decoded event (object keys sorted, the last
// of duplicate keys kept, numbers as sent, strings as encoding/json writes
// them without HTML escaping, no white space), and its hex SHA-256. It
// refuses what canonical refuses, and JSON text that is not one value.
func canonicalJSON(raw []byte) ([]byte, string, error) {
	if len(raw) > maxRawLen {
		return nil, "", domain.Invalid("#", "the event is too large")
	}
	p := &canonParser{in: raw}
	i := skipSpace(raw, 0)
	end, err := p.parse(i, 0)
	if err != nil {
		return nil, "", err
	}
	if skipSpace(raw, end) != len(raw) {
		return nil, "", domain.Invalid("#", "the event must be exactly one JSON value")
	}
	slices.SortFunc(p.objs, func(a, b objIndex) int { return int(a.start) - int(b.start) })
	p.out = make([]byte, 0, len(raw))
	if _, err := p.emit(i); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(p.out)
	return p.out, hex.EncodeToString(sum[:]), nil
}

// canonParser writes JSON text canonically in two passes: parse checks the
// syntax and notes each object whose members are not in strictly
// increasing key order, with its members sorted; emit writes the text,
// those objects' members in their sorted order. An object already in order
// costs nothing but the scan.
type canonParser struct {
	in []byte
	// objs are the objects to reorder, by offset once parse is done;
	// members holds their members, each object's a run in key order.
	objs    []objIndex
	members []member
	scratch []member
	out     []byte
	// path is where emit is, for errors.
	path []pathToken
}

// member is one member of an object: the offsets of its key's opening
// quote and of its value.
type member struct{ key, val int32 }

// objIndex is an object whose members emit reorders.
type objIndex struct {
	start, end int32 // the offsets of '{' and just past '}'
	first, n   int32 // its members in canonParser.members
}

// pathToken is one step of a path: an object key (its offset) or an array
// index.
type pathToken struct {
	key   int32 // -1 for an index
	index int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// syntaxError is the error for JSON text that is not valid.
func syntaxError(at int, what string) error {
	return domain.Invalid("#", "the event is not valid JSON: %s at byte %d", what, at)
}

// parse checks the value at i (no white space before it) and returns the
// offset just past it.
func (p *canonParser) parse(i, depth int) (int, error) {
	b := p.in
	if i >= len(b) {
		return i, syntaxError(i, "unexpected end")
	}
	switch c := b[i]; {
	case c == '{':
		return p.parseObject(i, depth+1)
	case c == '[':
		if depth+1 > maxDepth {
			return i, syntaxError(i, "nesting too deep")
		}
		j := skipSpace(b, i+1)
		if j < len(b) && b[j] == ']' {
			return j + 1, nil
		}
		for {
			e, err := p.parse(j, depth+1)
			if err != nil {
				return e, err
			}
			j = skipSpace(b, e)
			if j >= len(b) {
				return j, syntaxError(j, "unexpected end")
			}
			switch b[j] {
			case ']':
				return j + 1, nil
			case ',':
				j = skipSpace(b, j+1)
			default:
				return j, syntaxError(j, "expected ',' or ']'")
			}
		}
	case c == '"':
		return parseString(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return parseNumber(b, i)
	}
	return i, syntaxError(i, "unexpected character")
}

func (p *canonParser) parseObject(i, depth int) (int, error) {
	b := p.in
	if depth > maxDepth {
		return i, syntaxError(i, "nesting too deep")
	}
	start := i
	mark := len(p.scratch)
	j := skipSpace(b, i+1)
	if j < len(b) && b[j] == '}' {
		return j + 1, nil
	}
	for {
		if j >= len(b) || b[j] != '"' {
			return j, syntaxError(j, "expected a key")
		}
		key := j
		e, err := parseString(b, j)
		if err != nil {
			return e, err
		}
		j = skipSpace(b, e)
		if j >= len(b) || b[j] != ':' {
			return j, syntaxError(j, "expected ':'")
		}
		val := skipSpace(b, j+1)
		if e, err = p.parse(val, depth); err != nil {
			return e, err
		}
		p.scratch = append(p.scratch, member{key: int32(key), val: int32(val)})
		j = skipSpace(b, e)
		if j >= len(b) {
			return j, syntaxError(j, "unexpected end")
		}
		if b[j] == '}' {
			break
		}
		if b[j] != ',' {
			return j, syntaxError(j, "expected ',' or '}'")
		}
		j = skipSpace(b, j+1)
	}
	end := j + 1
	ms := p.scratch[mark:]
	ordered := true
	for k := 1; k < len(ms) && ordered; k++ {
		ordered = bytes.Compare(p.key(ms[k-1].key), p.key(ms[k].key)) < 0
	}
	if !ordered {
		slices.SortStableFunc(ms, func(x, y member) int { return bytes.Compare(p.key(x.key), p.key(y.key)) })
		first := len(p.members)
		for k, m := range ms {
			// Of equal keys the last one sent wins, as when decoding.
			if k+1 < len(ms) && bytes.Equal(p.key(m.key), p.key(ms[k+1].key)) {
				continue
			}
			p.members = append(p.members, m)
		}
		p.objs = append(p.objs, objIndex{start: int32(start), end: int32(end), first: int32(first), n: int32(len(p.members) - first)})
	}
	p.scratch = p.scratch[:mark]
	return end, nil
}

// key returns the decoded key whose opening quote is at off.
func (p *canonParser) key(off int32) []byte {
	lit := p.in[off:stringEnd(p.in, int(off))]
	if plain(lit) {
		return lit[1 : len(lit)-1]
	}
	return []byte(unquote(lit))
}

// parseString checks the string at i and returns the offset past it.
func parseString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return j, syntaxError(j, "control character in a string")
		case c == '\\':
			j++
			if j >= len(b) {
				return j, syntaxError(j, "unexpected end")
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return j, syntaxError(j, "unexpected end")
				}
				for _, h := range b[j+1 : j+5] {
					if !isHex(h) {
						return j, syntaxError(j, "invalid escape")
					}
				}
				j += 4
			default:
				return j, syntaxError(j, "invalid escape")
			}
		}
	}
	return len(b), syntaxError(len(b), "unexpected end")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseNumber checks the number at i and returns the offset past it.
func parseNumber(b []byte, i int) (int, error) {
	j := i
	if b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	default:
		return j, syntaxError(j, "invalid number")
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) || !isDigit(b[j]) {
			return j, syntaxError(j, "invalid number")
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || !isDigit(b[j]) {
			return j, syntaxError(j, "invalid number")
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	return j, nil
}

func literal(b []byte, i int, word string) (int, error) {
	if !bytes.HasPrefix(b[i:], []byte(word)) {
		return i, syntaxError(i, "unexpected character")
	}
	return i + len(word), nil
}

// stringEnd returns the offset just past the valid string at i.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1
		case '\\':
			j++
		}
	}
	return len(b)
}

// skipValue returns the offset just past the valid JSON value at i (no
// white space before it).
func skipValue(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			j = stringEnd(b, j) - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		default:
			if depth == 0 && !isSpace(c) && c != ',' && c != ':' {
				// A number or a literal at the top.
				for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
					j++
				}
				return j
			}
			continue
		}
		if depth == 0 {
			return j + 1
		}
	}
	return len(b)
}

// plain reports whether a string literal reads as its bytes and
// encoding/json writes it back the same: no escapes, valid UTF-8, and no
// U+2028 or U+2029 (which it escapes).
func plain(lit []byte) bool {
	ascii := true
	for _, c := range lit {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii {
		return true
	}
	return utf8.Valid(lit) && !bytes.Contains(lit, []byte("\u2028")) && !bytes.Contains(lit, []byte("\u2029"))
}

// unquote decodes a valid string literal as encoding/json does.
func unquote(lit []byte) string {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return ""
	}
	return s
}

// emit writes the valid value at i canonically and returns the offset
// past it.
func (p *canonParser) emit(i int) (int, error) {
	b := p.in
	switch c := b[i]; {
	case c == '{':
		if k, ok := slices.BinarySearchFunc(p.objs, int32(i), func(o objIndex, at int32) int { return int(o.start) - int(at) }); ok {
			o := p.objs[k]
			p.out = append(p.out, '{')
			for n, m := range p.members[o.first : o.first+o.n] {
				if n > 0 {
					p.out = append(p.out, ',')
				}
				if err := p.emitMember(m); err != nil {
					return 0, err
				}
			}
			p.out = append(p.out, '}')
			return int(o.end), nil
		}
		p.out = append(p.out, '{')
		j := skipSpace(b, i+1)
		for n := 0; b[j] != '}'; n++ {
			if n > 0 {
				p.out = append(p.out, ',')
			}
			e := skipSpace(b, stringEnd(b, j)) // at ':'
			val := skipSpace(b, e+1)
			p.path = append(p.path, pathToken{key: int32(j)})
			if err := p.emitKey(j); err != nil {
				return 0, err
			}
			p.out = append(p.out, ':')
			end, err := p.emit(val)
			if err != nil {
				return 0, err
			}
			p.path = p.path[:len(p.path)-1]
			j = skipSpace(b, end)
			if b[j] == ',' {
				j = skipSpace(b, j+1)
			}
		}
		p.out = append(p.out, '}')
		return j + 1, nil
	case c == '[':
		p.out = append(p.out, '[')
		j := skipSpace(b, i+1)
		for n := 0; b[j] != ']'; n++ {
			if n > 0 {
				p.out = append(p.out, ',')
			}
			p.path = append(p.path, pathToken{key: -1, index: n})
			end, err := p.emit(j)
			if err != nil {
				return 0, err
			}
			p.path = p.path[:len(p.path)-1]
			j = skipSpace(b, end)
			if b[j] == ',' {
				j = skipSpace(b, j+1)
			}
		}
		p.out = append(p.out, ']')
		return j + 1, nil
	case c == '"':
		end := stringEnd(b, i)
		if err := p.emitString(b[i:end], false); err != nil {
			return 0, err
		}
		return end, nil
	case c == '-' || isDigit(c):
		end, _ := parseNumber(b, i)
		num := b[i:end]
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil && !math.IsInf(f, 0) {
			return 0, domain.Invalid(p.where(), "%s is not a number", num)
		}
		if math.IsInf(f, 0) {
			return 0, domain.Invalid(p.where(), "%s is out of range", num)
		}
		p.out = append(p.out, num...)
		return end, nil
	}
	end := skipValue(b, i) // true, false, null
	p.out = append(p.out, b[i:end]...)
	return end, nil
}

// emitMember writes one member of a reordered object.
func (p *canonParser) emitMember(m member) error {
	p.path = append(p.path, pathToken{key: m.key})
	if err := p.emitKey(int(m.key)); err != nil {
		return err
	}
	p.out = append(p.out, ':')
	if _, err := p.emit(int(m.val)); err != nil {
		return err
	}
	p.path = p.path[:len(p.path)-1]
	return nil
}

// emitKey writes the key at off; the path ends with it.
func (p *canonParser) emitKey(off int) error {
	return p.emitString(p.in[off:stringEnd(p.in, off)], true)
}

// emitString writes a string literal as encoding/json writes its decoded
// text, refusing NUL characters.
func (p *canonParser) emitString(lit []byte, isKey bool) error {
	if plain(lit) {
		p.out = append(p.out, lit...)
		return nil
	}
	s := unquote(lit)
	if strings.ContainsRune(s, 0) {
		if isKey {
			return domain.Invalid(p.whereUp(1), "keys must not hold NUL characters")
		}
		return domain.Invalid(p.where(), "must not hold NUL characters")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return domain.Invalid(p.where(), "cannot be encoded: %v", err)
	}
	p.out = append(p.out, bytes.TrimRight(buf.Bytes(), "\n")...)
	return nil
}

// where returns the path emit is at, as a JSON pointer fragment.
func (p *canonParser) where() string { return p.whereUp(0) }

// whereUp returns the path emit is at without its last up tokens.
func (p *canonParser) whereUp(up int) string {
	var sb strings.Builder
	sb.WriteByte('#')
	for _, t := range p.path[:len(p.path)-up] {
		sb.WriteByte('/')
		if t.key < 0 {
			sb.WriteString(strconv.Itoa(t.index))
		} else {
			sb.WriteString(escape(string(p.key(t.key))))
		}
	}
	return sb.String()
}

// encodeEvent writes a decoded event as JSON text.
func encodeEvent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, domain.Invalid("#", "the event cannot be encoded: %v", err)
	}
	return buf.Bytes(), nil
}
