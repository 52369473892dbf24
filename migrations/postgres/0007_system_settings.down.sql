DROP TABLE system_settings;
