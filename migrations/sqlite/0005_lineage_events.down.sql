DROP TABLE lineage_events;
DROP INDEX executions_lineage_tenant_id_key;
