package partition

import (
	"fmt"
	"time"
)

// Keys returns up to limit keys after the key after ("" for the first), in
// key order, and whether more follow. Time keys are those whose period has
// ended by now; static and dynamic keys are the listed ones. It costs
// O(limit), however many keys the definition has.
func (d *Def) Keys(after string, limit int, now time.Time) ([]string, bool) {
	out := []string{}
	if limit <= 0 {
		return out, false
	}
	if !d.IsTime() {
		i := 0
		if after != "" {
			j, ok := d.index[after]
			if !ok {
				return out, false
			}
			i = j + 1
		}
		end := min(i+limit, len(d.keys))
		if i < end {
			out = append(out, d.keys[i:end]...)
		}
		return out, end < len(d.keys)
	}
	last, ok := d.last(now)
	if !ok {
		return out, false
	}
	c := d.start
	if after != "" {
		a, ok := d.parseKey(after)
		if !ok {
			return out, false
		}
		if !a.Before(d.start) {
			c = d.next(a)
		}
	}
	for ; !c.After(last); c = d.next(c) {
		if len(out) == limit {
			return out, true
		}
		out = append(out, d.format(c))
	}
	return out, false
}

// Contains reports whether key is a key of the definition at now.
func (d *Def) Contains(key string, now time.Time) bool {
	if !d.IsTime() {
		_, ok := d.index[key]
		return ok
	}
	c, ok := d.parseKey(key)
	return ok && d.inRange(c, now)
}

// Check returns why key is not a key of the definition at now, or nil.
func (d *Def) Check(key string, now time.Time) error {
	if key == "" {
		return fmt.Errorf("is required: the asset is partitioned (%s)", d.typ)
	}
	if d.Contains(key, now) {
		return nil
	}
	if !d.IsTime() {
		return fmt.Errorf("%q is not one of the asset's partition keys", key)
	}
	c, ok := d.parseKey(key)
	switch {
	case !ok:
		return fmt.Errorf("%q is not a %s key (%s)", key, d.typ, d.example())
	case c.Before(d.start):
		return fmt.Errorf("%q is before the first partition, %s", key, d.format(d.start))
	case d.end != nil && !c.Before(*d.end):
		return fmt.Errorf("%q is at or after the partitions' end_date", key)
	default:
		return fmt.Errorf("%q has not ended yet", key)
	}
}

func (d *Def) example() string {
	switch d.unit {
	case hourly:
		return "such as 2026-11-27T13"
	case daily:
		return "such as 2026-11-27"
	case weekly:
		return "a Monday's date, such as 2026-11-23"
	default:
		return "the first of a month, such as 2026-11-01"
	}
}

// Range returns the keys from start to end, both included, in key order.
// It fails when either end is not a key, end comes before start, or the
// range holds more than max keys.
func (d *Def) Range(start, end string, max int, now time.Time) ([]string, error) {
	if err := d.Check(start, now); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	if err := d.Check(end, now); err != nil {
		return nil, fmt.Errorf("end: %w", err)
	}
	var out []string
	if !d.IsTime() {
		i, j := d.index[start], d.index[end]
		if j < i {
			return nil, fmt.Errorf("end comes before start")
		}
		if j-i+1 > max {
			return nil, fmt.Errorf("the range holds %d keys, more than %d", j-i+1, max)
		}
		return append(out, d.keys[i:j+1]...), nil
	}
	a, _ := d.parseKey(start)
	b, _ := d.parseKey(end)
	if b.Before(a) {
		return nil, fmt.Errorf("end comes before start")
	}
	for c := a; !c.After(b); c = d.next(c) {
		if len(out) == max {
			return nil, fmt.Errorf("the range holds more than %d keys", max)
		}
		out = append(out, d.format(c))
	}
	return out, nil
}

// Window returns the instants a time key covers, [from, to). The window of
// an hour repeated by a daylight-saving change covers both of its
// occurrences. ok is false for a key that is not a time key.
func (d *Def) Window(key string) (from, to time.Time, ok bool) {
	if !d.IsTime() {
		return time.Time{}, time.Time{}, false
	}
	c, ok := d.parseKey(key)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return d.windowOf(c), d.windowOf(d.next(c)), true
}

// windowOf returns the earliest instant of civil period start c: for an
// hour that happens twice, the first time.
func (d *Def) windowOf(c time.Time) time.Time {
	t := d.instant(c)
	if d.unit == hourly {
		// time.Date may pick the second of two occurrences; an hour earlier
		// with the same wall clock is the first.
		if e := t.Add(-time.Hour); d.civil(e).Equal(c) {
			return e
		}
	}
	return t
}

// keyAt returns the key of the period holding instant t, ignoring range.
func (d *Def) keyAt(t time.Time) time.Time {
	return d.floor(d.civil(t))
}
