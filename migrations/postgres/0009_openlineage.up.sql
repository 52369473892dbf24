-- OpenLineage as producers send it. A run recorded from OpenLineage keeps
-- its runId as its id, and a runId is chosen by the producer, not by Servo:
-- two tenants may send the same one. Run ids are therefore unique per
-- tenant: the primary key of executions (and of run_logs, keyed by run)
-- becomes (tenant_id, id). Every foreign key to executions already names
-- (tenant_id, id).
ALTER TABLE executions DROP CONSTRAINT executions_pkey;
ALTER TABLE executions ADD CONSTRAINT executions_pkey PRIMARY KEY (tenant_id, id);
ALTER TABLE run_logs DROP CONSTRAINT run_logs_pkey;
ALTER TABLE run_logs ADD CONSTRAINT run_logs_pkey PRIMARY KEY (tenant_id, execution_id);
ALTER TABLE executions DROP CONSTRAINT executions_trigger;
ALTER TABLE executions ADD CONSTRAINT executions_trigger CHECK (trigger IN ('manual', 'scheduled', 'upstream', 'backfill', 'openlineage', 'automation'));

-- Dataset versions: each distinct schema (the schema dataset facet's
-- fields) an asset is seen with, numbered from 1, with the run that
-- produced it (NULL once that run is deleted, or for a schema read from an
-- input).
CREATE TABLE asset_versions (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    asset_id     uuid NOT NULL,
    version      integer NOT NULL CONSTRAINT asset_versions_version_positive CHECK (version > 0),
    fields       jsonb NOT NULL CONSTRAINT asset_versions_fields_array CHECK (jsonb_typeof(fields) = 'array'),
    fields_hash  text NOT NULL CONSTRAINT asset_versions_hash_format CHECK (fields_hash ~ '^[0-9a-f]{64}$'),
    execution_id uuid,
    created_at   timestamptz NOT NULL,
    CONSTRAINT asset_versions_version_key UNIQUE (tenant_id, asset_id, version),
    CONSTRAINT asset_versions_hash_key UNIQUE (tenant_id, asset_id, fields_hash),
    CONSTRAINT asset_versions_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT asset_versions_execution_fkey FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE SET NULL (execution_id)
);
CREATE INDEX asset_versions_execution_idx ON asset_versions (tenant_id, execution_id) WHERE execution_id IS NOT NULL;

-- Column edges: upstream column -> downstream column, with the
-- transformation OpenLineage's columnLineage facet names (or none, for a
-- manual edge). Both ends belong to the edge's tenant (composite keys).
CREATE TABLE column_edges (
    id                     uuid PRIMARY KEY,
    tenant_id              text NOT NULL,
    upstream_asset_id      uuid NOT NULL,
    upstream_column        text NOT NULL CONSTRAINT column_edges_upstream_column_length CHECK (char_length(upstream_column) BETWEEN 1 AND 255),
    downstream_asset_id    uuid NOT NULL,
    downstream_column      text NOT NULL CONSTRAINT column_edges_downstream_column_length CHECK (char_length(downstream_column) BETWEEN 1 AND 255),
    transformation_type    text NOT NULL DEFAULT '' CONSTRAINT column_edges_type_length CHECK (char_length(transformation_type) <= 50),
    transformation_subtype text NOT NULL DEFAULT '' CONSTRAINT column_edges_subtype_length CHECK (char_length(transformation_subtype) <= 50),
    description            text NOT NULL DEFAULT '' CONSTRAINT column_edges_description_length CHECK (char_length(description) <= 1000),
    masking                boolean NOT NULL DEFAULT false,
    source                 text NOT NULL CONSTRAINT column_edges_source CHECK (source IN ('openlineage', 'manual')),
    created_at             timestamptz NOT NULL,
    CONSTRAINT column_edges_no_self_edge CHECK (upstream_asset_id <> downstream_asset_id OR upstream_column <> downstream_column),
    CONSTRAINT column_edges_edge_key UNIQUE (tenant_id, upstream_asset_id, upstream_column, downstream_asset_id, downstream_column, transformation_type, transformation_subtype),
    CONSTRAINT column_edges_upstream_fkey FOREIGN KEY (tenant_id, upstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT column_edges_downstream_fkey FOREIGN KEY (tenant_id, downstream_asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX column_edges_downstream_idx ON column_edges (tenant_id, downstream_asset_id, downstream_column);

DO $$
DECLARE
    t text;
    own text := 'tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')';
BEGIN
    FOREACH t IN ARRAY ARRAY['asset_versions', 'column_edges'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', t || '_select', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', t || '_insert', t, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', t || '_update', t, own, own);
        EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', t || '_delete', t, own);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OF tenant_id ON %I FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable()', t || '_tenant_immutable', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON asset_versions, column_edges TO {{app_role}};
