package checks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/servo-data/servo/internal/domain"
)

// MaxReportBytes is how much of a step's check results Servo reads.
const MaxReportBytes = 1 << 20

// Reported is one result as a step or a client reports it: the servo SDK's
// CheckResult.to_dict() shape.
type Reported struct {
	Name        string
	Outcome     domain.CheckOutcome
	Message     string
	RowsChecked *int64
	RowsFailed  *int64
	Details     json.RawMessage
	DurationMS  *int64
	ExecutedAt  time.Time
	// Problems lists what was wrong with the entry, keyed by field; a step's
	// entry with problems is stored as an error, a posted one is refused.
	Problems map[string]string
}

// wireResult is the SDK's to_dict(): the outcome is "status" or "outcome".
// Fields the SDK adds that Servo does not keep are ignored.
type wireResult struct {
	CheckName   *string         `json:"check_name"`
	Status      *string         `json:"status"`
	Outcome     *string         `json:"outcome"`
	Message     json.RawMessage `json:"message"`
	RowsChecked json.RawMessage `json:"rows_checked"`
	RowsFailed  json.RawMessage `json:"rows_failed"`
	Details     json.RawMessage `json:"details"`
	DurationMS  json.RawMessage `json:"duration_ms"`
	ExecutedAt  json.RawMessage `json:"executed_at"`
}

// outcomes maps the SDK's status words onto outcomes.
var outcomes = map[string]domain.CheckOutcome{
	"passed": domain.CheckPassed, "pass": domain.CheckPassed, "success": domain.CheckPassed,
	"failed": domain.CheckFailed, "fail": domain.CheckFailed, "failure": domain.CheckFailed,
	"skipped": domain.CheckSkipped, "skip": domain.CheckSkipped,
	"error": domain.CheckError, "errored": domain.CheckError,
}

// ParseReport reads a step's check results: a JSON array of results, an
// object {"check_results": [...]}, or JSON lines of results. An empty
// report holds none. Anything else is an error.
func ParseReport(data []byte) ([]Reported, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	if len(data) > MaxReportBytes {
		return nil, fmt.Errorf("check results over %d bytes", MaxReportBytes)
	}
	var entries []json.RawMessage
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil, fmt.Errorf("check results: not a JSON array of results: %w", err)
		}
	case '{':
		var wrapped map[string]json.RawMessage
		if json.Unmarshal(data, &wrapped) == nil {
			if inner, ok := wrapped["check_results"]; ok {
				if err := json.Unmarshal(inner, &entries); err != nil {
					return nil, fmt.Errorf("check results: \"check_results\" must be an array of results")
				}
				break
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), MaxReportBytes+1)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			if !json.Valid(line) || line[0] != '{' {
				return nil, fmt.Errorf("check results: line %d is not a JSON object", n)
			}
			entries = append(entries, append(json.RawMessage(nil), line...))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("check results: %w", err)
		}
	default:
		return nil, fmt.Errorf("check results: want a JSON array, an object or JSON lines")
	}
	out := make([]Reported, 0, len(entries))
	for _, e := range entries {
		out = append(out, parseEntry(e))
	}
	return out, nil
}

// BodyReport reads the check results of an http step's response body:
// {"check_results": [...]} in a JSON object. A body without them holds
// none; malformed results are an error.
func BodyReport(body []byte) ([]Reported, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || len(body) > MaxReportBytes {
		return nil, nil
	}
	var wrapped struct {
		CheckResults json.RawMessage `json:"check_results"`
	}
	if json.Unmarshal(body, &wrapped) != nil || len(wrapped.CheckResults) == 0 || string(wrapped.CheckResults) == "null" {
		return nil, nil
	}
	return ParseReport(wrapped.CheckResults)
}

// parseEntry reads one result; what is wrong with it goes to Problems.
func parseEntry(raw json.RawMessage) Reported {
	r := Reported{Problems: map[string]string{}}
	var w wireResult
	if err := json.Unmarshal(raw, &w); err != nil {
		r.Problems["result"] = "must be an object with check_name and status"
		return r
	}
	if w.CheckName == nil || *w.CheckName == "" {
		r.Problems["check_name"] = "is required"
	} else {
		r.Name = *w.CheckName
		if utf8.RuneCountInString(r.Name) > domain.MaxNameLen || !utf8.ValidString(r.Name) {
			r.Problems["check_name"] = fmt.Sprintf("must be at most %d characters", domain.MaxNameLen)
		}
	}
	word := w.Status
	if word == nil {
		word = w.Outcome
	}
	if word == nil {
		r.Problems["status"] = "is required: passed, failed, skipped or error"
	} else if o, ok := outcomes[strings.ToLower(strings.TrimSpace(*word))]; ok {
		r.Outcome = o
	} else {
		r.Problems["status"] = fmt.Sprintf("unknown status %q: want passed, failed, skipped or error", *word)
	}
	if len(w.Message) > 0 && string(w.Message) != "null" {
		if json.Unmarshal(w.Message, &r.Message) != nil {
			r.Problems["message"] = "must be a string"
		} else if utf8.RuneCountInString(r.Message) > domain.MaxCheckMessageLen {
			r.Problems["message"] = fmt.Sprintf("must be at most %d characters", domain.MaxCheckMessageLen)
		}
	}
	r.RowsChecked = wholeNumber(w.RowsChecked, "rows_checked", r.Problems)
	r.RowsFailed = wholeNumber(w.RowsFailed, "rows_failed", r.Problems)
	r.DurationMS = millis(w.DurationMS, r.Problems)
	if d := bytes.TrimSpace(w.Details); len(d) > 0 && string(d) != "null" {
		if len(d) > domain.MaxCheckDetailsBytes {
			r.Problems["details"] = fmt.Sprintf("must be at most %d bytes of JSON", domain.MaxCheckDetailsBytes)
		} else {
			var buf bytes.Buffer
			if json.Compact(&buf, d) == nil {
				r.Details = buf.Bytes()
			}
		}
	}
	if len(w.ExecutedAt) > 0 && string(w.ExecutedAt) != "null" {
		var text string
		t, ok := time.Time{}, false
		if json.Unmarshal(w.ExecutedAt, &text) == nil {
			t, ok = parseTime(text)
		}
		if ok {
			r.ExecutedAt = t
		} else {
			r.Problems["executed_at"] = "must be an RFC 3339 time"
		}
	}
	return r
}

// wholeNumber reads an optional count; the SDK may write it as a float.
func wholeNumber(raw json.RawMessage, field string, problems map[string]string) *int64 {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f < 0 || f != math.Trunc(f) || f > 1<<53 {
		problems[field] = "must be a whole number, 0 or more"
		return nil
	}
	n := int64(f)
	return &n
}

// millis reads duration_ms, which the SDK writes as a float.
func millis(raw json.RawMessage, problems map[string]string) *int64 {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f < 0 || f > 1<<53 {
		problems["duration_ms"] = "must be a number, 0 or more"
		return nil
	}
	n := int64(math.Round(f))
	return &n
}

// parseTime reads RFC 3339, and Python's isoformat() without an offset,
// which it takes for UTC.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// fitForStorage keeps a step's result whose only problems are in its
// message, details or time: a message over domain.MaxCheckMessageLen
// characters is cut, oversized details are replaced by a note, and an
// unreadable time becomes the time of recording. It reports whether
// problems remain (with the check's name or outcome).
func fitForStorage(r *Reported) bool {
	for k := range r.Problems {
		if k != "message" && k != "details" && k != "executed_at" {
			return true
		}
	}
	if rs := []rune(r.Message); len(rs) > domain.MaxCheckMessageLen {
		r.Message = string(rs[:domain.MaxCheckMessageLen-1]) + "\u2026"
	}
	if _, ok := r.Problems["details"]; ok {
		r.Details = json.RawMessage(fmt.Sprintf(`{"dropped":"details over %d bytes"}`, domain.MaxCheckDetailsBytes))
	}
	r.Problems = nil
	return false
}
