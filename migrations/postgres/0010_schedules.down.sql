DROP TRIGGER workflows_schedules_cleanup ON workflows;
DROP FUNCTION servo_workflow_schedules_cleanup();
DROP TABLE asset_partitions;
DROP TABLE asset_freshness;
DROP TABLE schedule_ticks;
DROP TABLE schedules;
