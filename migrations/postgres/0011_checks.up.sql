-- Data-quality checks: definitions on a tenant's assets, and the outcome of
-- each check in each attempt of a run. A check's name is unique per asset.
-- Results keep their check's name, severity and blocking as they were when
-- recorded; deleting a check keeps its history (check_id becomes NULL).

-- checks.(tenant_id, id) is the target of the results' composite key.
CREATE TABLE checks (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    uuid NOT NULL,
    name        text NOT NULL CONSTRAINT checks_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    description text NOT NULL DEFAULT '',
    check_type  jsonb NOT NULL CONSTRAINT checks_type_object CHECK (jsonb_typeof(check_type) = 'object' AND jsonb_typeof(check_type -> 'type') = 'string'),
    severity    text NOT NULL DEFAULT 'error' CONSTRAINT checks_severity CHECK (severity IN ('error', 'warning', 'info')),
    blocking    boolean NOT NULL DEFAULT true,
    enabled     boolean NOT NULL DEFAULT true,
    tags        jsonb NOT NULL DEFAULT '[]' CONSTRAINT checks_tags_array CHECK (jsonb_typeof(tags) = 'array'),
    owner       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT checks_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT checks_asset_name_key UNIQUE (tenant_id, asset_id, name),
    CONSTRAINT checks_asset_fkey FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX checks_list_idx ON checks (tenant_id, created_at DESC, id DESC);

CREATE TABLE check_results (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    execution_id uuid NOT NULL,
    attempt      integer NOT NULL CONSTRAINT check_results_attempt CHECK (attempt >= 1),
    check_id     uuid,
    check_name   text NOT NULL CONSTRAINT check_results_name_length CHECK (char_length(check_name) BETWEEN 1 AND 255),
    outcome      text NOT NULL CONSTRAINT check_results_outcome CHECK (outcome IN ('passed', 'failed', 'skipped', 'error')),
    severity     text NOT NULL CONSTRAINT check_results_severity CHECK (severity IN ('error', 'warning', 'info')),
    blocking     boolean NOT NULL,
    blocked      boolean NOT NULL DEFAULT false,
    rows_checked bigint CONSTRAINT check_results_rows_checked CHECK (rows_checked >= 0),
    rows_failed  bigint CONSTRAINT check_results_rows_failed CHECK (rows_failed >= 0),
    message      text NOT NULL DEFAULT '',
    details      jsonb CONSTRAINT check_results_details_size CHECK (details IS NULL OR octet_length(details::text) <= 65536),
    duration_ms  bigint CONSTRAINT check_results_duration CHECK (duration_ms >= 0),
    source       text NOT NULL CONSTRAINT check_results_source CHECK (source IN ('step', 'api')),
    executed_at  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    CONSTRAINT check_results_execution_fkey FOREIGN KEY (tenant_id, execution_id) REFERENCES executions (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT check_results_check_fkey FOREIGN KEY (tenant_id, check_id) REFERENCES checks (tenant_id, id) ON DELETE SET NULL (check_id)
);
CREATE INDEX check_results_execution_idx ON check_results (tenant_id, execution_id, attempt);
CREATE INDEX check_results_check_idx ON check_results (tenant_id, check_id, executed_at DESC, id DESC) WHERE check_id IS NOT NULL;

ALTER TABLE checks ENABLE ROW LEVEL SECURITY;
ALTER TABLE checks FORCE ROW LEVEL SECURITY;
CREATE POLICY checks_select ON checks FOR SELECT
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY checks_insert ON checks FOR INSERT
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY checks_update ON checks FOR UPDATE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY checks_delete ON checks FOR DELETE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));

ALTER TABLE check_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE check_results FORCE ROW LEVEL SECURITY;
CREATE POLICY check_results_select ON check_results FOR SELECT
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY check_results_insert ON check_results FOR INSERT
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY check_results_update ON check_results FOR UPDATE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY check_results_delete ON check_results FOR DELETE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));

-- servo_tenant_immutable() comes from migration 0003.
CREATE TRIGGER checks_tenant_immutable BEFORE UPDATE OF tenant_id ON checks
    FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable();
CREATE TRIGGER check_results_tenant_immutable BEFORE UPDATE OF tenant_id ON check_results
    FOR EACH ROW EXECUTE FUNCTION servo_tenant_immutable();

GRANT SELECT, INSERT, UPDATE, DELETE ON checks TO {{app_role}};
GRANT SELECT, INSERT, UPDATE, DELETE ON check_results TO {{app_role}};
