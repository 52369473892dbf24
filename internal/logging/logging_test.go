package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/logging"
)

func TestJSONFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.NewWithWriter(config.Log{Level: "info", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("shown", zap.String("k", "v"))
	_ = log.Sync()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want only the info one:\n%s", len(lines), buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatalf("line is not JSON: %v\n%s", err, lines[0])
	}
	for key, want := range map[string]any{"level": "info", "msg": "shown", "k": "v"} {
		if entry[key] != want {
			t.Errorf("%s = %v, want %v", key, entry[key], want)
		}
	}
	if _, ok := entry["time"]; !ok {
		t.Errorf("entry has no time: %v", entry)
	}
}

func TestConsoleFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.NewWithWriter(config.Log{Level: "debug", Format: "console"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("visible at debug", zap.Int("n", 3))
	_ = log.Sync()
	out := buf.String()
	if !strings.Contains(out, "DEBUG") || !strings.Contains(out, "visible at debug") || !strings.Contains(out, `{"n": 3}`) {
		t.Errorf("console output %q lacks level, message or fields", out)
	}
	if strings.HasPrefix(out, "{") {
		t.Errorf("console output is JSON: %q", out)
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level    string
		wantWarn bool
		wantInfo bool
	}{
		{"debug", true, true},
		{"info", true, true},
		{"warn", true, false},
		{"error", false, false},
	}
	for _, tt := range tests {
		log, err := logging.NewWithWriter(config.Log{Level: tt.level, Format: "json"}, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%s: %v", tt.level, err)
		}
		if got := log.Core().Enabled(zap.WarnLevel); got != tt.wantWarn {
			t.Errorf("level %s: warn enabled = %v, want %v", tt.level, got, tt.wantWarn)
		}
		if got := log.Core().Enabled(zap.InfoLevel); got != tt.wantInfo {
			t.Errorf("level %s: info enabled = %v, want %v", tt.level, got, tt.wantInfo)
		}
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []config.Log{
		{Level: "loud", Format: "json"},
		{Level: "info", Format: "xml"},
	} {
		log, err := logging.NewWithWriter(cfg, &bytes.Buffer{})
		if err == nil || log != nil {
			t.Errorf("NewWithWriter(%+v) = %v, %v; want nil and an error", cfg, log, err)
		}
	}
}
