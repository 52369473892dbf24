-- Asset tags one row per (asset, tag), kept by a trigger on assets, so that
-- the list's tag filter is an index range under row-level security. Jsonb
-- containment (assets.tags @> ...) is not leakproof: under the policy
-- PostgreSQL applies it only after the policy's quals, so assets_tags_idx
-- was never used and a rare tag read every row of the tenant. Equality on
-- text is leakproof. (SQLite filters with json_each and has no such table.)
-- A tenant's row references its asset through (tenant_id, asset_id), as every
-- tenant table does, so that it never names another tenant's asset; a global
-- row (tenant_id NULL) goes with its asset through asset_id alone.
CREATE TABLE asset_tags (
    tenant_id text REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id  uuid NOT NULL CONSTRAINT asset_tags_asset_id_fkey REFERENCES assets (id) ON DELETE CASCADE,
    tag       text NOT NULL,
    PRIMARY KEY (asset_id, tag),
    CONSTRAINT asset_tags_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_tags_tag_idx ON asset_tags (tenant_id, tag, asset_id);

-- Every asset's tags, read past the assets policy (the owner, in this
-- migration only; FORCE is back before it ends).
ALTER TABLE assets NO FORCE ROW LEVEL SECURITY;
INSERT INTO asset_tags (tenant_id, asset_id, tag)
SELECT DISTINCT a.tenant_id, a.id, t.tag FROM assets a, jsonb_array_elements_text(a.tags) AS t(tag);
ALTER TABLE assets FORCE ROW LEVEL SECURITY;

-- The same walls as assets: global rows (tenant_id NULL) are read by every
-- tenant and written by the system scope only.
ALTER TABLE asset_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE asset_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY asset_tags_select ON asset_tags FOR SELECT USING (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
    OR (tenant_id IS NULL AND (NULLIF(current_setting('app.tenant_id', true), '') IS NOT NULL
                               OR current_setting('app.system', true) = 'on')));
CREATE POLICY asset_tags_insert ON asset_tags FOR INSERT WITH CHECK (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
    OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'));
CREATE POLICY asset_tags_update ON asset_tags FOR UPDATE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
           OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
                OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'));
CREATE POLICY asset_tags_delete ON asset_tags FOR DELETE USING (
    tenant_id = NULLIF(current_setting('app.tenant_id', true), '')
    OR (tenant_id IS NULL AND current_setting('app.system', true) = 'on'));
CREATE TRIGGER asset_tags_tenant_immutable BEFORE UPDATE OF tenant_id ON asset_tags
    FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable();

-- The trigger runs as the writer of the asset (SECURITY INVOKER), under the
-- policies above: a tenant writes its own assets' tags, the system scope
-- the global ones'. Deleting an asset deletes its tags (the foreign key).
CREATE FUNCTION servo_asset_tags_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM asset_tags WHERE asset_id = NEW.id;
    END IF;
    INSERT INTO asset_tags (tenant_id, asset_id, tag)
    SELECT DISTINCT NEW.tenant_id, NEW.id, t.tag FROM jsonb_array_elements_text(NEW.tags) AS t(tag);
    RETURN NULL;
END $$;
-- The conditions skip the function for what cannot change the rows: an
-- untagged new asset, an update that leaves the tags as they were.
CREATE TRIGGER assets_tags_insert AFTER INSERT ON assets
    FOR EACH ROW WHEN (NEW.tags <> '[]'::jsonb) EXECUTE FUNCTION servo_asset_tags_sync();
CREATE TRIGGER assets_tags_update AFTER UPDATE OF tags ON assets
    FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION servo_asset_tags_sync();

GRANT SELECT, INSERT, UPDATE, DELETE ON asset_tags TO {{app_role}};
