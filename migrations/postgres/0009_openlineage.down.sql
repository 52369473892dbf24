DROP TABLE column_edges, asset_versions;

-- Rolling back needs run ids unique across tenants again and no run of
-- trigger 'openlineage': such runs become 'manual'. The rollback fails when
-- two tenants hold the same run id.
ALTER TABLE executions DROP CONSTRAINT executions_trigger;
UPDATE executions SET trigger = 'manual' WHERE trigger = 'openlineage';
UPDATE executions SET trigger = 'upstream' WHERE trigger = 'automation';
ALTER TABLE executions ADD CONSTRAINT executions_trigger CHECK (trigger IN ('manual', 'scheduled', 'upstream', 'backfill'));
ALTER TABLE run_logs DROP CONSTRAINT run_logs_pkey;
ALTER TABLE run_logs ADD CONSTRAINT run_logs_pkey PRIMARY KEY (execution_id);
ALTER TABLE executions DROP CONSTRAINT executions_pkey;
ALTER TABLE executions ADD CONSTRAINT executions_pkey PRIMARY KEY (id);
