-- Server settings kept in the database, in the system scope: the key that
-- signs http steps, generated on first start when none is configured. Only
-- the system scope may read or write them; the server never updates or
-- deletes one.
CREATE TABLE system_settings (
    name       text PRIMARY KEY CONSTRAINT system_settings_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    value      text NOT NULL CONSTRAINT system_settings_value_length CHECK (char_length(value) BETWEEN 1 AND 4096),
    created_at timestamptz NOT NULL
);

ALTER TABLE system_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE system_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY system_settings_system ON system_settings FOR ALL
    USING (current_setting('app.system', true) = 'on')
    WITH CHECK (current_setting('app.system', true) = 'on');

GRANT SELECT, INSERT ON system_settings TO {{app_role}};
