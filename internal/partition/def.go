package partition

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/servo-data/servo/internal/domain"
)

// MaxStaticKeys caps the keys of a static definition.
const MaxStaticKeys = 10000

// unit is a time definition's period.
type unit int

const (
	hourly unit = iota + 1
	daily
	weekly
	monthly
)

// Def is a checked partition definition, ready to generate and check keys.
// Civil times (wall-clock values in the definition's time zone) are held as
// time.Time values in UTC, so that stepping by a period never meets a
// daylight-saving change; they become instants only through instant.
type Def struct {
	typ  string
	unit unit
	loc  *time.Location
	// start is the first period; end, when set, the first civil time not
	// included (periods start strictly before it).
	start time.Time
	end   *time.Time
	// keys are a static or dynamic definition's keys, in order.
	keys  []string
	index map[string]int
}

// Type returns the definition's type, such as time_daily.
func (d *Def) Type() string { return d.typ }

// IsTime reports whether the definition is time-based.
func (d *Def) IsTime() bool { return d.unit != 0 }

// Timezone returns the time zone of a time definition, or "".
func (d *Def) Timezone() string {
	if d.loc == nil {
		return ""
	}
	return d.loc.String()
}

// Format returns the key format as an strftime pattern, as the servo SDK
// parses keys; "" for static and dynamic keys.
func (d *Def) Format() string {
	if d.unit == hourly {
		return "%Y-%m-%dT%H"
	}
	if d.unit != 0 {
		return "%Y-%m-%d"
	}
	return ""
}

// Compile checks a definition and returns it ready for use. Problems are a
// *domain.ValidationError with fields named under "partitions.".
func Compile(p *domain.PartitionsDef) (*Def, error) {
	var v domain.Validator
	d := &Def{typ: p.Type}
	switch p.Type {
	case domain.PartitionHourly:
		d.unit = hourly
	case domain.PartitionDaily:
		d.unit = daily
	case domain.PartitionWeekly:
		d.unit = weekly
	case domain.PartitionMonthly:
		d.unit = monthly
	case domain.PartitionStatic, domain.PartitionDynamic:
	default:
		v.Add("partitions.type", "must be one of time_daily, time_hourly, time_weekly, time_monthly, static, dynamic")
		return nil, v.Err()
	}
	if d.unit == 0 {
		v.Check(p.StartDate == "", "partitions.start_date", "only for time partitions")
		v.Check(p.EndDate == "", "partitions.end_date", "only for time partitions")
		v.Check(p.Timezone == "", "partitions.timezone", "only for time partitions")
		if p.Type == domain.PartitionDynamic {
			v.Check(len(p.Keys) == 0, "partitions.keys", "a dynamic definition's keys are added over the API, not listed")
			return d, v.Err()
		}
		v.Check(len(p.Keys) >= 1 && len(p.Keys) <= MaxStaticKeys, "partitions.keys", "must hold 1 to %d keys", MaxStaticKeys)
		d.index = make(map[string]int, len(p.Keys))
		for i, k := range p.Keys {
			if err := CheckKeyText(k); err != nil {
				v.Add("partitions.keys", "key %d: %s", i, err.Error())
				break
			}
			if _, dup := d.index[k]; dup {
				v.Add("partitions.keys", "key %q is listed twice", k)
				break
			}
			d.index[k] = i
		}
		d.keys = slices.Clone(p.Keys)
		return d, v.Err()
	}
	v.Check(len(p.Keys) == 0, "partitions.keys", "only for static partitions")
	tz := p.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := loadLocation(tz)
	if err != nil {
		v.Add("partitions.timezone", "unknown time zone %q; use an IANA name such as Europe/Paris", p.Timezone)
	}
	d.loc = loc
	start, ok := parseCivil(p.StartDate)
	if !ok {
		v.Add("partitions.start_date", "is required, as YYYY-MM-DD or YYYY-MM-DDTHH[:MM[:SS]]")
	}
	if p.EndDate != "" {
		end, eok := parseCivil(p.EndDate)
		switch {
		case !eok:
			v.Add("partitions.end_date", "must be YYYY-MM-DD or YYYY-MM-DDTHH[:MM[:SS]]")
		case ok && !end.After(start):
			v.Add("partitions.end_date", "must be after start_date")
		default:
			d.end = &end
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	d.start = d.alignUp(start)
	return d, nil
}

// Validate checks a definition.
func Validate(p *domain.PartitionsDef) error {
	_, err := Compile(p)
	return err
}

// WithKeys returns a dynamic definition holding the given keys, in order.
func (d *Def) WithKeys(keys []string) *Def {
	out := *d
	out.keys = keys
	out.index = make(map[string]int, len(keys))
	for i, k := range keys {
		out.index[k] = i
	}
	return &out
}

// CheckKeyText checks a key's text: 1 to domain.MaxPartitionKeyLen printable
// characters.
func CheckKeyText(k string) error {
	n := utf8.RuneCountInString(k)
	if n < 1 || n > domain.MaxPartitionKeyLen || !utf8.ValidString(k) {
		return fmt.Errorf("must be 1 to %d characters of valid UTF-8", domain.MaxPartitionKeyLen)
	}
	for _, r := range k {
		if unicode.IsControl(r) {
			return fmt.Errorf("must not hold control characters")
		}
	}
	return nil
}

func loadLocation(name string) (*time.Location, error) {
	if name == "" || strings.ContainsAny(name, "\x00") || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("bad time zone")
	}
	if strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("local is not a fixed time zone")
	}
	return time.LoadLocation(name)
}

var civilLayouts = []string{"2006-01-02", "2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// parseCivil reads a wall-clock date or date and time.
func parseCivil(s string) (time.Time, bool) {
	for _, l := range civilLayouts {
		if len(s) == len(l) {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// floor returns the civil start of the period holding civil time c.
func (d *Def) floor(c time.Time) time.Time {
	y, m, day := c.Date()
	switch d.unit {
	case hourly:
		return time.Date(y, m, day, c.Hour(), 0, 0, 0, time.UTC)
	case daily:
		return time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	case weekly:
		back := (int(c.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, day-back, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
}

// alignUp returns the first period starting at or after civil time c.
func (d *Def) alignUp(c time.Time) time.Time {
	f := d.floor(c)
	if f.Before(c) {
		f = d.step(f, 1)
	}
	return d.skipGap(f, 1)
}

// step moves a period start by n periods (civil; gaps not skipped).
func (d *Def) step(c time.Time, n int) time.Time {
	switch d.unit {
	case hourly:
		return c.Add(time.Duration(n) * time.Hour)
	case daily:
		return c.AddDate(0, 0, n)
	case weekly:
		return c.AddDate(0, 0, 7*n)
	default:
		return c.AddDate(0, n, 0)
	}
}

// exists reports whether a civil period start happens in the time zone: an
// hour skipped by a daylight-saving change does not.
func (d *Def) exists(c time.Time) bool {
	if d.unit != hourly {
		return true
	}
	return d.instant(c).Hour() == c.Hour()
}

// skipGap moves c in direction dir (+1 or -1) past hours that do not exist.
func (d *Def) skipGap(c time.Time, dir int) time.Time {
	for !d.exists(c) {
		c = d.step(c, dir)
	}
	return c
}

// next returns the period after c.
func (d *Def) next(c time.Time) time.Time { return d.skipGap(d.step(c, 1), 1) }

// instant returns the moment civil time c happens in the time zone.
func (d *Def) instant(c time.Time) time.Time {
	y, m, day := c.Date()
	return time.Date(y, m, day, c.Hour(), c.Minute(), c.Second(), 0, d.loc)
}

// civil returns the wall-clock time of instant t in the time zone.
func (d *Def) civil(t time.Time) time.Time {
	l := t.In(d.loc)
	y, m, day := l.Date()
	return time.Date(y, m, day, l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

func (d *Def) format(c time.Time) string {
	if d.unit == hourly {
		return c.Format("2006-01-02T15")
	}
	return c.Format("2006-01-02")
}

// parseKey reads a time key back into its civil period start; it must be
// written exactly as format writes it and start a period.
func (d *Def) parseKey(k string) (time.Time, bool) {
	layout := "2006-01-02"
	if d.unit == hourly {
		layout = "2006-01-02T15"
	}
	if len(k) != len(layout) {
		return time.Time{}, false
	}
	c, err := time.Parse(layout, k)
	if err != nil || d.format(c) != k || !d.floor(c).Equal(c) || !d.exists(c) {
		return time.Time{}, false
	}
	return c, true
}

// last returns the last period that has ended by now and lies within the
// definition, and false when there is none.
func (d *Def) last(now time.Time) (time.Time, bool) {
	cur := d.floor(d.civil(now))
	c := d.skipGap(d.step(cur, -1), -1)
	if d.end != nil && !c.Before(*d.end) {
		c = d.skipGap(d.floor(d.end.Add(-time.Second)), -1)
	}
	if c.Before(d.start) {
		return time.Time{}, false
	}
	return c, true
}

// inRange reports whether period c is a key of the definition at now.
func (d *Def) inRange(c time.Time, now time.Time) bool {
	last, ok := d.last(now)
	return ok && !c.Before(d.start) && !c.After(last)
}
