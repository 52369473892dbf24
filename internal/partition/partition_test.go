package partition_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/partition"
)

func mustCompile(t *testing.T, p domain.PartitionsDef) *partition.Def {
	t.Helper()
	d, err := partition.Compile(&p)
	if err != nil {
		t.Fatalf("compile %+v: %v", p, err)
	}
	return d
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		def   domain.PartitionsDef
		now   string
		after string
		limit int
		want  []string
		more  bool
	}{
		{name: "daily UTC, only ended days", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-11-25"},
			now: "2026-11-27T13:00:00Z", limit: 10, want: []string{"2026-11-25", "2026-11-26"}},
		{name: "daily in Tokyo: the 27th ended at 15:00 UTC", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-11-26", Timezone: "Asia/Tokyo"},
			now: "2026-11-27T15:00:00Z", limit: 10, want: []string{"2026-11-26", "2026-11-27"}},
		{name: "daily in Los Angeles: the 26th not ended at 07:59 UTC on the 27th", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-11-25", Timezone: "America/Los_Angeles"},
			now: "2026-11-27T07:59:00Z", limit: 10, want: []string{"2026-11-25"}},
		{name: "daily paged after a key", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01"},
			now: "2026-02-01T00:00:00Z", after: "2026-01-29", limit: 2, want: []string{"2026-01-30", "2026-01-31"}},
		{name: "daily page with more", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01"},
			now: "2026-02-01T00:00:00Z", limit: 2, want: []string{"2026-01-01", "2026-01-02"}, more: true},
		{name: "daily with end_date exclusive", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", EndDate: "2026-01-03"},
			now: "2027-01-01T00:00:00Z", limit: 10, want: []string{"2026-01-01", "2026-01-02"}},
		{name: "daily start with a time begins next day", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01T06:00"},
			now: "2026-01-04T00:00:00Z", limit: 10, want: []string{"2026-01-02", "2026-01-03"}},
		{name: "hourly", def: domain.PartitionsDef{Type: "time_hourly", StartDate: "2026-11-27T10"},
			now: "2026-11-27T13:30:00Z", limit: 10, want: []string{"2026-11-27T10", "2026-11-27T11", "2026-11-27T12"}},
		{name: "hourly across spring forward in New York: no 02", def: domain.PartitionsDef{Type: "time_hourly", StartDate: "2026-03-08T00", Timezone: "America/New_York"},
			now: "2026-03-08T09:00:00Z", limit: 10, want: []string{"2026-03-08T00", "2026-03-08T01", "2026-03-08T03", "2026-03-08T04"}},
		{name: "hourly across fall back in New York: 01 once", def: domain.PartitionsDef{Type: "time_hourly", StartDate: "2026-11-01T00", Timezone: "America/New_York"},
			now: "2026-11-01T09:00:00Z", limit: 10, want: []string{"2026-11-01T00", "2026-11-01T01", "2026-11-01T02", "2026-11-01T03"}},
		{name: "weekly keys are Mondays; start aligns up", def: domain.PartitionsDef{Type: "time_weekly", StartDate: "2026-11-04"},
			now: "2026-11-30T00:00:00Z", limit: 10, want: []string{"2026-11-09", "2026-11-16", "2026-11-23"}},
		{name: "weekly over a year end", def: domain.PartitionsDef{Type: "time_weekly", StartDate: "2026-12-21"},
			now: "2027-01-12T00:00:00Z", limit: 10, want: []string{"2026-12-21", "2026-12-28", "2027-01-04"}},
		{name: "monthly over short months and a leap February", def: domain.PartitionsDef{Type: "time_monthly", StartDate: "2028-01-31"},
			now: "2028-05-01T00:00:00Z", limit: 10, want: []string{"2028-02-01", "2028-03-01", "2028-04-01"}},
		{name: "monthly in Sydney: November ended at 13:00 UTC on the 30th", def: domain.PartitionsDef{Type: "time_monthly", StartDate: "2026-10-01", Timezone: "Australia/Sydney"},
			now: "2026-11-30T13:00:00Z", limit: 10, want: []string{"2026-10-01", "2026-11-01"}},
		{name: "static in order", def: domain.PartitionsDef{Type: "static", Keys: []string{"eu", "us", "apac"}},
			now: "2026-01-01T00:00:00Z", after: "eu", limit: 10, want: []string{"us", "apac"}},
		{name: "nothing ended yet", def: domain.PartitionsDef{Type: "time_daily", StartDate: "2026-11-27"},
			now: "2026-11-27T23:00:00Z", limit: 10, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := mustCompile(t, tt.def)
			got, more := d.Keys(tt.after, tt.limit, at(tt.now))
			if !slices.Equal(got, tt.want) || more != tt.more {
				t.Errorf("Keys = %v more=%v, want %v more=%v", got, more, tt.want, tt.more)
			}
		})
	}
}

func TestTenYearsHourlyPaging(t *testing.T) {
	t.Parallel()
	d := mustCompile(t, domain.PartitionsDef{Type: "time_hourly", StartDate: "2016-01-01", Timezone: "Europe/Berlin"})
	now := at("2026-01-01T00:00:00Z")
	n, after := 0, ""
	seen := map[string]bool{}
	for {
		page, more := d.Keys(after, 5000, now)
		for _, k := range page {
			if seen[k] {
				t.Fatalf("key %s generated twice", k)
			}
			seen[k] = true
		}
		n += len(page)
		if !more {
			break
		}
		after = page[len(page)-1]
	}
	// Ten years of hours in Berlin up to 01:00 local on 2026-01-01 (the
	// 00 hour has ended), less one per year for the repeated autumn hour.
	hours := int(at("2026-01-01T00:00:00Z").Sub(at("2015-12-31T23:00:00Z")).Hours())
	if want := hours - 10; n != want {
		t.Errorf("generated %d keys, want %d", n, want)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	now := at("2026-11-27T13:00:00Z")
	daily := mustCompile(t, domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", EndDate: "2026-12-01"})
	weekly := mustCompile(t, domain.PartitionsDef{Type: "time_weekly", StartDate: "2026-01-01"})
	monthly := mustCompile(t, domain.PartitionsDef{Type: "time_monthly", StartDate: "2026-01-01"})
	hourlyNY := mustCompile(t, domain.PartitionsDef{Type: "time_hourly", StartDate: "2026-01-01", Timezone: "America/New_York"})
	static := mustCompile(t, domain.PartitionsDef{Type: "static", Keys: []string{"a", "b"}})
	tests := []struct {
		d   *partition.Def
		key string
		ok  bool
	}{
		{daily, "2026-11-26", true},
		{daily, "2026-11-27", false}, // not ended
		{daily, "2025-12-31", false}, // before start
		{daily, "2026-2-01", false},
		{daily, "2026-02-30", false},
		{daily, " 2026-02-01", false},
		{daily, "", false},
		{weekly, "2026-11-16", true},
		{weekly, "2026-11-17", false}, // a Tuesday
		{monthly, "2026-10-01", true},
		{monthly, "2026-10-31", false},
		{monthly, "2026-11-01", false},     // November has not ended
		{hourlyNY, "2026-03-08T02", false}, // skipped by daylight saving
		{hourlyNY, "2026-03-08T03", true},
		{hourlyNY, "2026-11-01T01", true},
		{hourlyNY, "2026-11-01T1", false},
		{static, "a", true},
		{static, "c", false},
	}
	for _, tt := range tests {
		err := tt.d.Check(tt.key, now)
		if (err == nil) != tt.ok {
			t.Errorf("%s Check(%q) = %v, want ok=%v", tt.d.Type(), tt.key, err, tt.ok)
		}
	}
}

func TestWindowDST(t *testing.T) {
	t.Parallel()
	ny := mustCompile(t, domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", Timezone: "America/New_York"})
	for key, hours := range map[string]float64{"2026-03-08": 23, "2026-11-01": 25, "2026-11-02": 24} {
		from, to, ok := ny.Window(key)
		if !ok || to.Sub(from).Hours() != hours {
			t.Errorf("window of %s = %s..%s (%v h), want %v h", key, from, to, to.Sub(from).Hours(), hours)
		}
	}
	h := mustCompile(t, domain.PartitionsDef{Type: "time_hourly", StartDate: "2026-01-01", Timezone: "America/New_York"})
	from, to, _ := h.Window("2026-11-01T01")
	if !from.Equal(at("2026-11-01T05:00:00Z")) || !to.Equal(at("2026-11-01T07:00:00Z")) {
		t.Errorf("repeated hour window = %s..%s, want 05:00Z..07:00Z (both occurrences)", from.UTC(), to.UTC())
	}
}

func TestRange(t *testing.T) {
	t.Parallel()
	now := at("2026-11-27T13:00:00Z")
	d := mustCompile(t, domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01"})
	got, err := d.Range("2026-02-27", "2026-03-02", 100, now)
	if err != nil || !slices.Equal(got, []string{"2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"}) {
		t.Errorf("Range = %v, %v", got, err)
	}
	if _, err := d.Range("2026-03-02", "2026-02-27", 100, now); err == nil {
		t.Error("reversed range accepted")
	}
	if _, err := d.Range("2026-01-01", "2026-11-26", 100, now); err == nil || !strings.Contains(err.Error(), "more than 100") {
		t.Errorf("over-long range: %v", err)
	}
	s := mustCompile(t, domain.PartitionsDef{Type: "static", Keys: []string{"a", "b", "c"}})
	if got, err := s.Range("b", "c", 10, now); err != nil || !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("static Range = %v, %v", got, err)
	}
}

func TestCompileInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		def   domain.PartitionsDef
		field string
	}{
		{domain.PartitionsDef{Type: "yearly"}, "partitions.type"},
		{domain.PartitionsDef{Type: "time_daily"}, "partitions.start_date"},
		{domain.PartitionsDef{Type: "time_daily", StartDate: "27/11/2026"}, "partitions.start_date"},
		{domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", Timezone: "Mars/Olympus"}, "partitions.timezone"},
		{domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", Timezone: "../../etc/passwd"}, "partitions.timezone"},
		{domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", EndDate: "2025-01-01"}, "partitions.end_date"},
		{domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", Keys: []string{"a"}}, "partitions.keys"},
		{domain.PartitionsDef{Type: "static"}, "partitions.keys"},
		{domain.PartitionsDef{Type: "static", Keys: []string{"a", "a"}}, "partitions.keys"},
		{domain.PartitionsDef{Type: "static", Keys: []string{"a\x00"}}, "partitions.keys"},
		{domain.PartitionsDef{Type: "static", Keys: []string{"a"}, Timezone: "UTC"}, "partitions.timezone"},
		{domain.PartitionsDef{Type: "dynamic", Keys: []string{"a"}}, "partitions.keys"},
	}
	for _, tt := range tests {
		_, err := partition.Compile(&tt.def)
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Fields[tt.field] == "" {
			t.Errorf("Compile(%+v) = %v, want a problem with %s", tt.def, err, tt.field)
		}
	}
}

func TestUpstreamMapping(t *testing.T) {
	t.Parallel()
	now := at("2026-12-15T00:00:00Z")
	daily := mustCompile(t, domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01"})
	hourly := mustCompile(t, domain.PartitionsDef{Type: "time_hourly", StartDate: "2026-01-01"})
	weekly := mustCompile(t, domain.PartitionsDef{Type: "time_weekly", StartDate: "2026-01-01"})
	monthly := mustCompile(t, domain.PartitionsDef{Type: "time_monthly", StartDate: "2026-01-01"})
	static := mustCompile(t, domain.PartitionsDef{Type: "static", Keys: []string{"eu", "us"}})
	dailyNY := mustCompile(t, domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", Timezone: "America/New_York"})
	hourlyNY := mustCompile(t, domain.PartitionsDef{Type: "time_hourly", StartDate: "2026-01-01", Timezone: "America/New_York"})
	tests := []struct {
		name     string
		down     *partition.Def
		key      string
		up       *partition.Def
		m        *domain.PartitionMapping
		wantLen  int
		first    string
		last     string
		wantFail bool
	}{
		{name: "identity daily", down: daily, key: "2026-11-27", up: daily, wantLen: 1, first: "2026-11-27", last: "2026-11-27"},
		{name: "daily to weekly: the week's days", down: weekly, key: "2026-11-23", up: daily, wantLen: 7, first: "2026-11-23", last: "2026-11-29"},
		{name: "daily to monthly: the month's days", down: monthly, key: "2026-02-01", up: daily, wantLen: 28, first: "2026-02-01", last: "2026-02-28"},
		{name: "hourly to daily: the day's hours", down: daily, key: "2026-11-27", up: hourly, wantLen: 24, first: "2026-11-27T00", last: "2026-11-27T23"},
		{name: "hourly to daily on a 23-hour day", down: dailyNY, key: "2026-03-08", up: hourlyNY, wantLen: 23, first: "2026-03-08T00", last: "2026-03-08T23"},
		{name: "weekly upstream of daily: the week holding the day", down: daily, key: "2026-11-27", up: weekly, wantLen: 1, first: "2026-11-23", last: "2026-11-23"},
		{name: "offset -1: previous day", down: daily, key: "2026-11-27", up: daily, m: &domain.PartitionMapping{Type: "time_offset", Offset: -1}, wantLen: 1, first: "2026-11-26", last: "2026-11-26"},
		{name: "offset before the first partition", down: daily, key: "2026-01-01", up: daily, m: &domain.PartitionMapping{Type: "time_offset", Offset: -1}, wantLen: 0},
		{name: "last", down: daily, key: "2026-11-27", up: monthly, m: &domain.PartitionMapping{Type: "last"}, wantLen: 1, first: "2026-11-01", last: "2026-11-01"},
		{name: "all", down: daily, key: "2026-11-27", up: static, m: &domain.PartitionMapping{Type: "all"}, wantLen: 2, first: "eu", last: "us"},
		{name: "daily UTC to weekly Paris: the week's seven days", down: mustCompile(t, domain.PartitionsDef{Type: "time_weekly", StartDate: "2026-01-01", Timezone: "Europe/Paris"}), key: "2026-11-23", up: daily, wantLen: 7, first: "2026-11-23", last: "2026-11-29"},
		{name: "daily UTC to daily Tokyo: one day", down: mustCompile(t, domain.PartitionsDef{Type: "time_daily", StartDate: "2026-01-01", Timezone: "Asia/Tokyo"}), key: "2026-11-27", up: daily, wantLen: 1, first: "2026-11-27", last: "2026-11-27"},
		{name: "identity static", down: static, key: "us", up: static, wantLen: 1, first: "us", last: "us"},
		{name: "identity static onto time fails", down: static, key: "us", up: daily, wantFail: true},
		{name: "unpartitioned upstream", down: daily, key: "2026-11-27", up: nil, wantLen: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := partition.Upstream(tt.down, tt.key, tt.up, tt.m, now)
			if tt.wantFail {
				if err == nil {
					t.Fatalf("Upstream = %v, want an error", got)
				}
				return
			}
			if err != nil || len(got) != tt.wantLen {
				t.Fatalf("Upstream = %v (%d), %v; want %d keys", got, len(got), err, tt.wantLen)
			}
			if tt.wantLen > 0 && (got[0] != tt.first || got[len(got)-1] != tt.last) {
				t.Errorf("Upstream = %v, want %s..%s", got, tt.first, tt.last)
			}
		})
	}
}

func TestValidateMapping(t *testing.T) {
	t.Parallel()
	for _, m := range []*domain.PartitionMapping{nil, {Type: "identity"}, {Type: "all"}, {Type: "last"}, {Type: "time_offset", Offset: -1}} {
		if err := partition.ValidateMapping(m); err != nil {
			t.Errorf("ValidateMapping(%+v) = %v", m, err)
		}
	}
	for _, m := range []*domain.PartitionMapping{{Type: "x"}, {Type: "time_offset"}, {Type: "all", Offset: 2}, {Type: "time_offset", Offset: 5000}} {
		if err := partition.ValidateMapping(m); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ValidateMapping(%+v) = %v, want invalid", m, err)
		}
	}
}
