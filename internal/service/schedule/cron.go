package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones even on hosts without a zoneinfo database

	"github.com/robfig/cron/v3"
)

// parser reads five-field expressions and the @ descriptors.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit is robfig/cron's mark of a field written as * or ?, which changes
// how day-of-month and day-of-week combine.
const starBit = 1 << 63

// searchYears bounds the search for the next tick: an expression that does
// not fire within it never fires (30 February).
const searchYears = 5

// Cron is a parsed expression in a time zone. Its ticks are wall-clock
// times of the zone: a wall-clock time that daylight saving skips does not
// fire, and one that it repeats fires once, at its first occurrence.
type Cron struct {
	spec *cron.SpecSchedule
	loc  *time.Location
}

// ParseCron parses a five-field expression (minute hour day-of-month month
// day-of-week) or one of @hourly, @daily, @midnight, @weekly, @monthly,
// @yearly, @annually, in the IANA time zone tz. The first error names the
// field at fault: "cron" or "timezone".
func ParseCron(expr, tz string) (*Cron, string, error) {
	loc, err := LoadZone(tz)
	if err != nil {
		return nil, "timezone", err
	}
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, "cron", fmt.Errorf("is required")
	}
	if strings.Contains(e, "TZ=") {
		return nil, "cron", fmt.Errorf("give the time zone in the timezone field, not in the expression")
	}
	if strings.HasPrefix(e, "@every") {
		return nil, "cron", fmt.Errorf("@every is not a calendar schedule; use a five-field expression")
	}
	if !strings.HasPrefix(e, "@") && len(strings.Fields(e)) != 5 {
		return nil, "cron", fmt.Errorf("must have five fields (minute hour day-of-month month day-of-week) or be a descriptor such as @daily")
	}
	s, err := parser.Parse(e)
	if err != nil {
		return nil, "cron", fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "failed to parse "))
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, "cron", fmt.Errorf("is not a calendar schedule")
	}
	return &Cron{spec: spec, loc: loc}, "", nil
}

// LoadZone loads an IANA time zone; "Local" and names that are not zones
// are refused, so that a schedule never depends on the host's settings.
func LoadZone(tz string) (*time.Location, error) {
	if tz == "" || tz == "Local" || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") {
		return nil, fmt.Errorf("must be an IANA time zone such as Europe/Berlin or UTC")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q; use an IANA name such as Europe/Berlin or UTC", tz)
	}
	return loc, nil
}

// Location returns the expression's time zone.
func (c *Cron) Location() *time.Location { return c.loc }

// Next returns the first tick strictly after t, and false when there is none
// within five years.
func (c *Cron) Next(t time.Time) (time.Time, bool) {
	local := t.In(c.loc)
	y, m, d := local.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // a civil date, zone-free
	end := day.AddDate(searchYears, 0, 0)
	for ; !day.After(end); day = day.AddDate(0, 0, 1) {
		if c.spec.Month&(1<<uint(day.Month())) == 0 || !c.dayMatches(day) {
			continue
		}
		for h := 0; h < 24; h++ {
			if c.spec.Hour&(1<<uint(h)) == 0 {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				if c.spec.Minute&(1<<uint(mi)) == 0 {
					continue
				}
				at, ok := c.wall(day, h, mi)
				if ok && at.After(t) {
					return at, true
				}
			}
		}
	}
	return time.Time{}, false
}

// dayMatches applies cron's rule: when either day field is restricted and
// the other is *, both must match; when both are restricted, either may.
func (c *Cron) dayMatches(day time.Time) bool {
	dom := c.spec.Dom&(1<<uint(day.Day())) != 0
	dow := c.spec.Dow&(1<<uint(day.Weekday())) != 0
	if c.spec.Dom&starBit != 0 || c.spec.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// wall returns the instant of a wall-clock time in the zone: false when the
// time does not exist (skipped by daylight saving), the first of the two
// instants when it happens twice.
func (c *Cron) wall(day time.Time, h, mi int) (time.Time, bool) {
	at := time.Date(day.Year(), day.Month(), day.Day(), h, mi, 0, 0, c.loc)
	same := func(x time.Time) bool {
		y, m, d := x.Date()
		return y == day.Year() && m == day.Month() && d == day.Day() && x.Hour() == h && x.Minute() == mi
	}
	if !same(at) {
		return time.Time{}, false
	}
	// A repeated wall-clock time: step back over the shift (whole hours or
	// half hours in practice) to its first occurrence.
	for _, back := range []time.Duration{2 * time.Hour, time.Hour, 30 * time.Minute} {
		if e := at.Add(-back); same(e) {
			return e.UTC(), true
		}
	}
	return at.UTC(), true
}
