// Package backfill owns backfills: running a set of partitions of one
// asset or workflow as ordinary runs, in key order, a few at a time, with
// pause, resume, cancel and upstream readiness. Progress lives in the
// database and Advance is idempotent, so any process may advance a
// backfill at any time and a killed one loses nothing.
package backfill
