package schedule

import (
	"time"

	"github.com/servo-data/servo/internal/domain"
)

// maxPlanTicks bounds how many missed ticks one claim walks through; a
// schedule missed for longer fires the last ones it reached and goes on
// from now.
const maxPlanTicks = 100_000

// maxSkipRecords bounds how many skipped ticks one claim records one by
// one; the oldest kept record counts the rest in its reason.
const maxSkipRecords = 20

// tickPlan is what one claim of a due schedule does.
type tickPlan struct {
	// Fire lists the ticks to fire, oldest first.
	Fire []time.Time
	// Skipped lists the most recent ticks left out, oldest first, and
	// SkippedMore counts the older ones left out beyond them.
	Skipped     []time.Time
	SkippedMore int
	// Next is the tick after the last one due; zero when none comes.
	Next time.Time
}

// planTicks walks the ticks due at now, from next on: with catch-up none it
// fires only the latest, with all at most maxCatchup of the latest, oldest
// first. The rest are skipped.
func planTicks(c *Cron, next, now time.Time, catchup domain.Catchup, maxCatchup int) tickPlan {
	keep := 1
	if catchup == domain.CatchupAll {
		keep = max(1, maxCatchup)
	}
	var p tickPlan
	var due []time.Time
	t, ok := next, true
	for n := 0; ok && !t.After(now) && n < maxPlanTicks; n++ {
		due = append(due, t)
		if len(due) > keep {
			p.Skipped = append(p.Skipped, due[0])
			due = due[1:]
			if len(p.Skipped) > maxSkipRecords {
				p.Skipped = p.Skipped[1:]
				p.SkippedMore++
			}
		}
		t, ok = c.Next(t)
	}
	if ok && !t.After(now) {
		// Walked too far behind: go on from now.
		t, ok = c.Next(now)
	}
	p.Fire = due
	if ok {
		p.Next = t
	}
	return p
}

// partitionKey fills a run's partition key from its tick, in the schedule's
// time zone.
func partitionKey(rule domain.PartitionRule, tick time.Time, loc *time.Location) string {
	local := tick.In(loc)
	y, m, d := local.Date()
	switch rule {
	case domain.PartitionTickDay:
		return local.Format(time.DateOnly)
	case domain.PartitionPreviousDay:
		return time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	case domain.PartitionTickHour:
		return local.Format("2006-01-02-15:00")
	case domain.PartitionPreviousHour:
		return tick.Add(-time.Hour).In(loc).Format("2006-01-02-15:00")
	}
	return ""
}
