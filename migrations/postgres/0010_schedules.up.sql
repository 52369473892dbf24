-- Schedules: cron schedules that start workflow runs by themselves, and the
-- log of their ticks; asset freshness; automations. A schedule names its
-- workflow (and optionally pins a version); runs of a tick carry the
-- idempotency key schedule:<id>:<tick>.

CREATE TABLE schedules (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             text NOT NULL CONSTRAINT schedules_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    workflow_name    text NOT NULL CONSTRAINT schedules_workflow_name_length CHECK (char_length(workflow_name) BETWEEN 1 AND 255),
    workflow_version integer CONSTRAINT schedules_workflow_version_positive CHECK (workflow_version IS NULL OR workflow_version > 0),
    cron             text NOT NULL CONSTRAINT schedules_cron_length CHECK (char_length(cron) BETWEEN 1 AND 255),
    timezone         text NOT NULL DEFAULT 'UTC' CONSTRAINT schedules_timezone_length CHECK (char_length(timezone) BETWEEN 1 AND 100),
    enabled          boolean NOT NULL DEFAULT true,
    catchup          text NOT NULL DEFAULT 'none' CONSTRAINT schedules_catchup CHECK (catchup IN ('none', 'all')),
    max_catchup      integer NOT NULL DEFAULT 10 CONSTRAINT schedules_max_catchup CHECK (max_catchup BETWEEN 1 AND 100),
    overlap          text NOT NULL DEFAULT 'skip' CONSTRAINT schedules_overlap CHECK (overlap IN ('skip', 'queue')),
    partition        text NOT NULL DEFAULT 'none' CONSTRAINT schedules_partition CHECK (partition IN ('none', 'tick_day', 'previous_day', 'tick_hour', 'previous_hour')),
    next_tick_at     timestamptz,
    last_tick_at     timestamptz,
    -- The run of the last fired tick; no foreign key, since runs are
    -- deleted on their own and the schedule outlives them.
    last_run_id      uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT schedules_name_key UNIQUE (tenant_id, name),
    CONSTRAINT schedules_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX schedules_due_idx ON schedules (next_tick_at) WHERE enabled;
CREATE INDEX schedules_workflow_idx ON schedules (tenant_id, workflow_name);

CREATE TABLE schedule_ticks (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL,
    schedule_id uuid NOT NULL,
    tick_at     timestamptz NOT NULL,
    status      text NOT NULL CONSTRAINT schedule_ticks_status CHECK (status IN ('triggered', 'skipped', 'failed')),
    run_id      uuid,
    reason      text NOT NULL DEFAULT '' CONSTRAINT schedule_ticks_reason_length CHECK (char_length(reason) <= 1000),
    created_at  timestamptz NOT NULL,
    CONSTRAINT schedule_ticks_tick_key UNIQUE (schedule_id, tick_at),
    CONSTRAINT schedule_ticks_schedule_fkey FOREIGN KEY (tenant_id, schedule_id) REFERENCES schedules (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX schedule_ticks_list_idx ON schedule_ticks (tenant_id, schedule_id, tick_at DESC);

-- Freshness: an asset's policy, when it last materialized (and each
-- partition), and the instant it turns stale without a new
-- materialization (stale_after; NULL without a policy). Tenant assets only.
CREATE TABLE asset_freshness (
    asset_id             uuid PRIMARY KEY,
    tenant_id            text NOT NULL,
    policy               jsonb CONSTRAINT asset_freshness_policy_object CHECK (policy IS NULL OR jsonb_typeof(policy) = 'object'),
    last_materialized_at timestamptz,
    stale_after          timestamptz,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT asset_freshness_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_freshness_stale_idx ON asset_freshness (tenant_id, stale_after) WHERE stale_after IS NOT NULL;

CREATE TABLE asset_partitions (
    tenant_id            text NOT NULL,
    asset_id             uuid NOT NULL,
    partition_key        text NOT NULL CONSTRAINT asset_partitions_key_length CHECK (char_length(partition_key) BETWEEN 1 AND 255),
    last_materialized_at timestamptz NOT NULL,
    PRIMARY KEY (asset_id, partition_key),
    CONSTRAINT asset_partitions_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);

-- Automations: start a run of a workflow, or materialize an asset, when
-- watched assets materialized (upstream_updated, any or all of them) or went
-- stale (freshness_violated). next_eval_at is when the evaluator looks at
-- it next (NULL: at the next materialization of a watched asset); since is
-- the materialization time after which upstream updates count.
CREATE TABLE automations (
    id                   uuid PRIMARY KEY,
    tenant_id            text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                 text NOT NULL CONSTRAINT automations_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    on_event             text NOT NULL CONSTRAINT automations_on CHECK (on_event IN ('upstream_updated', 'freshness_violated')),
    mode                 text NOT NULL DEFAULT 'any' CONSTRAINT automations_mode CHECK (mode IN ('any', 'all')),
    workflow_name        text CONSTRAINT automations_workflow_name_length CHECK (workflow_name IS NULL OR char_length(workflow_name) BETWEEN 1 AND 255),
    asset_id             uuid,
    min_interval_seconds integer NOT NULL DEFAULT 0 CONSTRAINT automations_min_interval CHECK (min_interval_seconds BETWEEN 0 AND 2678400),
    enabled              boolean NOT NULL DEFAULT true,
    since                timestamptz NOT NULL,
    next_eval_at         timestamptz,
    last_run_at          timestamptz,
    last_run_id          uuid,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT automations_target CHECK ((workflow_name IS NULL) <> (asset_id IS NULL)),
    CONSTRAINT automations_name_key UNIQUE (tenant_id, name),
    CONSTRAINT automations_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT automations_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX automations_due_idx ON automations (next_eval_at) WHERE enabled;

CREATE TABLE automation_assets (
    tenant_id     text NOT NULL,
    automation_id uuid NOT NULL,
    asset_id      uuid NOT NULL,
    PRIMARY KEY (automation_id, asset_id),
    CONSTRAINT automation_assets_automation_fkey FOREIGN KEY (tenant_id, automation_id) REFERENCES automations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT automation_assets_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX automation_assets_asset_idx ON automation_assets (tenant_id, asset_id);

CREATE TABLE automation_evaluations (
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL,
    automation_id uuid NOT NULL,
    evaluated_at  timestamptz NOT NULL,
    result        text NOT NULL CONSTRAINT automation_evaluations_result CHECK (result IN ('triggered', 'skipped', 'failed')),
    run_id        uuid,
    reason        text NOT NULL DEFAULT '' CONSTRAINT automation_evaluations_reason_length CHECK (char_length(reason) <= 1000),
    CONSTRAINT automation_evaluations_automation_fkey FOREIGN KEY (tenant_id, automation_id) REFERENCES automations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX automation_evaluations_list_idx ON automation_evaluations (tenant_id, automation_id, evaluated_at DESC, id DESC);

-- A workflow whose last version goes takes its schedules with it.
CREATE FUNCTION servo_workflow_schedules_cleanup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM workflows WHERE tenant_id = OLD.tenant_id AND name = OLD.name) THEN
        DELETE FROM schedules WHERE tenant_id = OLD.tenant_id AND workflow_name = OLD.name;
        DELETE FROM automations WHERE tenant_id = OLD.tenant_id AND workflow_name = OLD.name;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER workflows_schedules_cleanup AFTER DELETE ON workflows
    FOR EACH ROW EXECUTE FUNCTION servo_workflow_schedules_cleanup();

DO $$
DECLARE
    t text;
    own text := 'tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')';
BEGIN
    FOREACH t IN ARRAY ARRAY['schedules', 'schedule_ticks', 'asset_freshness', 'asset_partitions', 'automations', 'automation_assets', 'automation_evaluations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', t || '_select', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', t || '_insert', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', t || '_update', t, own, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', t || '_delete', t, own);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OF tenant_id ON %I FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable()', t || '_tenant_immutable', t);
    END LOOP;
END $$;

-- The ticker claims due schedules of every tenant in the system scope
-- (SELECT ... FOR UPDATE SKIP LOCKED), then works each in its tenant's
-- scope. The system scope may read and lock schedules, never change them.
CREATE POLICY schedules_system_select ON schedules FOR SELECT
    USING (current_setting('app.system', true) = 'on');
CREATE POLICY schedules_system_lock ON schedules FOR UPDATE
    USING (current_setting('app.system', true) = 'on')
    WITH CHECK (false);
-- The automation evaluator claims due automations the same way.
CREATE POLICY automations_system_select ON automations FOR SELECT
    USING (current_setting('app.system', true) = 'on');
CREATE POLICY automations_system_lock ON automations FOR UPDATE
    USING (current_setting('app.system', true) = 'on')
    WITH CHECK (false);

GRANT SELECT, INSERT, UPDATE, DELETE ON schedules, schedule_ticks, asset_freshness, asset_partitions, automations, automation_assets, automation_evaluations TO {{app_role}};
