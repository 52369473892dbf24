DROP TRIGGER assets_tags_update;
DROP TRIGGER assets_tags_insert;
DROP TABLE asset_tags;
