-- Scheduled meetings for Daily dial-in provisioning: PostgreSQL schema.
-- Columns up to `series_id` are yours; the DAG writes back the columns below the marker.
CREATE TABLE IF NOT EXISTS daily_meetings (
    meeting_id              VARCHAR(100) PRIMARY KEY,          -- your id; the room name derives from it
    title                   TEXT NOT NULL,
    starts_at               TIMESTAMPTZ NOT NULL,
    ends_at                 TIMESTAMPTZ NOT NULL,              -- after starts_at
    timezone                TEXT NOT NULL DEFAULT 'UTC',       -- IANA name, for invites
    dialin_display_name     TEXT,                              -- phone participants' name; default: title
    wait_for_meeting_start  BOOLEAN NOT NULL DEFAULT TRUE,     -- callers hear hold music until start
    requested_phone_number  VARCHAR(20),                       -- E.164; a purchased number on the PIN flow
    status                  VARCHAR(20) NOT NULL DEFAULT 'scheduled', -- only 'scheduled' meetings get rooms
    series_id               VARCHAR(100),                     -- optional: occurrences of one recurring series share one room and PIN; NULL: a one-off
    -- written back by the DAG ---------------------------------------------------------------
    room_name               VARCHAR(128),
    room_url                TEXT,
    dialin_pin              CHAR(11),                          -- treat as a secret
    dialin_number           VARCHAR(20),
    dial_string             VARCHAR(64),                       -- tel:+<number>,,<PIN>
    provisioned_at          TIMESTAMPTZ,                       -- NULL = not provisioned yet
    room_exp                BIGINT,                           -- unix seconds the room expires; checked against Daily by reconcile
    room_fingerprint        VARCHAR(32),                      -- what the room was built from; a change updates the room
    last_error              TEXT,
    attempts                INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS daily_meetings_starts_at ON daily_meetings (starts_at);
-- rows without a room: what the freshness trigger's poll (and the alerts) look up every few seconds
CREATE INDEX IF NOT EXISTS daily_meetings_unprovisioned ON daily_meetings (starts_at) WHERE provisioned_at IS NULL;
-- statuses in byte order: the few cancelled rows are looked up, not every row scanned
CREATE INDEX IF NOT EXISTS daily_meetings_status ON daily_meetings (status COLLATE "C");
-- the occurrences of a series, read together (a table without series_id skips this index)
CREATE INDEX IF NOT EXISTS daily_meetings_series ON daily_meetings (series_id) WHERE series_id IS NOT NULL;
-- the Dial-in page's list sorted by status: the whole order (status, then id) from the index, so a page
-- reads its 50 rows instead of sorting every row of a status (daily_dialin/ui, docs/operators-page.md)
CREATE INDEX IF NOT EXISTS daily_meetings_status_id ON daily_meetings (status, meeting_id);
