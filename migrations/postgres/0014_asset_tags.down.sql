DROP TRIGGER assets_tags_update ON assets;
DROP TRIGGER assets_tags_insert ON assets;
DROP FUNCTION servo_asset_tags_sync();
DROP TABLE asset_tags;
