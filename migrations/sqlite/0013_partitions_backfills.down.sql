DROP TRIGGER backfill_partitions_keep_on_run_delete;
DROP TABLE backfill_partitions;
DROP TABLE backfills;
DROP TABLE asset_partition_keys;
DROP INDEX executions_partition_idx;
ALTER TABLE asset_dependencies DROP COLUMN partition_mapping;
ALTER TABLE assets DROP COLUMN partitions;
