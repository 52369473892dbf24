-- Asset tags one row per (asset, tag), kept by triggers on assets (see the
-- PostgreSQL migration, where the tag filter reads them). SQLite filters
-- tags with json_each; the table keeps both schemas alike.
CREATE TABLE asset_tags (
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id  TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (asset_id, tag),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_tags_tag_idx ON asset_tags (tenant_id, tag, asset_id);
INSERT INTO asset_tags (tenant_id, asset_id, tag)
SELECT DISTINCT a.tenant_id, a.id, j.value FROM assets a, json_each(a.tags) j;
CREATE TRIGGER asset_tags_tenant_immutable BEFORE UPDATE OF tenant_id ON asset_tags
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN SELECT RAISE(ABORT, 'tenant_id cannot change'); END;
CREATE TRIGGER assets_tags_insert AFTER INSERT ON assets WHEN NEW.tags <> '[]'
BEGIN
    INSERT INTO asset_tags (tenant_id, asset_id, tag) SELECT DISTINCT NEW.tenant_id, NEW.id, value FROM json_each(NEW.tags);
END;
CREATE TRIGGER assets_tags_update AFTER UPDATE OF tags ON assets WHEN OLD.tags IS NOT NEW.tags
BEGIN
    DELETE FROM asset_tags WHERE asset_id = NEW.id;
    INSERT INTO asset_tags (tenant_id, asset_id, tag) SELECT DISTINCT NEW.tenant_id, NEW.id, value FROM json_each(NEW.tags);
END;
