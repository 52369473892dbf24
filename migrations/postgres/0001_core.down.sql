REVOKE SELECT ON {{migrations_table}} FROM {{app_role}};
DROP TABLE executions, workflow_assets, workflows, asset_dependencies, assets, tenants;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {{app_role_literal}}) THEN
        EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM %I', current_schema(), {{app_role_literal}});
    END IF;
END $$;
