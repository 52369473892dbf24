-- A row's tenant never changes. Row-level security already stops a tenant
-- from moving its rows elsewhere; this trigger also stops the system scope
-- and the schema owner from doing it by mistake.
CREATE FUNCTION servo_tenant_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        RAISE EXCEPTION 'tenant_id cannot change' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['assets', 'asset_dependencies', 'workflows', 'workflow_assets', 'executions', 'api_keys'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OF tenant_id ON %I FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable()', t || '_tenant_immutable', t);
    END LOOP;
END $$;
