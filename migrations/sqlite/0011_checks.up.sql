-- Data-quality checks: definitions on a tenant's assets, and the outcome of
-- each check in each attempt of a run. A check's name is unique per asset.
-- Deleting a check keeps its results (check_id becomes NULL, by trigger:
-- SQLite's SET NULL would clear tenant_id too).

CREATE TABLE checks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description TEXT NOT NULL DEFAULT '',
    check_type  TEXT NOT NULL CHECK (json_valid(check_type) AND json_type(check_type) = 'object' AND json_type(check_type, '$.type') = 'text'),
    severity    TEXT NOT NULL DEFAULT 'error' CHECK (severity IN ('error', 'warning', 'info')),
    blocking    BOOLEAN NOT NULL DEFAULT 1,
    enabled     BOOLEAN NOT NULL DEFAULT 1,
    tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    owner       TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, asset_id, name),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX checks_list_idx ON checks (tenant_id, created_at DESC, id DESC);

CREATE TABLE check_results (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    execution_id TEXT NOT NULL,
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    check_id     TEXT,
    check_name   TEXT NOT NULL CHECK (length(check_name) BETWEEN 1 AND 255),
    outcome      TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'skipped', 'error')),
    severity     TEXT NOT NULL CHECK (severity IN ('error', 'warning', 'info')),
    blocking     BOOLEAN NOT NULL,
    blocked      BOOLEAN NOT NULL DEFAULT 0,
    rows_checked INTEGER CHECK (rows_checked >= 0),
    rows_failed  INTEGER CHECK (rows_failed >= 0),
    message      TEXT NOT NULL DEFAULT '',
    details      TEXT CHECK (details IS NULL OR (json_valid(details) AND length(CAST(details AS BLOB)) <= 65536)),
    duration_ms  INTEGER CHECK (duration_ms >= 0),
    source       TEXT NOT NULL CHECK (source IN ('step', 'api')),
    executed_at  DATETIME NOT NULL,
    created_at   DATETIME NOT NULL,
    FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, check_id) REFERENCES checks (tenant_id, id)
);
CREATE INDEX check_results_execution_idx ON check_results (tenant_id, execution_id, attempt);
CREATE INDEX check_results_check_idx ON check_results (tenant_id, check_id, executed_at DESC, id DESC) WHERE check_id IS NOT NULL;

CREATE TRIGGER checks_keep_results BEFORE DELETE ON checks
BEGIN UPDATE check_results SET check_id = NULL WHERE tenant_id = OLD.tenant_id AND check_id = OLD.id; END;

CREATE TRIGGER checks_tenant_immutable BEFORE UPDATE OF tenant_id ON checks
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER check_results_tenant_immutable BEFORE UPDATE OF tenant_id ON check_results
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
