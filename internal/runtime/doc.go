// Package runtime executes runs: it dispatches them as River jobs, inserted
// in the same transaction as the run rows, and works them: a workflow run
// coordinates its steps in dependency order, a materialization runs its
// asset's compute spec (a command, an HTTP call, or nothing for an observed
// asset) with a timeout, retries with backoff and jitter, per-tenant
// concurrency and start-rate limits held in the database, cancellation, and
// output capture. It reaches storage only through internal/service.
package runtime
