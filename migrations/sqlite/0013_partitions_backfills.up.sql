-- Partitions and backfills (see the PostgreSQL migration).
ALTER TABLE assets ADD COLUMN partitions TEXT CHECK (partitions IS NULL OR json_type(partitions) = 'object');
ALTER TABLE asset_dependencies ADD COLUMN partition_mapping TEXT CHECK (partition_mapping IS NULL OR json_type(partition_mapping) = 'object');
CREATE INDEX executions_partition_idx ON executions (tenant_id, asset_id, partition_key, created_at DESC, id DESC) WHERE asset_id IS NOT NULL;

CREATE TABLE asset_partition_keys (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id      TEXT NOT NULL,
    partition_key TEXT NOT NULL CHECK (length(partition_key) BETWEEN 1 AND 255),
    created_at    DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, partition_key),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE backfills (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id          TEXT,
    workflow_id       TEXT,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
    max_concurrency   INTEGER NOT NULL CHECK (max_concurrency BETWEEN 1 AND 100),
    skip_materialized INTEGER NOT NULL DEFAULT 0,
    wait_for_upstream INTEGER NOT NULL DEFAULT 1,
    total             INTEGER NOT NULL CHECK (total BETWEEN 1 AND 10000),
    idempotency_key   TEXT,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
    completed_at      DATETIME,
    CHECK ((asset_id IS NULL) <> (workflow_id IS NULL)),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX backfills_idempotency_key ON backfills (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX backfills_list_idx ON backfills (tenant_id, created_at DESC, id DESC);

CREATE TABLE backfill_partitions (
    tenant_id     TEXT NOT NULL,
    backfill_id   TEXT NOT NULL,
    position      INTEGER NOT NULL,
    partition_key TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'waiting_upstream', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')),
    run_id        TEXT,
    started_at    DATETIME,
    completed_at  DATETIME,
    PRIMARY KEY (backfill_id, position),
    UNIQUE (backfill_id, partition_key),
    FOREIGN KEY (tenant_id, backfill_id) REFERENCES backfills (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, run_id) REFERENCES executions (tenant_id, id)
);
-- A deleted run leaves its partition without a run (PostgreSQL: ON DELETE
-- SET NULL (run_id); SQLite cannot name the column, so a trigger does it
-- before the key is checked).
CREATE TRIGGER backfill_partitions_keep_on_run_delete BEFORE DELETE ON executions
BEGIN UPDATE backfill_partitions SET run_id = NULL WHERE tenant_id = OLD.tenant_id AND run_id = OLD.id; END;
CREATE INDEX backfill_partitions_run_idx ON backfill_partitions (tenant_id, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX backfill_partitions_state_idx ON backfill_partitions (tenant_id, backfill_id, state, position);

CREATE TRIGGER asset_partition_keys_tenant_immutable BEFORE UPDATE OF tenant_id ON asset_partition_keys
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER backfills_tenant_immutable BEFORE UPDATE OF tenant_id ON backfills
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER backfill_partitions_tenant_immutable BEFORE UPDATE OF tenant_id ON backfill_partitions
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
