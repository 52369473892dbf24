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
ALTER TABLE executions ADD CONSTRAINT executions_trigger CHECK (trigger IN ('manual', 'scheduled', 'upstream', 'backfill', 'openlineage'));
