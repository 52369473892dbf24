package openlineage

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
)

func TestStatePath(t *testing.T) {
	t.Parallel()
	S := func(s ...domain.State) []domain.State { return s }
	tests := []struct {
		from, to domain.State
		retry    bool
		want     []domain.State
	}{
		{domain.StatePending, domain.StateRunning, false, S(domain.StateQueued, domain.StateRunning)},
		{domain.StatePending, domain.StateSucceeded, false, S(domain.StateQueued, domain.StateRunning, domain.StateSucceeded)},
		{domain.StateQueued, domain.StateFailed, false, S(domain.StateRunning, domain.StateFailed)},
		{domain.StatePending, domain.StateCancelled, false, S(domain.StateCancelled)},
		{domain.StateRunning, domain.StateCancelled, false, S(domain.StateCancelled)},
		{domain.StateSucceeded, domain.StateFailed, true, nil},
		{domain.StateCancelled, domain.StateSucceeded, true, nil},
		{domain.StateFailed, domain.StateSucceeded, false, nil},
		{domain.StateFailed, domain.StateSucceeded, true, S(domain.StatePending, domain.StateQueued, domain.StateRunning, domain.StateSucceeded)},
		{domain.StateFailed, domain.StateCancelled, true, S(domain.StatePending, domain.StateCancelled)},
	}
	for _, tt := range tests {
		got := statePath(tt.from, tt.to, tt.retry)
		if !slices.Equal(got, tt.want) {
			t.Errorf("statePath(%s, %s, %v) = %v, want %v", tt.from, tt.to, tt.retry, got, tt.want)
		}
		// Every step is legal.
		cur := tt.from
		for _, s := range got {
			if !domain.CanTransition(cur, s) {
				t.Errorf("statePath(%s, %s): illegal step %s -> %s", tt.from, tt.to, cur, s)
			}
			cur = s
		}
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	tests := []struct {
		name        string
		cur, target domain.State
		typ         string
		at, decided time.Time
		known       bool
		want        []domain.State
		warn        string // substring; "" for no warning
	}{
		{"start a pending run", domain.StatePending, domain.StateRunning, EventStart, t0, time.Time{}, false,
			[]domain.State{domain.StateQueued, domain.StateRunning}, ""},
		{"start a running run", domain.StateRunning, domain.StateRunning, EventStart, t0, time.Time{}, false, nil, ""},
		{"late start after complete", domain.StateSucceeded, domain.StateRunning, EventStart, t0, time.Time{}, false, nil, ""},
		{"complete before start", domain.StatePending, domain.StateSucceeded, EventComplete, t0, time.Time{}, false,
			[]domain.State{domain.StateQueued, domain.StateRunning, domain.StateSucceeded}, ""},
		{"same terminal again", domain.StateFailed, domain.StateFailed, EventFail, t1, t0, true, nil, ""},
		{"later complete retries a failed run", domain.StateFailed, domain.StateSucceeded, EventComplete, t1, t0, true,
			[]domain.State{domain.StatePending, domain.StateQueued, domain.StateRunning, domain.StateSucceeded}, "retried"},
		{"older complete leaves a failed run", domain.StateFailed, domain.StateSucceeded, EventComplete, t0, t1, true, nil, "not later"},
		{"equal times keep the first", domain.StateFailed, domain.StateSucceeded, EventComplete, t0, t0, true, nil, "not later"},
		{"later fail cannot leave succeeded", domain.StateSucceeded, domain.StateFailed, EventFail, t1, t0, true, nil, "cannot leave"},
		{"unknown decision time", domain.StateCancelled, domain.StateSucceeded, EventComplete, t1, time.Time{}, false, nil, "does not change"},
	}
	for _, tt := range tests {
		got, warn := plan(tt.cur, tt.target, tt.typ, tt.at, tt.decided, tt.known)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: steps %v, want %v", tt.name, got, tt.want)
		}
		if (tt.warn == "") != (warn == "") || !strings.Contains(warn, tt.warn) {
			t.Errorf("%s: warning %q, want one containing %q", tt.name, warn, tt.warn)
		}
	}
}

func TestEmbeddedLoaderIsOffline(t *testing.T) {
	t.Parallel()
	docs, err := readEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	loader := embeddedLoader{}
	for _, d := range docs {
		if _, dup := loader[d.id]; dup {
			t.Errorf("$id %s appears twice", d.id)
		}
		loader[d.id] = d.name
	}
	if len(docs) != 39 {
		t.Errorf("%d embedded schemas, want 39 (OpenLineage.json and 38 facets)", len(docs))
	}
	for id := range loader {
		if _, err := loader.Load(id); err != nil {
			t.Errorf("load %s: %v", id, err)
		}
	}
	for _, url := range []string{"https://openlineage.io/spec/2-0-1/OpenLineage.json", "https://example.com/facet.json", "file:///etc/passwd"} {
		if _, err := loader.Load(url); err == nil || !strings.Contains(err.Error(), "never fetched") {
			t.Errorf("load %s: err = %v, want a refusal", url, err)
		}
	}
}

func TestForgive(t *testing.T) {
	t.Parallel()
	ev := map[string]any{"eventTime": "2020-12-28T19:51:01.641499", "run": map[string]any{}}
	got, warnings := forgive(ev)
	if got["eventTime"] != "2020-12-28T19:51:01.641499Z" || got["schemaURL"] != SpecURL+"#/$defs/RunEvent" {
		t.Errorf("forgive = %v", got)
	}
	if len(warnings) != 2 {
		t.Errorf("warnings %q, want two", warnings)
	}
	if _, ok := ev["schemaURL"]; ok || ev["eventTime"] != "2020-12-28T19:51:01.641499" {
		t.Errorf("forgive changed its input: %v", ev)
	}
	for _, ok := range []string{"2020-12-28T19:51:01Z", "2020-12-28T19:51:01+10:00", "yesterday"} {
		ev := map[string]any{"eventTime": ok, "schemaURL": "x"}
		if got, w := forgive(ev); got["eventTime"] != ok || len(w) != 0 {
			t.Errorf("forgive(%q) = %v, %q; want it untouched", ok, got, w)
		}
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	decode := func(s string) any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, ha, err := canonical(decode(`{"b": 1.50, "a": ["<x>", {"d": 2, "c": 3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != `{"a":["<x>",{"c":3,"d":2}],"b":1.50}` {
		t.Errorf("canonical = %s", a)
	}
	_, hb, _ := canonical(decode(`{"a":["<x>",{"d":2,"c":3}],"b":1.50}`))
	if ha != hb || len(ha) != 64 {
		t.Errorf("hashes %s and %s of the same event differ", ha, hb)
	}
	for _, bad := range []string{`{"a": "x\u0000y"}`, `{"a\u0000": 1}`, `{"a": [1e400]}`} {
		if _, _, err := canonical(decode(bad)); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("canonical(%s): err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestReadEventRefusesUnstorableNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 260)
	ev := map[string]any{
		"eventTime": "2026-01-01T00:00:00Z",
		"run":       map[string]any{"runId": "0d9b3f4e-3a61-4a0a-9f5a-7f1f2c3b4d5e"},
		"job":       map[string]any{"namespace": "ns", "name": "job"},
		"inputs":    []any{map[string]any{"namespace": "ns", "name": long}},
		"outputs":   []any{map[string]any{"namespace": "ns", "name": "a\nb"}},
	}
	_, err := readEvent(ev, KindRun)
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a validation error", err)
	}
	if !strings.Contains(ve.Fields["#/inputs/0"], "255") || ve.Fields["#/outputs/0"] == "" {
		t.Errorf("fields %v, want #/inputs/0 too long and #/outputs/0 not printable", ve.Fields)
	}
}
