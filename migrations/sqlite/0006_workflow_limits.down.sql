DROP INDEX executions_workflow_runs_idx;
ALTER TABLE workflows DROP COLUMN max_active_runs;
