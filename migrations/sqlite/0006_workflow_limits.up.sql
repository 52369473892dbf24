ALTER TABLE workflows ADD COLUMN max_active_runs INTEGER NOT NULL DEFAULT 0 CHECK (max_active_runs >= 0);
CREATE INDEX executions_workflow_runs_idx ON executions (tenant_id, workflow_id, state, created_at, id) WHERE asset_id IS NULL;
