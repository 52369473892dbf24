DROP TABLE lineage_events;
ALTER TABLE executions DROP CONSTRAINT IF EXISTS executions_lineage_tenant_id_key;
