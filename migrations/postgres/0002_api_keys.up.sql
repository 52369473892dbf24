-- API keys. A key belongs to one tenant and is stored only as its SHA-256
-- hash. Keys are looked up before any tenant is known, so the table is a
-- system table: only the system scope may read or write it.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '' CONSTRAINT api_keys_name_length CHECK (char_length(name) <= 255),
    prefix       text NOT NULL,
    hash         bytea NOT NULL CONSTRAINT api_keys_hash_key UNIQUE CONSTRAINT api_keys_hash_length CHECK (length(hash) = 32),
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC, id DESC);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY api_keys_system ON api_keys FOR ALL
    USING (current_setting('app.system', true) = 'on')
    WITH CHECK (current_setting('app.system', true) = 'on');

GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO {{app_role}};
