-- OpenLineage ingestion: every event a tenant sends, kept as received (its
-- canonical JSON) for the history of its run and deleted once older than the
-- retention. Facets have no column of their own: they stay in the event.

-- The composite foreign key to executions needs a unique index on (tenant_id,
-- id), which SQLite's executions table does not otherwise have.
CREATE UNIQUE INDEX executions_lineage_tenant_id_key ON executions (tenant_id, id);

CREATE TABLE lineage_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    execution_id TEXT,
    event_kind   TEXT NOT NULL CHECK (event_kind IN ('RunEvent', 'DatasetEvent', 'JobEvent')),
    event_type   TEXT NOT NULL DEFAULT '' CHECK (event_type IN ('', 'START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER')),
    event_time   DATETIME NOT NULL,
    event_hash   TEXT NOT NULL CHECK (length(event_hash) = 64),
    event        TEXT NOT NULL CHECK (json_valid(event) AND json_type(event) = 'object'),
    warnings     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(warnings) AND json_type(warnings) = 'array'),
    received_at  DATETIME NOT NULL,
    UNIQUE (tenant_id, event_hash),
    FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lineage_events_execution_idx ON lineage_events (tenant_id, execution_id, event_time, id) WHERE execution_id IS NOT NULL;
CREATE INDEX lineage_events_received_idx ON lineage_events (tenant_id, received_at);

CREATE TRIGGER lineage_events_tenant_immutable BEFORE UPDATE OF tenant_id ON lineage_events
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
