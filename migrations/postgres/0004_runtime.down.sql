DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'river\_%' AND c.relkind IN ('r', 'S') LOOP
        IF r.relkind = 'r' THEN
            EXECUTE format('REVOKE ALL ON %I FROM %I', r.relname, {{app_role_literal}});
        ELSE
            EXECUTE format('REVOKE ALL ON SEQUENCE %I FROM %I', r.relname, {{app_role_literal}});
        END IF;
    END LOOP;
END $$;
DROP TABLE run_logs, run_events;
DROP INDEX executions_slots_idx;
ALTER TABLE executions DROP COLUMN parent_id;
ALTER TABLE executions DROP CONSTRAINT executions_tenant_id_key;
ALTER TABLE workflows DROP COLUMN retry;
ALTER TABLE assets DROP COLUMN compute;
