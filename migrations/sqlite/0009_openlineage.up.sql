-- OpenLineage as producers send it. A run recorded from OpenLineage keeps
-- its runId as its id, and a runId is chosen by the producer, not by Servo:
-- two tenants may send the same one. Run ids are therefore unique per
-- tenant: executions' primary key becomes (tenant_id, id), run_logs' and
-- run_events' foreign keys name (tenant_id, execution_id), and trigger
-- admits 'openlineage'. SQLite changes a primary key or a CHECK only by
-- rebuilding the table, and with foreign keys on (they are, and cannot be
-- switched off in a transaction) dropping a parent table deletes its
-- children's rows.
-- Keep the rows aside, drop the tables children first (so that dropping
-- executions cascades to nothing), create them anew, and put the rows back.
CREATE TEMP TABLE keep_0009_executions AS SELECT id, tenant_id, workflow_id, asset_id, state, trigger, partition_key, attempt, idempotency_key, started_at, completed_at, error_message, created_at, updated_at, parent_id FROM executions;
CREATE TEMP TABLE keep_0009_run_events AS SELECT id, tenant_id, execution_id, from_state, to_state, at, attempt, reason FROM run_events;
CREATE TEMP TABLE keep_0009_run_logs AS SELECT execution_id, tenant_id, content, truncated, updated_at FROM run_logs;
CREATE TEMP TABLE keep_0009_lineage_events AS SELECT id, tenant_id, execution_id, event_kind, event_type, event_time, event_hash, event, warnings, received_at FROM lineage_events;
DROP TABLE lineage_events;
DROP TABLE run_logs;
DROP TABLE run_events;
DROP TABLE executions;

CREATE TABLE executions (
    id              TEXT NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id     TEXT,
    asset_id        TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                        ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'skipped', 'upstream_failed')),
    trigger         TEXT NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'scheduled', 'upstream', 'backfill', 'openlineage', 'automation')),
    partition_key   TEXT NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    idempotency_key TEXT,
    started_at      DATETIME,
    completed_at    DATETIME,
    error_message   TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    parent_id       TEXT,
    PRIMARY KEY (tenant_id, id),
    CHECK (workflow_id IS NOT NULL OR asset_id IS NOT NULL),
    CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE run_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    at           DATETIME NOT NULL,
    attempt      INTEGER NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE);

CREATE TABLE run_logs (
    execution_id TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    content      TEXT NOT NULL DEFAULT '' CHECK (length(CAST(content AS BLOB)) <= 65536),
    truncated    INTEGER NOT NULL DEFAULT 0,
    updated_at   DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, execution_id),
    FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE
);

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

-- The indexes and triggers of migrations 0001 to 0006, as they were.
CREATE UNIQUE INDEX executions_idempotency_key ON executions (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_list_idx ON executions (tenant_id, created_at DESC, id DESC);
CREATE INDEX executions_workflow_idx ON executions (tenant_id, workflow_id, created_at DESC, id DESC);
CREATE INDEX executions_asset_idx ON executions (tenant_id, asset_id, created_at DESC, id DESC);
CREATE INDEX executions_state_idx ON executions (tenant_id, state, created_at DESC, id DESC);
CREATE INDEX executions_parent_idx ON executions (tenant_id, parent_id, created_at) WHERE parent_id IS NOT NULL;
CREATE INDEX executions_slots_idx ON executions (tenant_id, state, created_at, id) WHERE asset_id IS NOT NULL;
CREATE UNIQUE INDEX executions_lineage_tenant_id_key ON executions (tenant_id, id);
CREATE INDEX executions_workflow_runs_idx ON executions (tenant_id, workflow_id, state, created_at, id) WHERE asset_id IS NULL;
CREATE INDEX run_events_execution_idx ON run_events (tenant_id, execution_id, at, id);
CREATE INDEX lineage_events_execution_idx ON lineage_events (tenant_id, execution_id, event_time, id) WHERE execution_id IS NOT NULL;
CREATE INDEX lineage_events_received_idx ON lineage_events (tenant_id, received_at);
CREATE TRIGGER executions_delete_steps AFTER DELETE ON executions
BEGIN DELETE FROM executions WHERE parent_id = OLD.id AND tenant_id = OLD.tenant_id; END;
CREATE TRIGGER executions_tenant_immutable BEFORE UPDATE OF tenant_id ON executions
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER run_events_tenant_immutable BEFORE UPDATE OF tenant_id ON run_events
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER run_logs_tenant_immutable BEFORE UPDATE OF tenant_id ON run_logs
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER lineage_events_tenant_immutable BEFORE UPDATE OF tenant_id ON lineage_events
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;

INSERT INTO executions (id, tenant_id, workflow_id, asset_id, state, trigger, partition_key, attempt, idempotency_key, started_at, completed_at, error_message, created_at, updated_at, parent_id) SELECT id, tenant_id, workflow_id, asset_id, state, trigger, partition_key, attempt, idempotency_key, started_at, completed_at, error_message, created_at, updated_at, parent_id FROM keep_0009_executions;
INSERT INTO run_events (id, tenant_id, execution_id, from_state, to_state, at, attempt, reason) SELECT id, tenant_id, execution_id, from_state, to_state, at, attempt, reason FROM keep_0009_run_events;
INSERT INTO run_logs (execution_id, tenant_id, content, truncated, updated_at) SELECT execution_id, tenant_id, content, truncated, updated_at FROM keep_0009_run_logs;
INSERT INTO lineage_events (id, tenant_id, execution_id, event_kind, event_type, event_time, event_hash, event, warnings, received_at) SELECT id, tenant_id, execution_id, event_kind, event_type, event_time, event_hash, event, warnings, received_at FROM keep_0009_lineage_events;
DROP TABLE keep_0009_executions;
DROP TABLE keep_0009_run_events;
DROP TABLE keep_0009_run_logs;
DROP TABLE keep_0009_lineage_events;

-- Dataset versions: each distinct schema (the schema dataset facet's
-- fields) an asset is seen with, numbered from 1, with the run that
-- produced it. SQLite cannot set only execution_id to NULL through a
-- composite foreign key, so a trigger does it when the run is deleted.
CREATE TABLE asset_versions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    asset_id     TEXT NOT NULL,
    version      INTEGER NOT NULL CHECK (version > 0),
    fields       TEXT NOT NULL CHECK (json_valid(fields) AND json_type(fields) = 'array'),
    fields_hash  TEXT NOT NULL CHECK (length(fields_hash) = 64),
    execution_id TEXT,
    created_at   DATETIME NOT NULL,
    UNIQUE (tenant_id, asset_id, version),
    UNIQUE (tenant_id, asset_id, fields_hash),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_versions_execution_idx ON asset_versions (tenant_id, execution_id) WHERE execution_id IS NOT NULL;
CREATE TRIGGER asset_versions_run_deleted AFTER DELETE ON executions
BEGIN UPDATE asset_versions SET execution_id = NULL WHERE tenant_id = OLD.tenant_id AND execution_id = OLD.id; END;
CREATE TRIGGER asset_versions_tenant_immutable BEFORE UPDATE OF tenant_id ON asset_versions
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;

-- Column edges: upstream column -> downstream column, with the
-- transformation OpenLineage's columnLineage facet names (or none, for a
-- manual edge).
CREATE TABLE column_edges (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL,
    upstream_asset_id      TEXT NOT NULL,
    upstream_column        TEXT NOT NULL CHECK (length(upstream_column) BETWEEN 1 AND 255),
    downstream_asset_id    TEXT NOT NULL,
    downstream_column      TEXT NOT NULL CHECK (length(downstream_column) BETWEEN 1 AND 255),
    transformation_type    TEXT NOT NULL DEFAULT '' CHECK (length(transformation_type) <= 50),
    transformation_subtype TEXT NOT NULL DEFAULT '' CHECK (length(transformation_subtype) <= 50),
    description            TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    masking                INTEGER NOT NULL DEFAULT 0,
    source                 TEXT NOT NULL CHECK (source IN ('openlineage', 'manual')),
    created_at             DATETIME NOT NULL,
    CHECK (upstream_asset_id <> downstream_asset_id OR upstream_column <> downstream_column),
    UNIQUE (tenant_id, upstream_asset_id, upstream_column, downstream_asset_id, downstream_column, transformation_type, transformation_subtype),
    FOREIGN KEY (tenant_id, upstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, downstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX column_edges_downstream_idx ON column_edges (tenant_id, downstream_asset_id, downstream_column);
CREATE TRIGGER column_edges_tenant_immutable BEFORE UPDATE OF tenant_id ON column_edges
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
