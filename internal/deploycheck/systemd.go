package deploycheck

import (
	"fmt"
	"regexp"
	"strings"
)

// UnitEntry is one Key=Value line of a unit, with its line number.
type UnitEntry struct {
	Key, Value string
	Line       int
}

// Unit is a systemd unit file: its entries by section, in order.
type Unit map[string][]UnitEntry

// Values returns every value of key in section, in order.
func (u Unit) Values(section, key string) []string {
	var out []string
	for _, e := range u[section] {
		if e.Key == key {
			out = append(out, e.Value)
		}
	}
	return out
}

// Last returns the value of key in section that systemd uses: the last one.
func (u Unit) Last(section, key string) (string, bool) {
	v := u.Values(section, key)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// ParseUnit parses a systemd unit file, joining continuation lines.
func ParseUnit(text string) (Unit, error) {
	u := Unit{}
	section := ""
	var pending string
	pendingLine := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if pending == "" && (line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if pending == "" {
			pendingLine = i + 1
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return u, fmt.Errorf("line %d: %q is neither a [Section] nor Key=Value in a section", pendingLine, line)
		}
		u[section] = append(u[section], UnitEntry{Key: strings.TrimSpace(key), Value: strings.TrimSpace(value), Line: pendingLine})
	}
	return u, nil
}

// envLine matches one VARIABLE=value line of an environment file.
var envLine = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// ParseEnvFile parses a systemd EnvironmentFile: VARIABLE=value lines,
// comments starting with # or ;.
func ParseEnvFile(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		m := envLine.FindStringSubmatch(line)
		if m == nil {
			return out, fmt.Errorf("line %d: %q is not VARIABLE=value", i+1, line)
		}
		v := m[2]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[m[1]] = v
	}
	return out, nil
}
