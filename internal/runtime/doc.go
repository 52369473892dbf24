// Package runtime executes runs. A Dispatcher inserts River jobs in the
// same transaction as the run rows; it needs only the database, and is all
// an API node that works no runs has. A Runtime works the jobs: a workflow
// run coordinates its steps in dependency order, a materialization runs its
// asset's compute spec (a command, an HTTP call, or nothing for an observed
// asset) with a timeout, cancellation and output capture, and heartbeats
// keep the leases of running attempts. The rules of a run's life (slots,
// start rates, retries, workflow advancement) are the run engine's
// (internal/engine), which the Runtime drives through the Engine interface;
// storage is reached only through internal/service and the engine.
package runtime
