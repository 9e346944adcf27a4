//! The telemetry schema and its migrations, versioned with `PRAGMA user_version`.
//!
//! `user_version` = `SCHEMA_VERSION * 1_000_000 + hash(learn::SCHEMA) % 1_000_000`, so that a
//! change of the learning module's (idempotent) schema is applied too, while an already-current
//! database costs one pragma read on open.
//!
//! Tables (all durations in seconds, times in Unix milliseconds):
//! - `executions`: one row per run (see the column comments below).
//! - `match_events`: per deciding match or observed error-like line, `execution_id` references
//!   `executions(id)` `ON DELETE CASCADE`.
//! - `exec_summary`: counts and sums per (project type, category, exit reason, pattern label),
//!   kept up to date by the store on every insert and delete, so `ee stats` reads a few hundred
//!   rows, not a million (rows whose `runs` fell to 0 stay, and are skipped by readers).
//! - `command_summary`: runs and runtime sums per command key (all runs, and runs that ended by
//!   themselves), kept the same way; used for "time saved" estimates and `ee stats`.
//!
//! No triggers: every process parses the whole schema when it opens the database, and trigger
//! bodies made that (and the insert's preparation) measurably slower.
//! - `spool_merged`: ids of spool entries already merged (never merged twice).
//!
//! Tables of the learning module that reference `executions(id)` must say `ON DELETE CASCADE`
//! (or `SET NULL`), since retention deletes old executions with foreign keys enforced.

/// Version of this module's schema.
pub const SCHEMA_VERSION: i64 = 3;

const fn fnv(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut h: u64 = 0xcbf29ce484222325;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u64;
        h = h.wrapping_mul(0x100000001b3);
        i += 1;
    }
    h
}

/// The `user_version` of a database that is fully up to date with this binary.
pub const USER_VERSION: i64 =
    SCHEMA_VERSION * 1_000_000 + (fnv(crate::learn::SCHEMA) % 1_000_000) as i64;

/// Version 1 of the schema.
pub const V1: &str = r#"
CREATE TABLE IF NOT EXISTS executions (
    id                      INTEGER PRIMARY KEY,
    started_at              INTEGER NOT NULL,            -- Unix time, milliseconds
    mode                    TEXT NOT NULL,               -- pipe | command | run
    command                 TEXT NOT NULL,               -- command line, redacted, shell-quoted
    command_key             TEXT NOT NULL,               -- program + subcommand, e.g. 'cargo test'
    cwd                     TEXT NOT NULL,
    project_type            TEXT NOT NULL,
    category                TEXT NOT NULL,               -- test build deploy lint install run other
    pattern                 TEXT,                        -- main pattern
    success_patterns        TEXT,                        -- JSON array, NULL when none
    error_patterns          TEXT,                        -- JSON array, NULL when none
    exclude_patterns        TEXT,                        -- JSON array, NULL when none
    flags                   TEXT,                        -- e.g. '-i -w', NULL when none
    pattern_learned         INTEGER NOT NULL DEFAULT 0,
    timeout_s               REAL,
    idle_timeout_s          REAL,
    first_output_timeout_s  REAL,
    delay_exit_s            REAL,
    timeout_learned         INTEGER NOT NULL DEFAULT 0,
    exit_code               INTEGER NOT NULL,            -- ee's exit status
    child_exit              INTEGER,                     -- the child's exit code, if it exited
    child_signal            INTEGER,                     -- the signal that ended the child
    reason                  TEXT NOT NULL,               -- exit reason (match, timeout, ...)
    total_s                 REAL NOT NULL,
    first_output_s          REAL,
    first_match_s           REAL,
    match_count             INTEGER NOT NULL,
    stdout_lines            INTEGER NOT NULL,
    stdout_bytes            INTEGER NOT NULL,
    stderr_lines            INTEGER NOT NULL,
    stderr_bytes            INTEGER NOT NULL,
    stopped_early           INTEGER NOT NULL,
    detached                INTEGER NOT NULL DEFAULT 0,  -- ee left the child running
    time_saved_s            REAL                         -- estimated, when known
);
CREATE INDEX IF NOT EXISTS executions_started ON executions(started_at);

CREATE TABLE IF NOT EXISTS match_events (
    id            INTEGER PRIMARY KEY,
    execution_id  INTEGER NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,                         -- match | success | error | observed
    offset_s      REAL NOT NULL,
    stream        TEXT NOT NULL,                         -- stdout | stderr
    line_no       INTEGER NOT NULL,
    pattern       TEXT,
    line          TEXT NOT NULL,                         -- redacted, capped
    matched       TEXT NOT NULL,
    context       TEXT                                   -- JSON array of lines, NULL when none
);
CREATE INDEX IF NOT EXISTS match_events_execution ON match_events(execution_id);

CREATE TABLE IF NOT EXISTS exec_summary (
    project_type   TEXT NOT NULL,
    category       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    pattern        TEXT NOT NULL,                        -- label: main or error patterns, '' = none
    runs           INTEGER NOT NULL DEFAULT 0,
    matched        INTEGER NOT NULL DEFAULT 0,           -- runs with at least one match
    total_s        REAL NOT NULL DEFAULT 0,
    stopped_early  INTEGER NOT NULL DEFAULT 0,
    time_saved_s   REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (project_type, category, reason, pattern)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS command_summary (
    command_key  TEXT PRIMARY KEY,
    runs         INTEGER NOT NULL DEFAULT 0,
    total_s      REAL NOT NULL DEFAULT 0,
    done_runs    INTEGER NOT NULL DEFAULT 0,             -- runs that ended by themselves
    done_s       REAL NOT NULL DEFAULT 0,
    last_at      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS spool_merged (
    uid  TEXT PRIMARY KEY
) WITHOUT ROWID;

"#;

/// Version 3: no index on `executions(command_key)`: nothing looks executions up by key (the
/// per-key numbers are in `command_summary` and the learning tables), and it cost a page write
/// per run and ~21 bytes per execution.
pub const V3: &str = "DROP INDEX IF EXISTS executions_key;";

/// Version 2: the summary triggers of version 1 are replaced by statements in the store.
pub const V2: &str = "
DROP TRIGGER IF EXISTS executions_ai;
DROP TRIGGER IF EXISTS executions_ad;
DROP TRIGGER IF EXISTS executions_au_saved;
";

/// Add one execution to the summaries (?1 project type, ?2 category, ?3 reason, ?4 pattern
/// label, ?5 matched, ?6 total_s, ?7 stopped early, ?8 time saved, ?9 command key, ?10 ended by
/// itself, ?11 started_at).
pub const ADD_SUMMARY: &str = "
INSERT INTO exec_summary (project_type, category, reason, pattern, runs, matched, total_s,
                          stopped_early, time_saved_s)
VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8)
ON CONFLICT DO UPDATE SET runs = runs + 1, matched = matched + excluded.matched,
    total_s = total_s + excluded.total_s, stopped_early = stopped_early + excluded.stopped_early,
    time_saved_s = time_saved_s + excluded.time_saved_s";

pub const ADD_COMMAND_SUMMARY: &str = "
INSERT INTO command_summary (command_key, runs, total_s, done_runs, done_s, last_at)
VALUES (?9, 1, ?6, ?10, CASE WHEN ?10 THEN ?6 ELSE 0 END, ?11)
ON CONFLICT DO UPDATE SET runs = runs + 1, total_s = total_s + excluded.total_s,
    done_runs = done_runs + excluded.done_runs, done_s = done_s + excluded.done_s,
    last_at = max(last_at, excluded.last_at)";

/// Take the executions listed in `temp.doomed` out of the summaries (before deleting them).
pub const SUBTRACT_SUMMARIES: &str = "
INSERT INTO exec_summary (project_type, category, reason, pattern, runs, matched, total_s,
                          stopped_early, time_saved_s)
SELECT project_type, category, reason, coalesce(pattern, (SELECT group_concat(value, ' | ')
           FROM json_each(error_patterns)), '') AS label,
       -count(*), -sum(match_count > 0), -sum(total_s), -sum(stopped_early),
       -sum(coalesce(time_saved_s, 0))
FROM executions WHERE id IN (SELECT id FROM temp.doomed)
GROUP BY project_type, category, reason, label
ON CONFLICT DO UPDATE SET runs = runs + excluded.runs, matched = matched + excluded.matched,
    total_s = total_s + excluded.total_s, stopped_early = stopped_early + excluded.stopped_early,
    time_saved_s = time_saved_s + excluded.time_saved_s;
INSERT INTO command_summary (command_key, runs, total_s, done_runs, done_s, last_at)
SELECT command_key, -count(*), -sum(total_s),
       -sum(NOT stopped_early AND reason IN ('completed', 'no_match')),
       -sum(CASE WHEN NOT stopped_early AND reason IN ('completed', 'no_match') THEN total_s
            ELSE 0 END), 0
FROM executions WHERE id IN (SELECT id FROM temp.doomed)
GROUP BY command_key
ON CONFLICT DO UPDATE SET runs = runs + excluded.runs, total_s = total_s + excluded.total_s,
    done_runs = done_runs + excluded.done_runs, done_s = done_s + excluded.done_s;
DELETE FROM command_summary WHERE runs <= 0;
DELETE FROM executions WHERE id IN (SELECT id FROM temp.doomed);
DELETE FROM temp.doomed;
";
