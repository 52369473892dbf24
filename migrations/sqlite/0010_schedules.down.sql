DROP TRIGGER workflows_schedules_cleanup;
DROP TABLE schedule_ticks;
DROP TABLE schedules;
