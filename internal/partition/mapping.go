package partition

import (
	"fmt"
	"time"

	"github.com/servo-data/servo/internal/domain"
)

// MaxMappedKeys caps how many upstream keys one downstream partition may
// read (an "all" mapping onto a long hourly history would be huge).
const MaxMappedKeys = 10000

// ValidateMapping checks a dependency edge's partition mapping.
func ValidateMapping(m *domain.PartitionMapping) error {
	if m == nil {
		return nil
	}
	var v domain.Validator
	switch m.Type {
	case domain.MappingIdentity, domain.MappingAll, domain.MappingLast:
		v.Check(m.Offset == 0, "partition_mapping.offset", "only for time_offset")
	case domain.MappingOffset:
		v.Check(m.Offset != 0 && m.Offset >= -1000 && m.Offset <= 1000, "partition_mapping.offset", "must be a non-zero number of periods from -1000 to 1000")
	default:
		v.Add("partition_mapping.type", "must be one of identity, all, last, time_offset")
	}
	return v.Err()
}

// Upstream returns the keys of the upstream definition up that the
// partition key of the downstream definition down reads, under mapping m
// (nil: the default). A nil up (an unpartitioned upstream) maps to nil: the
// upstream as a whole. Keys outside the upstream's range are dropped, so an
// offset before the first upstream partition maps to nothing.
//
// The default mapping is identity between like definitions (same time
// period, or static and dynamic keys by name), and between time definitions
// of different periods, every upstream period overlapping the downstream
// one: daily upstream to a weekly or monthly downstream reads all days of
// the week or month; hourly to daily reads the day's hours.
func Upstream(down *Def, key string, up *Def, m *domain.PartitionMapping, now time.Time) ([]string, error) {
	if up == nil {
		return nil, nil
	}
	typ := domain.MappingIdentity
	if m != nil {
		typ = m.Type
	}
	switch typ {
	case domain.MappingAll:
		keys, more := up.Keys("", MaxMappedKeys, now)
		if more {
			return nil, fmt.Errorf("the upstream has more than %d partitions", MaxMappedKeys)
		}
		return keys, nil
	case domain.MappingLast:
		if !up.IsTime() {
			if len(up.keys) == 0 {
				return []string{}, nil
			}
			return []string{up.keys[len(up.keys)-1]}, nil
		}
		l, ok := up.last(now)
		if !ok {
			return []string{}, nil
		}
		return []string{up.format(l)}, nil
	}
	offset := 0
	if typ == domain.MappingOffset {
		offset = m.Offset
	}
	if !down.IsTime() || !up.IsTime() {
		if offset != 0 {
			return nil, fmt.Errorf("a time_offset mapping needs time partitions on both ends")
		}
		if up.IsTime() != down.IsTime() {
			return nil, fmt.Errorf("cannot map %s partitions onto %s partitions by identity; use all or last", down.typ, up.typ)
		}
		if up.typ == domain.PartitionDynamic && up.index == nil {
			// Dynamic keys not loaded: the key is taken as it is.
			return []string{key}, nil
		}
		if !up.Contains(key, now) {
			return []string{}, nil
		}
		return []string{key}, nil
	}
	c, ok := down.parseKey(key)
	if !ok {
		return nil, fmt.Errorf("%q is not a %s key", key, down.typ)
	}
	if offset != 0 {
		c = down.skipGap(down.step(c, offset), sign(offset))
	}
	from, to := down.windowOf(c), down.windowOf(down.next(c))
	out := []string{}
	// An upstream of the same or a finer period maps by the periods that
	// start within [from, to), so that time zones a few hours apart do not
	// add a neighbour; a coarser one by the periods overlapping it.
	finer := up.unit <= down.unit
	for u := up.keyAt(from); up.windowOf(u).Before(to); u = up.next(u) {
		start := up.windowOf(u)
		if finer && start.Before(from) {
			continue
		}
		if !up.exists(u) || !up.windowOf(up.next(u)).After(from) {
			continue
		}
		if up.inRange(u, now) {
			out = append(out, up.format(u))
		}
		if len(out) > MaxMappedKeys {
			return nil, fmt.Errorf("more than %d upstream partitions", MaxMappedKeys)
		}
	}
	return out, nil
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}
