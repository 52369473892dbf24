-- Server settings kept in the database, in the system scope: the key that
-- signs http steps, generated on first start when none is configured.
CREATE TABLE system_settings (
    name       TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    value      TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 4096),
    created_at DATETIME NOT NULL
);
