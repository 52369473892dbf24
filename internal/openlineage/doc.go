// Package openlineage owns OpenLineage ingestion: it validates events against
// the embedded OpenLineage 2-0-2 JSON Schema and its facet schemas (offline:
// every schema URL resolves to a file in spec/), keeps each event as sent, and
// maps it onto Servo's model through the service layer.
//
// The mapping:
//
//   - A dataset becomes an asset of type "dataset" named "<namespace>/<name>".
//     The name is the dataset's namespace and name joined by a slash, as sent;
//     two datasets whose namespace/name split differently but join to the same
//     text ("a/b" + "c" and "a" + "b/c") share an asset. Facets are not copied
//     onto the asset (assets have no metadata column): they stay in the stored
//     event.
//   - A job becomes a workflow named "<namespace>/<name>". It is created on
//     first sight; when an event names inputs or outputs its latest version
//     lacks, a new version holds the union (inputs, then outputs, in order of
//     first sight).
//   - A run becomes a run of that workflow whose id is its runId (run ids
//     are unique per tenant, so two tenants sending one runId get a run
//     each), trigger "openlineage", also found through the idempotency key
//     "openlineage:<runId>". It is recorded with service.CreateRun, pending
//     and never dispatched: the work runs outside Servo. A parent run facet
//     makes the run a child (parent_id) of the parent's run in the same
//     tenant, recorded pending as a run of the parent job's workflow until
//     its own events come. Its state follows the event type along legal paths of the state
//     machine: START moves it to running, COMPLETE to succeeded, FAIL to
//     failed, ABORT to cancelled; RUNNING, OTHER and no event type leave it as
//     it is.
//   - Every input -> output pair of an event becomes a "data" edge. An edge
//     that exists is kept; one that would close a cycle is skipped with a
//     warning.
//
// Idempotence and order: an event is identified by the SHA-256 of its
// canonical JSON within its tenant, and a second copy changes nothing. A run
// only moves forward: an event whose target the state machine cannot reach
// from the run's state (a START after COMPLETE, say) leaves it alone. When two
// terminal events of one run disagree, the later eventTime wins where the
// state machine has a way there: only failed (and timeout) have one, a retry
// (failed -> pending -> queued -> running -> ...). A run that succeeded or was
// cancelled stays so; the disagreeing event is stored with a warning, as is a
// terminal event older than the one that decided the run's state. Equal
// eventTimes keep the state the first event set.
//
// Batches (Ingester.IngestBatch) end as the same events sent one by one
// would: they are stored in chunks, each in one transaction whose reads
// and writes are one set-based statement per kind of row, and the events
// the set-based path does not cover are stored alone in their place.
//
// Transitions are stamped with the event's eventTime (never before the run's
// started_at), so started_at and completed_at say when the work ran.
package openlineage
