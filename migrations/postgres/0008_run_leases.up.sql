-- Liveness of running attempts. The worker running an attempt holds its
-- lease and renews heartbeat_at every few seconds; an attempt whose lease
-- was not renewed within the heartbeat timeout belongs to a lost worker and
-- is failed and retried by another one. Renewal and the search for stale
-- leases span tenants and run in the system scope.
CREATE TABLE run_leases (
    execution_id uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    attempt      integer NOT NULL,
    worker_id    text NOT NULL CONSTRAINT run_leases_worker_length CHECK (char_length(worker_id) <= 100),
    heartbeat_at timestamptz NOT NULL,
    CONSTRAINT run_leases_execution_fkey FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX run_leases_worker_idx ON run_leases (worker_id);
CREATE INDEX run_leases_heartbeat_idx ON run_leases (heartbeat_at);

ALTER TABLE run_leases ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_leases FORCE ROW LEVEL SECURITY;
CREATE POLICY run_leases_select ON run_leases FOR SELECT USING (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
    OR current_setting('app.system', true) = 'on');
CREATE POLICY run_leases_insert ON run_leases FOR INSERT WITH CHECK (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY run_leases_update ON run_leases FOR UPDATE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
           OR current_setting('app.system', true) = 'on')
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
                OR current_setting('app.system', true) = 'on');
CREATE POLICY run_leases_delete ON run_leases FOR DELETE USING (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE TRIGGER run_leases_tenant_immutable BEFORE UPDATE OF tenant_id ON run_leases
    FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable();

GRANT SELECT, INSERT, UPDATE, DELETE ON run_leases TO {{app_role}};
