-- Core schema: tenants, assets, edges, workflows and runs, with row-level
-- security as the second wall behind the application's tenant scoping.
-- {{app_role}} is replaced by the application role's quoted name.

CREATE TABLE tenants (
    id         text PRIMARY KEY CONSTRAINT tenants_id_format CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name       text NOT NULL DEFAULT '' CONSTRAINT tenants_name_length CHECK (char_length(name) <= 255),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assets (
    id          uuid PRIMARY KEY,
    tenant_id   text REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CONSTRAINT assets_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    description text NOT NULL DEFAULT '',
    asset_type  text NOT NULL DEFAULT 'generic' CONSTRAINT assets_type_length CHECK (char_length(asset_type) BETWEEN 1 AND 100),
    owner       text NOT NULL DEFAULT '',
    tags        jsonb NOT NULL DEFAULT '[]' CONSTRAINT assets_tags_array CHECK (jsonb_typeof(tags) = 'array'),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT assets_tenant_id_key UNIQUE (tenant_id, id)
);
-- Names are unique per tenant, and among global rows (NULLs are distinct in
-- a plain unique index, hence the second, partial one).
CREATE UNIQUE INDEX assets_tenant_name_key ON assets (tenant_id, name) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX assets_global_name_key ON assets (name) WHERE tenant_id IS NULL;
CREATE INDEX assets_list_idx ON assets (tenant_id, created_at DESC, id DESC);
CREATE INDEX assets_name_prefix_idx ON assets (tenant_id, name text_pattern_ops);
CREATE INDEX assets_type_idx ON assets (tenant_id, asset_type, created_at DESC, id DESC);
CREATE INDEX assets_owner_idx ON assets (tenant_id, owner, created_at DESC, id DESC);
CREATE INDEX assets_tags_idx ON assets USING gin (tags jsonb_path_ops);

-- Edges reference assets through (tenant_id, id), so both ends belong to the
-- edge's tenant whatever the caller sends: foreign-key checks ignore RLS.
CREATE TABLE asset_dependencies (
    id                  uuid PRIMARY KEY,
    tenant_id           text NOT NULL,
    upstream_asset_id   uuid NOT NULL,
    downstream_asset_id uuid NOT NULL,
    dependency_type     text NOT NULL CONSTRAINT asset_dependencies_type CHECK (dependency_type IN ('data', 'metadata', 'control')),
    created_at          timestamptz NOT NULL,
    CONSTRAINT asset_dependencies_no_self_edge CHECK (upstream_asset_id <> downstream_asset_id),
    CONSTRAINT asset_dependencies_edge_key UNIQUE (upstream_asset_id, downstream_asset_id, dependency_type),
    CONSTRAINT asset_dependencies_upstream_fkey FOREIGN KEY (tenant_id, upstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT asset_dependencies_downstream_fkey FOREIGN KEY (tenant_id, downstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_dependencies_downstream_idx ON asset_dependencies (downstream_asset_id, dependency_type);
CREATE INDEX asset_dependencies_list_idx ON asset_dependencies (tenant_id, created_at DESC, id DESC);

CREATE TABLE workflows (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CONSTRAINT workflows_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    version     integer NOT NULL CONSTRAINT workflows_version_positive CHECK (version > 0),
    description text NOT NULL DEFAULT '',
    owner       text NOT NULL DEFAULT '',
    tags        jsonb NOT NULL DEFAULT '[]' CONSTRAINT workflows_tags_array CHECK (jsonb_typeof(tags) = 'array'),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT workflows_name_version_key UNIQUE (tenant_id, name, version),
    CONSTRAINT workflows_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX workflows_list_idx ON workflows (tenant_id, created_at DESC, id DESC);

CREATE TABLE workflow_assets (
    tenant_id   text NOT NULL,
    workflow_id uuid NOT NULL,
    position    integer NOT NULL CONSTRAINT workflow_assets_position CHECK (position >= 0),
    asset_id    uuid NOT NULL,
    PRIMARY KEY (workflow_id, position),
    CONSTRAINT workflow_assets_asset_key UNIQUE (workflow_id, asset_id),
    CONSTRAINT workflow_assets_workflow_fkey FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT workflow_assets_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_assets_asset_idx ON workflow_assets (asset_id);

CREATE TABLE executions (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id     uuid,
    asset_id        uuid,
    state           text NOT NULL DEFAULT 'pending' CONSTRAINT executions_state CHECK (state IN
                        ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'skipped', 'upstream_failed')),
    trigger         text NOT NULL DEFAULT 'manual' CONSTRAINT executions_trigger CHECK (trigger IN ('manual', 'scheduled', 'upstream', 'backfill')),
    partition_key   text NOT NULL DEFAULT '',
    attempt         integer NOT NULL DEFAULT 1 CONSTRAINT executions_attempt_positive CHECK (attempt >= 1),
    idempotency_key text,
    started_at      timestamptz,
    completed_at    timestamptz,
    error_message   text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT executions_target CHECK (workflow_id IS NOT NULL OR asset_id IS NOT NULL),
    CONSTRAINT executions_completed_after_started CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at),
    CONSTRAINT executions_workflow_fkey FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT executions_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX executions_idempotency_key ON executions (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_list_idx ON executions (tenant_id, created_at DESC, id DESC);
CREATE INDEX executions_workflow_idx ON executions (tenant_id, workflow_id, created_at DESC, id DESC);
CREATE INDEX executions_asset_idx ON executions (tenant_id, asset_id, created_at DESC, id DESC);
CREATE INDEX executions_state_idx ON executions (tenant_id, state, created_at DESC, id DESC);

-- Row-level security. app.tenant_id and app.system are set per transaction
-- with set_config(..., true). A transaction-local setting reads '' once it
-- ends, so NULLIF makes an unset tenant match no row: fail closed.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_system ON tenants FOR ALL
    USING (current_setting('app.system', true) = 'on')
    WITH CHECK (current_setting('app.system', true) = 'on');
CREATE POLICY tenants_self_select ON tenants FOR SELECT
    USING (id = NULLIF(current_setting('app.tenant_id', true), ''));

-- Assets may be global (tenant_id NULL): every tenant reads them, only the
-- system scope writes them. One policy per command, so that reading a global
-- row never implies writing it.
ALTER TABLE assets ENABLE ROW LEVEL SECURITY;
ALTER TABLE assets FORCE ROW LEVEL SECURITY;
CREATE POLICY assets_select ON assets FOR SELECT USING (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
    OR (tenant_id IS NULL AND (NULLIF(current_setting('app.tenant_id', true), '') IS NOT NULL
                               OR current_setting('app.system', true) = 'on')));
CREATE POLICY assets_insert ON assets FOR INSERT WITH CHECK (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
    OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'));
CREATE POLICY assets_update ON assets FOR UPDATE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
           OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
                OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'));
CREATE POLICY assets_delete ON assets FOR DELETE USING (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
    OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'));

-- Tenant-only tables: a tenant reads and writes its own rows, nothing else.
DO $$
DECLARE
    t text;
    own text := 'tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')';
BEGIN
    FOREACH t IN ARRAY ARRAY['asset_dependencies', 'workflows', 'workflow_assets', 'executions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', t || '_select', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', t || '_insert', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', t || '_update', t, own, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', t || '_delete', t, own);
    END LOOP;
END $$;

-- The application role: created NOLOGIN when missing (the operator gives it a
-- login), never owner, superuser or BYPASSRLS, with DML grants only.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {{app_role_literal}}) THEN
        CREATE ROLE {{app_role}} NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), {{app_role_literal}});
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, assets, asset_dependencies, workflows, workflow_assets, executions TO {{app_role}};
GRANT SELECT ON {{migrations_table}} TO {{app_role}};
