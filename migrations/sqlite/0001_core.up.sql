-- Core schema for the embedded SQLite store. Same tables and constraints as
-- on PostgreSQL; SQLite has no row-level security, so tenant scoping rests on
-- the application's callbacks and the composite foreign keys.

CREATE TABLE tenants (
    id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 63),
    name       TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 255),
    created_at DATETIME NOT NULL
);

CREATE TABLE assets (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description TEXT NOT NULL DEFAULT '',
    asset_type  TEXT NOT NULL DEFAULT 'generic' CHECK (length(asset_type) BETWEEN 1 AND 100),
    owner       TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX assets_tenant_name_key ON assets (tenant_id, name) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX assets_global_name_key ON assets (name) WHERE tenant_id IS NULL;
CREATE INDEX assets_list_idx ON assets (tenant_id, created_at DESC, id DESC);
CREATE INDEX assets_type_idx ON assets (tenant_id, asset_type, created_at DESC, id DESC);
CREATE INDEX assets_owner_idx ON assets (tenant_id, owner, created_at DESC, id DESC);

CREATE TABLE asset_dependencies (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    upstream_asset_id   TEXT NOT NULL,
    downstream_asset_id TEXT NOT NULL,
    dependency_type     TEXT NOT NULL CHECK (dependency_type IN ('data', 'metadata', 'control')),
    created_at          DATETIME NOT NULL,
    CHECK (upstream_asset_id <> downstream_asset_id),
    UNIQUE (upstream_asset_id, downstream_asset_id, dependency_type),
    FOREIGN KEY (tenant_id, upstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, downstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_dependencies_downstream_idx ON asset_dependencies (downstream_asset_id, dependency_type);
CREATE INDEX asset_dependencies_list_idx ON asset_dependencies (tenant_id, created_at DESC, id DESC);

CREATE TABLE workflows (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    version     INTEGER NOT NULL CHECK (version > 0),
    description TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    UNIQUE (tenant_id, name, version),
    UNIQUE (tenant_id, id)
);
CREATE INDEX workflows_list_idx ON workflows (tenant_id, created_at DESC, id DESC);

CREATE TABLE workflow_assets (
    tenant_id   TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    position    INTEGER NOT NULL CHECK (position >= 0),
    asset_id    TEXT NOT NULL,
    PRIMARY KEY (workflow_id, position),
    UNIQUE (workflow_id, asset_id),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_assets_asset_idx ON workflow_assets (asset_id);

CREATE TABLE executions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id     TEXT,
    asset_id        TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                        ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'skipped', 'upstream_failed')),
    trigger         TEXT NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'scheduled', 'upstream', 'backfill')),
    partition_key   TEXT NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    idempotency_key TEXT,
    started_at      DATETIME,
    completed_at    DATETIME,
    error_message   TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    CHECK (workflow_id IS NOT NULL OR asset_id IS NOT NULL),
    CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX executions_idempotency_key ON executions (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_list_idx ON executions (tenant_id, created_at DESC, id DESC);
CREATE INDEX executions_workflow_idx ON executions (tenant_id, workflow_id, created_at DESC, id DESC);
CREATE INDEX executions_asset_idx ON executions (tenant_id, asset_id, created_at DESC, id DESC);
CREATE INDEX executions_state_idx ON executions (tenant_id, state, created_at DESC, id DESC);
