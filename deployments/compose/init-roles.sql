-- Roles for the compose stack. The postgres image runs this file once, as
-- the superuser, in database "servo", when its data volume is first created.
--
--   servo_owner  owns the database and its schema: `servo migrate up`
--                connects as it (SERVO_MIGRATE_DATABASE_URL).
--   servo_app    the application role `servo serve` connects as
--                (SERVO_DATABASE_URL). Migrations create it NOLOGIN when
--                missing and grant it SELECT, INSERT, UPDATE and DELETE; it is
--                created here first only to give it a login.
--
-- Neither is a superuser or BYPASSRLS, and servo_app is not a member of
-- servo_owner, so row-level security applies to the server; `servo serve`
-- refuses to start otherwise. The passwords are for local use only.
CREATE ROLE servo_owner LOGIN PASSWORD 'servo_owner';
ALTER DATABASE servo OWNER TO servo_owner;
ALTER SCHEMA public OWNER TO servo_owner;
CREATE ROLE servo_app LOGIN PASSWORD 'servo_app';
