package checks_test

import (
	"strings"
	"testing"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/checks"
)

func TestParseReportReadsTheSDKShapes(t *testing.T) {
	t.Parallel()
	sdk := `{"check_name": "a", "status": "passed", "message": "ok", "rows_checked": 10, "rows_failed": 0, "details": {"x": 1}, "duration_ms": 1.5, "check_type": "not_null", "severity": "error"}`
	for name, in := range map[string]string{
		"array":         "[" + sdk + `, {"check_name": "b", "outcome": "FAILED"}]`,
		"wrapped":       `{"check_results": [` + sdk + `, {"check_name": "b", "status": "fail"}]}`,
		"json lines":    sdk + "\n\n" + `{"check_name": "b", "status": "failed"}` + "\n",
		"spaces around": "\n  [" + sdk + `,{"check_name":"b","status":"failed"}]  `,
	} {
		got, err := checks.ParseReport([]byte(in))
		if err != nil || len(got) != 2 {
			t.Errorf("%s: %+v, %v", name, got, err)
			continue
		}
		a, b := got[0], got[1]
		if a.Name != "a" || a.Outcome != domain.CheckPassed || a.Message != "ok" || *a.RowsChecked != 10 || *a.RowsFailed != 0 ||
			string(a.Details) != `{"x":1}` || *a.DurationMS != 2 || len(a.Problems) != 0 {
			t.Errorf("%s: first result %+v", name, a)
		}
		if b.Name != "b" || b.Outcome != domain.CheckFailed || len(b.Problems) != 0 {
			t.Errorf("%s: second result %+v", name, b)
		}
	}
	if got, err := checks.ParseReport([]byte("  \n")); err != nil || len(got) != 0 {
		t.Errorf("empty report: %+v, %v", got, err)
	}
	for name, in := range map[string]string{
		"truncated":    `[{"check_name": "a"`,
		"bad line":     `{"check_name": "a", "status": "passed"}` + "\nnot json\n",
		"scalar":       `42`,
		"too big":      "[" + strings.Repeat(" ", checks.MaxReportBytes) + "]",
		"wrapped null": `{"check_results": 5}`,
	} {
		if _, err := checks.ParseReport([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Entries with problems are kept, with the problem named.
	got, err := checks.ParseReport([]byte(`[{"status": "passed"}, {"check_name": "x", "status": "meh"}, {"check_name": "y", "status": "passed", "rows_failed": -1, "duration_ms": "slow"}, 7]`))
	if err != nil || len(got) != 4 {
		t.Fatalf("%+v, %v", got, err)
	}
	for i, field := range []string{"check_name", "status", "rows_failed", "result"} {
		if got[i].Problems[field] == "" {
			t.Errorf("entry %d: problems %v, want one with %s", i, got[i].Problems, field)
		}
	}
	if got[2].Problems["duration_ms"] == "" {
		t.Errorf("entry 2: problems %v, want one with duration_ms", got[2].Problems)
	}
}

func TestBodyReportFindsResultsInAnHTTPStepsBody(t *testing.T) {
	t.Parallel()
	got, err := checks.BodyReport([]byte(`{"ok": true, "check_results": [{"check_name": "a", "status": "failed"}]}`))
	if err != nil || len(got) != 1 || got[0].Outcome != domain.CheckFailed {
		t.Fatalf("%+v, %v", got, err)
	}
	for _, body := range []string{``, `plain text`, `[1,2]`, `{"ok": true}`, `{"check_results": null}`} {
		if got, err := checks.BodyReport([]byte(body)); err != nil || len(got) != 0 {
			t.Errorf("%q: %+v, %v; want no results", body, got, err)
		}
	}
	if _, err := checks.BodyReport([]byte(`{"check_results": "nope"}`)); err == nil {
		t.Error("malformed check_results: no error")
	}
}

func TestParseReportTakesPythonTimes(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"2026-12-03T10:00:00.123456", "2026-12-03T10:00:00.123456+00:00", "2026-12-03 10:00:00", "2026-12-03T11:00:00+01:00"} {
		got, err := checks.ParseReport([]byte(`[{"check_name":"a","status":"passed","executed_at":"` + at + `"}]`))
		if err != nil || len(got) != 1 || len(got[0].Problems) != 0 || got[0].ExecutedAt.Hour() != 10 || got[0].ExecutedAt.Location().String() != "UTC" {
			t.Errorf("%s: %+v, %v", at, got, err)
		}
	}
}
