DROP TABLE backfill_partitions, backfills, asset_partition_keys;
DROP INDEX executions_partition_idx;
ALTER TABLE asset_dependencies DROP COLUMN partition_mapping;
ALTER TABLE assets DROP COLUMN partitions;
