-- Liveness of running attempts: the worker running an attempt renews
-- heartbeat_at every few seconds; a stale lease marks a lost worker.
CREATE TABLE run_leases (
    execution_id TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    worker_id    TEXT NOT NULL CHECK (length(worker_id) <= 100),
    heartbeat_at DATETIME NOT NULL,
    -- (tenant_id, id), as on PostgreSQL: run ids are unique per tenant.
    FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX run_leases_worker_idx ON run_leases (worker_id);
CREATE INDEX run_leases_heartbeat_idx ON run_leases (heartbeat_at);
CREATE TRIGGER run_leases_tenant_immutable BEFORE UPDATE OF tenant_id ON run_leases
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
