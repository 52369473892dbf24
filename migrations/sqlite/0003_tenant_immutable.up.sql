-- A row's tenant never changes. SQLite has no row-level security, so these
-- triggers back the application's callbacks at the database.
CREATE TRIGGER assets_tenant_immutable BEFORE UPDATE OF tenant_id ON assets
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER asset_dependencies_tenant_immutable BEFORE UPDATE OF tenant_id ON asset_dependencies
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER workflows_tenant_immutable BEFORE UPDATE OF tenant_id ON workflows
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER workflow_assets_tenant_immutable BEFORE UPDATE OF tenant_id ON workflow_assets
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER executions_tenant_immutable BEFORE UPDATE OF tenant_id ON executions
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER api_keys_tenant_immutable BEFORE UPDATE OF tenant_id ON api_keys
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
