package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testutil"
)

// TestMain fails the binary when the suite leaves a server, a worker or a
// pool running.
func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// TestSmoke runs the suite in its -short form against the test PostgreSQL,
// so that the benchmark keeps building, seeding and measuring. It asserts
// that every measurement produced a row, never any timing.
func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := options{Short: true, Duration: 300 * time.Millisecond, Clients: 4, Repeat: 1, Pool: 5, Sizes: shortSizes}
	if err := run(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GET /api/v1/assets/{id}", "by offset", "by cursor", "POST /api/v1/assets", "lineage downstream", "trigger to success", "bare pgx point read", "bare pgx keyset query, same page", "?count=exact", "observed materializations triggered at once", "POST /api/v1/materialize with", "GET /api/v1/runs?limit=50 (first page",
		latencyRiverRow, latencyRunningRow, latencySuccessRow, latencyChainRow} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestWriteReportKeepsNotes checks that a rerun replaces only the generated
// section of BENCHMARKS.md.
func TestWriteReportKeepsNotes(t *testing.T) {
	path := t.TempDir() + "/B.md"
	if err := writeReport(path, "one\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, "two\n"); err != nil {
		t.Fatal(err)
	}
	b, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b, "one") || !strings.Contains(b, "two") || !strings.Contains(b, "# Benchmarks") {
		t.Fatalf("report file:\n%s", b)
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// TestOnlyRefusesUnknownSections checks that -only names known sections.
func TestOnlyRefusesUnknownSections(t *testing.T) {
	t.Parallel()
	if err := (options{Only: "core"}).checkOnly(); err != nil {
		t.Fatalf("core: %v", err)
	}
	if err := (options{Only: "point"}).checkOnly(); err != nil {
		t.Fatalf("point: %v", err)
	}
	if err := (options{Only: "core,nope"}).checkOnly(); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown section: got %v, want an error naming it", err)
	}
	if (options{Only: "core"}).selected("other") || !(options{}).selected("other") {
		t.Fatal("selected: -only core must leave other sections out, an empty -only must keep them")
	}
}

// TestOnlyPoint runs -only point in its -short form: the point-read rows
// and none of the other core rows.
func TestOnlyPoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := options{Short: true, Duration: 300 * time.Millisecond, Clients: 4, Repeat: 1, Pool: 5, Sizes: shortSizes, Only: "point"}
	if err := run(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GET /api/v1/assets/{id}", "bare pgx point read", "pgx in BEGIN + set_config + COMMIT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	for _, unwanted := range []string{"by offset", "POST /api/v1/assets", "lineage downstream", "trigger to success"} {
		if strings.Contains(out.String(), unwanted) {
			t.Errorf("-only point reports %q:\n%s", unwanted, out.String())
		}
	}
}
