-- One audit change set per file load (`geoportal layers load`, the `layers.load` job):
-- who, when, which file, into which layer, in which mode, and how many rows it inserted,
-- updated, deleted and left out. The load's own statements are also in audit.changes (the
-- owner's statement records); transaction_id ties them to this record.
CREATE TABLE audit.loads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    loaded_at timestamp with time zone NOT NULL DEFAULT clock_timestamp(),
    user_name text NOT NULL,
    user_role text NOT NULL,
    layer_id text NOT NULL,
    source_file text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('replace', 'append', 'upsert')),
    inserted bigint NOT NULL CHECK (inserted >= 0),
    updated bigint NOT NULL CHECK (updated >= 0),
    deleted bigint NOT NULL CHECK (deleted >= 0),
    skipped bigint NOT NULL CHECK (skipped >= 0),
    transaction_id bigint NOT NULL DEFAULT txid_current()
);
CREATE INDEX loads_layer_time_idx ON audit.loads (layer_id, loaded_at);
ALTER TABLE audit.loads OWNER TO geoportal_owner;
GRANT SELECT ON audit.loads TO geoportal_agency;
REVOKE UPDATE, DELETE, TRUNCATE ON audit.loads FROM PUBLIC, geoportal_agency, geoportal_public;

-- Append-only, like audit.changes: a record is never changed or removed.
CREATE FUNCTION audit.loads_refuse() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
ALTER FUNCTION audit.loads_refuse() OWNER TO geoportal_owner;
CREATE TRIGGER loads_append_only BEFORE UPDATE OR DELETE ON audit.loads
    FOR EACH ROW EXECUTE FUNCTION audit.loads_refuse();
CREATE TRIGGER loads_no_truncate BEFORE TRUNCATE ON audit.loads
    FOR EACH STATEMENT EXECUTE FUNCTION audit.loads_refuse();
