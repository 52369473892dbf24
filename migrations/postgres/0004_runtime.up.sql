-- Runtime: compute specs on assets, retry defaults on workflows, workflow
-- steps as child runs, each run's transition history and output. River's
-- own tables are created by this migration before this file runs.

ALTER TABLE assets ADD COLUMN compute jsonb CONSTRAINT assets_compute_object CHECK (compute IS NULL OR jsonb_typeof(compute) = 'object');
ALTER TABLE workflows ADD COLUMN retry jsonb CONSTRAINT workflows_retry_object CHECK (retry IS NULL OR jsonb_typeof(retry) = 'object');

ALTER TABLE executions ADD CONSTRAINT executions_tenant_id_key UNIQUE (tenant_id, id);
ALTER TABLE executions ADD COLUMN parent_id uuid;
ALTER TABLE executions ADD CONSTRAINT executions_parent_fkey FOREIGN KEY (tenant_id, parent_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE;
CREATE INDEX executions_parent_idx ON executions (tenant_id, parent_id, created_at) WHERE parent_id IS NOT NULL;
-- Slot accounting: the tenant's running and oldest queued runs with an asset.
CREATE INDEX executions_slots_idx ON executions (tenant_id, state, created_at, id) WHERE asset_id IS NOT NULL;

CREATE TABLE run_events (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    execution_id uuid NOT NULL,
    from_state   text NOT NULL,
    to_state     text NOT NULL,
    at           timestamptz NOT NULL,
    attempt      integer NOT NULL,
    reason       text NOT NULL DEFAULT '',
    CONSTRAINT run_events_execution_fkey FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX run_events_execution_idx ON run_events (tenant_id, execution_id, at, id);

CREATE TABLE run_logs (
    execution_id uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    content      text NOT NULL DEFAULT '',
    truncated    boolean NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT run_logs_content_size CHECK (octet_length(content) <= 65536),
    CONSTRAINT run_logs_execution_fkey FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE
    t text;
    own text := 'tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')';
BEGIN
    FOREACH t IN ARRAY ARRAY['run_events', 'run_logs'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', t || '_select', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', t || '_insert', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', t || '_update', t, own, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', t || '_delete', t, own);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OF tenant_id ON %I FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable()', t || '_tenant_immutable', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON run_events, run_logs TO {{app_role}};
-- River's tables hold job queue state, not tenant data; workers set the
-- tenant per job from its arguments.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'river\_%' AND c.relkind IN ('r', 'S') LOOP
        IF r.relkind = 'r' THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I', r.relname, {{app_role_literal}});
        ELSE
            EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %I TO %I', r.relname, {{app_role_literal}});
        END IF;
    END LOOP;
    -- River's own functions (notifications) run as the caller.
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
             WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'river\_%' LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.fn, {{app_role_literal}});
    END LOOP;
END $$;
