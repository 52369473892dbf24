-- Runtime: compute specs, retry defaults, workflow steps, run history and
-- output. River's own tables are created by this migration first.
ALTER TABLE assets ADD COLUMN compute TEXT CHECK (compute IS NULL OR json_type(compute) = 'object');
ALTER TABLE workflows ADD COLUMN retry TEXT CHECK (retry IS NULL OR json_type(retry) = 'object');
ALTER TABLE executions ADD COLUMN parent_id TEXT;
-- SQLite cannot drop a column that a foreign key names, so the cascade from
-- a workflow run to its steps is a trigger here.
CREATE TRIGGER executions_delete_steps AFTER DELETE ON executions
BEGIN DELETE FROM executions WHERE parent_id = OLD.id; END;
CREATE INDEX executions_parent_idx ON executions (tenant_id, parent_id, created_at) WHERE parent_id IS NOT NULL;
CREATE INDEX executions_slots_idx ON executions (tenant_id, state, created_at, id) WHERE asset_id IS NOT NULL;

CREATE TABLE run_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    at           DATETIME NOT NULL,
    attempt      INTEGER NOT NULL,
    reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_events_execution_idx ON run_events (tenant_id, execution_id, at, id);

CREATE TABLE run_logs (
    execution_id TEXT PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    content      TEXT NOT NULL DEFAULT '' CHECK (length(CAST(content AS BLOB)) <= 65536),
    truncated    INTEGER NOT NULL DEFAULT 0,
    updated_at   DATETIME NOT NULL
);

CREATE TRIGGER run_events_tenant_immutable BEFORE UPDATE OF tenant_id ON run_events
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER run_logs_tenant_immutable BEFORE UPDATE OF tenant_id ON run_logs
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
