DROP TABLE run_logs;
DROP TABLE run_events;
DROP TRIGGER executions_delete_steps;
DROP INDEX executions_slots_idx;
DROP INDEX executions_parent_idx;
ALTER TABLE executions DROP COLUMN parent_id;
ALTER TABLE workflows DROP COLUMN retry;
ALTER TABLE assets DROP COLUMN compute;
