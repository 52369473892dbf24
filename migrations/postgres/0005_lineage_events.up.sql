-- OpenLineage ingestion: every event a tenant sends, kept as received (its
-- canonical JSON) for the history of its run and deleted once older than the
-- retention. event_hash, a SHA-256 of the canonical JSON, makes a resent event
-- recognisable. Facets have no column of their own: they stay in the event.

-- The composite foreign key to executions needs a unique key on (tenant_id,
-- id). Migration 0004 adds one; add it here only when it is missing.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = 'executions'::regclass AND i.indisunique AND i.indpred IS NULL
          AND i.indnkeyatts = 2
          AND (SELECT array_agg(a.attname::text ORDER BY k.n)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) = ARRAY['tenant_id', 'id']
    ) THEN
        ALTER TABLE executions ADD CONSTRAINT executions_lineage_tenant_id_key UNIQUE (tenant_id, id);
    END IF;
END $$;

CREATE TABLE lineage_events (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    execution_id uuid,
    event_kind   text NOT NULL CONSTRAINT lineage_events_kind CHECK (event_kind IN ('RunEvent', 'DatasetEvent', 'JobEvent')),
    event_type   text NOT NULL DEFAULT '' CONSTRAINT lineage_events_type CHECK (event_type IN ('', 'START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER')),
    event_time   timestamptz NOT NULL,
    event_hash   text NOT NULL CONSTRAINT lineage_events_hash_format CHECK (event_hash ~ '^[0-9a-f]{64}$'),
    event        jsonb NOT NULL CONSTRAINT lineage_events_event_object CHECK (jsonb_typeof(event) = 'object'),
    warnings     jsonb NOT NULL DEFAULT '[]' CONSTRAINT lineage_events_warnings_array CHECK (jsonb_typeof(warnings) = 'array'),
    received_at  timestamptz NOT NULL,
    CONSTRAINT lineage_events_hash_key UNIQUE (tenant_id, event_hash),
    CONSTRAINT lineage_events_execution_fkey FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lineage_events_execution_idx ON lineage_events (tenant_id, execution_id, event_time, id) WHERE execution_id IS NOT NULL;
CREATE INDEX lineage_events_received_idx ON lineage_events (tenant_id, received_at);

ALTER TABLE lineage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE lineage_events FORCE ROW LEVEL SECURITY;
CREATE POLICY lineage_events_select ON lineage_events FOR SELECT
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY lineage_events_insert ON lineage_events FOR INSERT
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY lineage_events_update ON lineage_events FOR UPDATE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY lineage_events_delete ON lineage_events FOR DELETE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));

-- servo_tenant_immutable() comes from migration 0003.
CREATE TRIGGER lineage_events_tenant_immutable BEFORE UPDATE OF tenant_id ON lineage_events
    FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable();

GRANT SELECT, INSERT, UPDATE, DELETE ON lineage_events TO {{app_role}};
