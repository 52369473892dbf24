package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service/checks"
)

// CheckResultsFile is the name of the file, in a command step's working
// directory, where it writes its check results (SERVO_CHECK_RESULTS_PATH).
const CheckResultsFile = "servo-check-results.json"

// readCheckResults reads a command step's check results: none when the
// file is absent. Only a regular file is read, never through a symbolic
// link, and at most checks.MaxReportBytes of it: more is an error.
func readCheckResults(path string) ([]checks.Reported, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errors.New("the check results file cannot be opened (a link or not a file)")
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, errors.New("the check results file is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, checks.MaxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the check results file: %w", err)
	}
	if len(data) > checks.MaxReportBytes {
		return nil, fmt.Errorf("the check results file is over %d bytes", checks.MaxReportBytes)
	}
	return checks.ParseReport(data)
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	buf bytes.Buffer
	max int
}

// Write implements io.Writer; it never fails.
func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// Bytes returns what was kept.
func (h *headBuffer) Bytes() []byte { return h.buf.Bytes() }

// applyChecks records the attempt's check results and applies their
// decision: a successful attempt with a failed blocking check becomes a
// failure (retried as the step's policy says), and notes go to the run log.
func (rt *Runtime) applyChecks(ctx context.Context, run *domain.Run, res result) (result, error) {
	if res.outcome == stopped || res.outcome == refused {
		return res, nil
	}
	d, err := rt.svc.Checks().RecordAttempt(ctx, run, checks.Attempt{
		Succeeded: res.outcome == succeeded, Results: res.checks, ReadErr: res.checksErr,
	})
	if err != nil {
		return res, fmt.Errorf("record check results: %w", err)
	}
	for _, n := range d.Notes {
		if res.output != "" && res.output[len(res.output)-1] != '\n' {
			res.output += "\n"
		}
		res.output += n + "\n"
	}
	if len(d.Blocking) > 0 {
		res.outcome, res.message = failed, d.Error()
	}
	return res, nil
}
