-- Scheduled meetings for Daily dial-in provisioning: SQLite schema.
-- Timestamps are UTC, stored as text 'YYYY-MM-DD HH:MM:SS' (what the provisioning DAG writes and
-- compares against: keep this exact format). Booleans are 0/1.
-- Columns up to `series_id` are yours; the DAG writes back the columns below the marker.
CREATE TABLE IF NOT EXISTS daily_meetings (
    meeting_id              TEXT PRIMARY KEY,                 -- your id; the room name derives from it
    title                   TEXT NOT NULL,
    starts_at               TEXT NOT NULL,                    -- UTC
    ends_at                 TEXT NOT NULL,                    -- UTC, after starts_at
    timezone                TEXT NOT NULL DEFAULT 'UTC',      -- IANA name, for invites
    dialin_display_name     TEXT,                             -- phone participants' name; default: title
    wait_for_meeting_start  INTEGER NOT NULL DEFAULT 1,       -- 1: callers hear hold music until start
    requested_phone_number  TEXT,                             -- E.164; must be a purchased number on the PIN flow
    status                  TEXT NOT NULL DEFAULT 'scheduled',-- only 'scheduled' meetings get rooms
    series_id               TEXT,                             -- optional: occurrences of one recurring series share one room and PIN; NULL: a one-off
    -- written back by the DAG ---------------------------------------------------------------
    room_name               TEXT,
    room_url                TEXT,
    dialin_pin              TEXT,                             -- 11 digits: treat as a secret
    dialin_number           TEXT,                             -- E.164
    dial_string             TEXT,                             -- tel:+<number>,,<PIN>
    provisioned_at          TEXT,                             -- UTC; NULL = not provisioned yet
    room_exp                INTEGER,                          -- unix seconds the room expires; checked against Daily by reconcile
    room_fingerprint        TEXT,                             -- what the room was built from; a change updates the room
    last_error              TEXT,                             -- why the last attempt failed
    attempts                INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS daily_meetings_starts_at ON daily_meetings (starts_at);
-- rows without a room: what the freshness trigger's poll (and the alerts) look up every few seconds
CREATE INDEX IF NOT EXISTS daily_meetings_unprovisioned ON daily_meetings (starts_at) WHERE provisioned_at IS NULL;
-- the few cancelled rows among many scheduled ones, looked up instead of scanned (the watcher's poll)
CREATE INDEX IF NOT EXISTS daily_meetings_status ON daily_meetings (status);
-- the occurrences of a series, read together by their key as text: the order chunks of series are
-- cut in (SQLite uses an index for CAST(series_id AS TEXT) only if it is on that expression; a
-- table without series_id skips this index)
CREATE INDEX IF NOT EXISTS daily_meetings_series_key ON daily_meetings (CAST(series_id AS TEXT)) WHERE series_id IS NOT NULL;
-- the Dial-in page's list sorted by status: the whole order (status, then id) from the index, so a page
-- reads its 50 rows instead of sorting every row of a status (daily_dialin/ui, docs/operators-page.md)
CREATE INDEX IF NOT EXISTS daily_meetings_status_id ON daily_meetings (status, meeting_id);
