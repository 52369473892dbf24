-- A per-workflow limit on workflow runs running at once (0: none).
ALTER TABLE workflows ADD COLUMN max_active_runs integer NOT NULL DEFAULT 0 CONSTRAINT workflows_max_active_runs CHECK (max_active_runs >= 0);
CREATE INDEX executions_workflow_runs_idx ON executions (tenant_id, workflow_id, state, created_at, id) WHERE asset_id IS NULL;
