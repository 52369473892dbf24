DROP TRIGGER workflows_schedules_cleanup;
DROP TABLE automation_evaluations;
DROP TABLE automation_assets;
DROP TABLE automations;
DROP TABLE asset_partitions;
DROP TABLE asset_freshness;
DROP TABLE schedule_ticks;
DROP TABLE schedules;
