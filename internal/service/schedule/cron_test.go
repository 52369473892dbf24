package schedule

import (
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestCronNext pins the tick rule: wall-clock times of the zone, a time
// that daylight saving skips does not fire, a repeated one fires once (at
// its first occurrence), month ends and descriptors.
func TestCronNext(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr, tz, after string
		want                  []string // successive ticks; empty: never
	}{
		// Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
		{"berlin spring: 02:30 does not exist that day", "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
			[]string{"2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
		{"berlin spring: hourly jumps the missing hour", "0 * * * *", "Europe/Berlin", "2026-03-28T23:30:00Z",
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}},
		{"berlin fall: 02:30 happens twice, fires once", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"berlin fall: hourly fires the repeated hour once", "0 * * * *", "Europe/Berlin", "2026-10-24T23:30:00Z",
			[]string{"2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}},
		{"berlin fall: a minute schedule inside the repeated hour", "59 2 * * *", "Europe/Berlin", "2026-10-25T00:59:00Z",
			[]string{"2026-10-26T01:59:00Z"}},
		{"berlin daily 02:00 before, on and after the spring day", "0 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:00:00Z", "2026-03-30T00:00:00Z"}},
		// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
		{"new york spring: 02:30 does not exist that day", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-09T06:30:00Z"}},
		{"new york fall: 01:30 happens twice, fires once", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"new york fall: every 30 minutes across the repeated hour", "*/30 * * * *", "America/New_York", "2026-11-01T04:45:00Z",
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"}},
		// Month ends and calendar edges.
		{"31st skips short months", "0 0 31 * *", "UTC", "2026-04-01T00:00:00Z",
			[]string{"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
		{"29 February waits for a leap year", "0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z"}},
		{"30 February never fires", "0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", nil},
		{"@monthly at midnight of the zone", "@monthly", "Europe/Berlin", "2026-12-15T00:00:00Z",
			[]string{"2026-12-31T23:00:00Z", "2027-01-31T23:00:00Z", "2027-02-28T23:00:00Z"}},
		{"@weekly is Sunday midnight", "@weekly", "UTC", "2026-12-02T10:00:00Z",
			[]string{"2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"}},
		{"@weekly in New York", "@weekly", "America/New_York", "2026-12-02T10:00:00Z",
			[]string{"2026-12-06T05:00:00Z"}},
		{"@daily", "@daily", "UTC", "2026-12-31T23:59:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"@hourly", "@hourly", "UTC", "2026-12-31T23:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"strictly after: a tick at the instant is not next", "0 9 * * *", "UTC", "2026-06-01T09:00:00Z",
			[]string{"2026-06-02T09:00:00Z"}},
		{"day of month or day of week when both are set", "0 9 1 * MON", "UTC", "2026-06-01T09:00:00Z",
			[]string{"2026-06-08T09:00:00Z", "2026-06-15T09:00:00Z", "2026-06-22T09:00:00Z", "2026-06-29T09:00:00Z", "2026-07-01T09:00:00Z"}},
		{"weekdays only", "0 9 * * 1-5", "UTC", "2026-12-04T10:00:00Z", []string{"2026-12-07T09:00:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, field, err := ParseCron(tc.expr, tc.tz)
			if err != nil {
				t.Fatalf("parse %q: %s: %v", tc.expr, field, err)
			}
			at := utc(tc.after)
			if len(tc.want) == 0 {
				if next, ok := c.Next(at); ok {
					t.Fatalf("Next = %s, want none", next)
				}
				return
			}
			for i, w := range tc.want {
				next, ok := c.Next(at)
				if !ok || !next.Equal(utc(w)) {
					t.Fatalf("tick %d after %s = %s (%v), want %s", i, at.Format(time.RFC3339), next.Format(time.RFC3339), ok, w)
				}
				at = next
			}
		})
	}
}

func TestParseCronRejects(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, tz, field string }{
		{"", "UTC", "cron"},
		{"* * * *", "UTC", "cron"},
		{"0 0 * * * *", "UTC", "cron"},
		{"61 * * * *", "UTC", "cron"},
		{"0 25 * * *", "UTC", "cron"},
		{"0 0 0 * *", "UTC", "cron"},
		{"@every 5m", "UTC", "cron"},
		{"@sometimes", "UTC", "cron"},
		{"CRON_TZ=UTC 0 0 * * *", "UTC", "cron"},
		{"0 0 * * *", "Mars/Olympus", "timezone"},
		{"0 0 * * *", "Local", "timezone"},
		{"0 0 * * *", "", "timezone"},
		{"0 0 * * *", "../../etc/passwd", "timezone"},
	}
	for _, tc := range cases {
		if _, field, err := ParseCron(tc.expr, tc.tz); err == nil || field != tc.field {
			t.Errorf("ParseCron(%q, %q) = %s, %v; want an error on %s", tc.expr, tc.tz, field, err, tc.field)
		}
	}
}

func TestPartitionKey(t *testing.T) {
	t.Parallel()
	berlin, _ := LoadZone("Europe/Berlin")
	// 02:00 in Berlin on 2026-03-30 (CEST) is 00:00 UTC.
	tick := utc("2026-03-30T00:00:00Z")
	cases := []struct {
		rule domain.PartitionRule
		want string
	}{
		{domain.PartitionNone, ""},
		{domain.PartitionTickDay, "2026-03-30"},
		{domain.PartitionPreviousDay, "2026-03-29"},
		{domain.PartitionTickHour, "2026-03-30-02:00"},
		{domain.PartitionPreviousHour, "2026-03-30-01:00"},
	}
	for _, tc := range cases {
		if got := partitionKey(tc.rule, tick, berlin); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.rule, got, tc.want)
		}
	}
	// The previous day of the first of a month, in the zone, not in UTC.
	if got := partitionKey(domain.PartitionPreviousDay, utc("2026-02-28T23:30:00Z"), berlin); got != "2026-02-28" {
		t.Errorf("previous_day of 00:30 on 1 March in Berlin = %q, want 2026-02-28", got)
	}
	// The previous hour across the spring gap: 03:00 CEST follows 01:00 CET.
	if got := partitionKey(domain.PartitionPreviousHour, utc("2026-03-29T01:00:00Z"), berlin); got != "2026-03-29-01:00" {
		t.Errorf("previous_hour of 03:00 CEST on the spring day = %q, want 2026-03-29-01:00", got)
	}
}

func TestPlanTicks(t *testing.T) {
	t.Parallel()
	hourly, _, err := ParseCron("0 * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	next := utc("2026-12-01T10:00:00Z")
	cases := []struct {
		name     string
		now      string
		catchup  domain.Catchup
		max      int
		fire     []string
		skipped  int
		wantNext string
	}{
		{"not due", "2026-12-01T09:59:59Z", domain.CatchupNone, 10, nil, 0, "2026-12-01T10:00:00Z"},
		{"due on time", "2026-12-01T10:00:00Z", domain.CatchupNone, 10, []string{"2026-12-01T10:00:00Z"}, 0, "2026-12-01T11:00:00Z"},
		{"none: only the latest of three", "2026-12-01T12:30:00Z", domain.CatchupNone, 10, []string{"2026-12-01T12:00:00Z"}, 2, "2026-12-01T13:00:00Z"},
		{"all: every missed tick, oldest first", "2026-12-01T12:30:00Z", domain.CatchupAll, 10,
			[]string{"2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "2026-12-01T12:00:00Z"}, 0, "2026-12-01T13:00:00Z"},
		{"all: at most max_catchup, the latest ones", "2026-12-01T14:00:00Z", domain.CatchupAll, 2,
			[]string{"2026-12-01T13:00:00Z", "2026-12-01T14:00:00Z"}, 3, "2026-12-01T15:00:00Z"},
	}
	for _, tc := range cases {
		p := planTicks(hourly, next, utc(tc.now), tc.catchup, tc.max)
		var fired []string
		for _, f := range p.Fire {
			fired = append(fired, f.Format(time.RFC3339))
		}
		if len(fired) != len(tc.fire) || (len(fired) > 0 && fired[0] != tc.fire[0]) || (len(fired) > 0 && fired[len(fired)-1] != tc.fire[len(tc.fire)-1]) {
			t.Errorf("%s: fire %v, want %v", tc.name, fired, tc.fire)
		}
		if got := len(p.Skipped) + p.SkippedMore; got != tc.skipped {
			t.Errorf("%s: skipped %d, want %d", tc.name, got, tc.skipped)
		}
		if !p.Next.Equal(utc(tc.wantNext)) {
			t.Errorf("%s: next %s, want %s", tc.name, p.Next, tc.wantNext)
		}
	}
	// A long outage walks the missed ticks but records a bounded number.
	minutely, _, _ := ParseCron("* * * * *", "UTC")
	p := planTicks(minutely, next, next.Add(48*time.Hour), domain.CatchupNone, 1)
	if len(p.Fire) != 1 || len(p.Skipped) != maxSkipRecords || p.SkippedMore != 48*60-maxSkipRecords {
		t.Errorf("two days of a minute schedule: fire %d, skipped %d + %d", len(p.Fire), len(p.Skipped), p.SkippedMore)
	}
}
