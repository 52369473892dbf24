-- Partitions and backfills: an asset's partition definition, the mapping
-- on a dependency edge, the keys of dynamic partitions, and backfills with
-- one row per partition they run.

ALTER TABLE assets ADD COLUMN partitions jsonb CONSTRAINT assets_partitions_object CHECK (partitions IS NULL OR jsonb_typeof(partitions) = 'object');
ALTER TABLE asset_dependencies ADD COLUMN partition_mapping jsonb CONSTRAINT asset_dependencies_partition_mapping_object CHECK (partition_mapping IS NULL OR jsonb_typeof(partition_mapping) = 'object');
-- The latest run of each partition of an asset.
CREATE INDEX executions_partition_idx ON executions (tenant_id, asset_id, partition_key, created_at DESC, id DESC) WHERE asset_id IS NOT NULL;

CREATE TABLE asset_partition_keys (
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id      uuid NOT NULL,
    partition_key text NOT NULL CONSTRAINT asset_partition_keys_key_length CHECK (char_length(partition_key) BETWEEN 1 AND 255),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, partition_key),
    CONSTRAINT asset_partition_keys_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE backfills (
    id                uuid PRIMARY KEY,
    tenant_id         text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id          uuid,
    workflow_id       uuid,
    state             text NOT NULL CONSTRAINT backfills_state CHECK (state IN ('pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
    max_concurrency   integer NOT NULL CONSTRAINT backfills_max_concurrency CHECK (max_concurrency BETWEEN 1 AND 100),
    skip_materialized boolean NOT NULL DEFAULT false,
    wait_for_upstream boolean NOT NULL DEFAULT true,
    total             integer NOT NULL CONSTRAINT backfills_total CHECK (total BETWEEN 1 AND 10000),
    idempotency_key   text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    CONSTRAINT backfills_target CHECK ((asset_id IS NULL) <> (workflow_id IS NULL)),
    CONSTRAINT backfills_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT backfills_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT backfills_workflow_fkey FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX backfills_idempotency_key ON backfills (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX backfills_list_idx ON backfills (tenant_id, created_at DESC, id DESC);

CREATE TABLE backfill_partitions (
    tenant_id     text NOT NULL,
    backfill_id   uuid NOT NULL,
    position      integer NOT NULL,
    partition_key text NOT NULL,
    state         text NOT NULL CONSTRAINT backfill_partitions_state CHECK (state IN ('pending', 'waiting_upstream', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')),
    run_id        uuid,
    started_at    timestamptz,
    completed_at  timestamptz,
    PRIMARY KEY (backfill_id, position),
    CONSTRAINT backfill_partitions_key UNIQUE (backfill_id, partition_key),
    CONSTRAINT backfill_partitions_backfill_fkey FOREIGN KEY (tenant_id, backfill_id) REFERENCES backfills (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT backfill_partitions_run_fkey FOREIGN KEY (tenant_id, run_id) REFERENCES executions (tenant_id, id) ON DELETE SET NULL (run_id)
);
CREATE INDEX backfill_partitions_state_idx ON backfill_partitions (tenant_id, backfill_id, state, position);

DO $$
DECLARE
    t text;
    own text := 'tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')';
BEGIN
    FOREACH t IN ARRAY ARRAY['asset_partition_keys', 'backfills', 'backfill_partitions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', t || '_select', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', t || '_insert', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', t || '_update', t, own, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', t || '_delete', t, own);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OF tenant_id ON %I FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable()', t || '_tenant_immutable', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON asset_partition_keys, backfills, backfill_partitions TO {{app_role}};
