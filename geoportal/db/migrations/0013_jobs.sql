-- The one durable job queue (package `jobs/` owns these objects; docs/database.md).
--
-- Every asynchronous piece of work (uploads, large exports, imagery, OGC API Processes) is a
-- row here, claimed by `geoportal worker` processes with FOR UPDATE SKIP LOCKED and kept
-- alive by a heartbeat. States and words are OGC API Processes' (statusCode). Job ids are
-- random UUIDs: an anonymous job is reachable only by whoever holds its id.
CREATE SCHEMA jobs AUTHORIZATION geoportal_owner;
REVOKE ALL ON SCHEMA jobs FROM PUBLIC;

CREATE TABLE jobs.jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    status text NOT NULL DEFAULT 'accepted'
        CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    owner_name text,
    title text,
    inputs jsonb NOT NULL DEFAULT '{}'::jsonb,
    results jsonb,
    message text,
    progress smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 1 CHECK (max_attempts BETWEEN 1 AND 10),
    worker text,
    created timestamp with time zone NOT NULL DEFAULT now(),
    started timestamp with time zone,
    finished timestamp with time zone,
    updated timestamp with time zone NOT NULL DEFAULT now(),
    heartbeat timestamp with time zone,
    CHECK (status <> 'running' OR (worker IS NOT NULL AND heartbeat IS NOT NULL))
);
ALTER TABLE jobs.jobs OWNER TO geoportal_owner;
-- What a worker claims next, and what a user lists.
CREATE INDEX jobs_queue_idx ON jobs.jobs (created, id) WHERE status = 'accepted';
CREATE INDEX jobs_running_idx ON jobs.jobs (heartbeat) WHERE status = 'running';
CREATE INDEX jobs_owner_idx ON jobs.jobs (owner_name, created DESC, id DESC);

-- The server's agency sessions submit, read and dismiss jobs (routes filter by owner);
-- workers connect as the owner. The public role has no privilege here.
GRANT USAGE ON SCHEMA jobs TO geoportal_agency;
GRANT SELECT, INSERT, UPDATE ON jobs.jobs TO geoportal_agency;
