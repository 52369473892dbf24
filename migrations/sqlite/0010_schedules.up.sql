-- Schedules: cron schedules that start workflow runs by themselves, and the
-- log of their ticks. Same tables and constraints as on PostgreSQL.

CREATE TABLE schedules (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    workflow_name    TEXT NOT NULL CHECK (length(workflow_name) BETWEEN 1 AND 255),
    workflow_version INTEGER CHECK (workflow_version IS NULL OR workflow_version > 0),
    cron             TEXT NOT NULL CHECK (length(cron) BETWEEN 1 AND 255),
    timezone         TEXT NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 100),
    enabled          BOOLEAN NOT NULL DEFAULT 1,
    catchup          TEXT NOT NULL DEFAULT 'none' CHECK (catchup IN ('none', 'all')),
    max_catchup      INTEGER NOT NULL DEFAULT 10 CHECK (max_catchup BETWEEN 1 AND 100),
    overlap          TEXT NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip', 'queue')),
    partition        TEXT NOT NULL DEFAULT 'none' CHECK (partition IN ('none', 'tick_day', 'previous_day', 'tick_hour', 'previous_hour')),
    next_tick_at     DATETIME,
    last_tick_at     DATETIME,
    last_run_id      TEXT,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);
CREATE INDEX schedules_due_idx ON schedules (next_tick_at) WHERE enabled;
CREATE INDEX schedules_workflow_idx ON schedules (tenant_id, workflow_name);

CREATE TABLE schedule_ticks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    tick_at     DATETIME NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('triggered', 'skipped', 'failed')),
    run_id      TEXT,
    reason      TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    created_at  DATETIME NOT NULL,
    UNIQUE (schedule_id, tick_at),
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES schedules (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX schedule_ticks_list_idx ON schedule_ticks (tenant_id, schedule_id, tick_at DESC);

-- Freshness: an asset's policy, when it last materialized (and each
-- partition), and the instant it turns stale without a new
-- materialization (stale_after; NULL without a policy). Tenant assets only.
CREATE TABLE asset_freshness (
    asset_id             TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    policy               TEXT CHECK (policy IS NULL OR (json_valid(policy) AND json_type(policy) = 'object')),
    last_materialized_at DATETIME,
    stale_after          DATETIME,
    updated_at           DATETIME NOT NULL,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_freshness_stale_idx ON asset_freshness (tenant_id, stale_after) WHERE stale_after IS NOT NULL;

CREATE TABLE asset_partitions (
    tenant_id            TEXT NOT NULL,
    asset_id             TEXT NOT NULL,
    partition_key        TEXT NOT NULL CHECK (length(partition_key) BETWEEN 1 AND 255),
    last_materialized_at DATETIME NOT NULL,
    PRIMARY KEY (asset_id, partition_key),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE TRIGGER asset_freshness_tenant_immutable BEFORE UPDATE OF tenant_id ON asset_freshness
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER asset_partitions_tenant_immutable BEFORE UPDATE OF tenant_id ON asset_partitions
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;

-- Automations: see the PostgreSQL migration.
CREATE TABLE automations (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    on_event             TEXT NOT NULL CHECK (on_event IN ('upstream_updated', 'freshness_violated')),
    mode                 TEXT NOT NULL DEFAULT 'any' CHECK (mode IN ('any', 'all')),
    workflow_name        TEXT CHECK (workflow_name IS NULL OR length(workflow_name) BETWEEN 1 AND 255),
    asset_id             TEXT,
    min_interval_seconds INTEGER NOT NULL DEFAULT 0 CHECK (min_interval_seconds BETWEEN 0 AND 2678400),
    enabled              BOOLEAN NOT NULL DEFAULT 1,
    since                DATETIME NOT NULL,
    next_eval_at         DATETIME,
    last_run_at          DATETIME,
    last_run_id          TEXT,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    CHECK ((workflow_name IS NULL) <> (asset_id IS NULL)),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX automations_due_idx ON automations (next_eval_at) WHERE enabled;

CREATE TABLE automation_assets (
    tenant_id     TEXT NOT NULL,
    automation_id TEXT NOT NULL,
    asset_id      TEXT NOT NULL,
    PRIMARY KEY (automation_id, asset_id),
    FOREIGN KEY (tenant_id, automation_id) REFERENCES automations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX automation_assets_asset_idx ON automation_assets (tenant_id, asset_id);

CREATE TABLE automation_evaluations (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    automation_id TEXT NOT NULL,
    evaluated_at  DATETIME NOT NULL,
    result        TEXT NOT NULL CHECK (result IN ('triggered', 'skipped', 'failed')),
    run_id        TEXT,
    reason        TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    FOREIGN KEY (tenant_id, automation_id) REFERENCES automations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX automation_evaluations_list_idx ON automation_evaluations (tenant_id, automation_id, evaluated_at DESC, id DESC);
CREATE TRIGGER automations_tenant_immutable BEFORE UPDATE OF tenant_id ON automations
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER automation_assets_tenant_immutable BEFORE UPDATE OF tenant_id ON automation_assets
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER automation_evaluations_tenant_immutable BEFORE UPDATE OF tenant_id ON automation_evaluations
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;

CREATE TRIGGER workflows_schedules_cleanup AFTER DELETE ON workflows
WHEN NOT EXISTS (SELECT 1 FROM workflows WHERE tenant_id = OLD.tenant_id AND name = OLD.name)
BEGIN
    DELETE FROM schedules WHERE tenant_id = OLD.tenant_id AND workflow_name = OLD.name;
    DELETE FROM automations WHERE tenant_id = OLD.tenant_id AND workflow_name = OLD.name;
END;

CREATE TRIGGER schedules_tenant_immutable BEFORE UPDATE OF tenant_id ON schedules
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER schedule_ticks_tenant_immutable BEFORE UPDATE OF tenant_id ON schedule_ticks
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
