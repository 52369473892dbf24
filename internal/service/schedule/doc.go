// Package schedule owns cron schedules: parsing expressions in IANA time
// zones with Servo's daylight-saving rule, planning which ticks fire, the
// use cases behind the /schedules routes, and the ticker that every worker
// process runs to start scheduled runs exactly once.
package schedule
