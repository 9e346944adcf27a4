//! The ONE ordered list of schema migrations, for every table in the database (the run store's
//! and the learning module's), and the version bookkeeping.
//!
//! `PRAGMA user_version` = the number of migrations applied ([`VERSION`] when up to date). A
//! migration, once released, never changes: a new schema is a new entry at the end (an
//! `ALTER TABLE` is fine, since every step runs exactly once).
//!
//! Databases written before this list existed carry `schema * 1_000_000 + hash % 1_000_000`
//! (schema 1..=3, the hash of the learning tables of that build): they are "legacy" and map onto
//! the first `schema` steps (the learning step, idempotent, runs again). Such a build may still
//! run against a database migrated here and rewrite `user_version` to its legacy number; the
//! `schema_version` table (migration 5, which legacy builds never touch) then says how far the
//! database really is, so no step is ever applied twice and neither build resets the other.
//!
//! One exception, for cost: the bookkeeping tables of `ee learn import` (`learn_imports`,
//! `learn_imported_*`) are still created by the first import (`learn::transfer::import`). Every
//! process parses the whole schema when it opens the database, and those three tables, present
//! in every database, cost each recorded run ~2% more instructions (callgrind, debug build).

/// One step of the schema's history.
pub struct Migration {
    /// What it does, for errors and `ee telemetry check`.
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first. Append only.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "runs: executions, match events, summaries, spool ids",
        sql: V1,
    },
    Migration {
        name: "summaries kept by the store, not by triggers",
        sql: V2,
    },
    Migration {
        name: "no index on executions(command_key)",
        sql: V3,
    },
    Migration {
        name: "learning tables (aggregates, runs, evidence, runtimes, pins)",
        sql: LEARN_V1,
    },
    Migration {
        name: "schema_version: the version again, where pre-list builds cannot overwrite it",
        sql: SCHEMA_VERSION_TABLE,
    },
    Migration {
        name: "learn_runs.feedback_missed: a feedback's kind and its patterns apart",
        sql: FEEDBACK_MISSED,
    },
];

/// The `user_version` of a database that is fully up to date with this binary.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The first `user_version` of the legacy numbering (`schema * 1_000_000 + hash`).
const LEGACY: i64 = 1_000_000;
/// The last legacy schema; a legacy number above it comes from no released build.
const LEGACY_MAX_SCHEMA: i64 = 3;

/// How many migrations a database with this `user_version` has had, or `None` when it was
/// written by a newer ee (left alone: writes that do not fit fail and are spooled).
/// `version` is the length of the list in use ([`VERSION`]).
pub fn applied(user_version: i64, version: i64) -> Option<usize> {
    match user_version {
        v if v < 0 => Some(0),
        v if v < LEGACY => (v <= version).then_some(v as usize),
        v if v / LEGACY <= LEGACY_MAX_SCHEMA => Some((v / LEGACY) as usize),
        _ => None,
    }
}

/// True when `user_version` is in the legacy numbering (then `schema_version` may know better).
pub fn is_legacy(user_version: i64) -> bool {
    user_version >= LEGACY
}

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

/// Version 2: the summary triggers of version 1 are replaced by statements in the store.
pub const V2: &str = "
DROP TRIGGER IF EXISTS executions_ai;
DROP TRIGGER IF EXISTS executions_ad;
DROP TRIGGER IF EXISTS executions_au_saved;
";

/// Version 3: no index on `executions(command_key)`: nothing looks executions up by key (the
/// per-key numbers are in `command_summary` and the learning tables), and it cost a page write
/// per run and ~21 bytes per execution.
pub const V3: &str = "DROP INDEX IF EXISTS executions_key;";

/// Version 4: the learning module's tables, as every build before the list created them (`IF
/// NOT EXISTS`: a legacy database has them already).
/// Tables that reference `executions(id)` must say `ON DELETE CASCADE` (or `SET NULL`), since
/// retention deletes old executions with foreign keys enforced.
pub const LEARN_V1: &str = "CREATE TABLE IF NOT EXISTS learn_scopes (
    scope      TEXT PRIMARY KEY,
    runs       INTEGER NOT NULL DEFAULT 0,
    judged     INTEGER NOT NULL DEFAULT 0,
    failed     INTEGER NOT NULL DEFAULT 0,
    stopped    INTEGER NOT NULL DEFAULT 0,
    ok_n       INTEGER NOT NULL DEFAULT 0,
    ok_mean    REAL    NOT NULL DEFAULT 0,
    ok_m2      REAL    NOT NULL DEFAULT 0,
    fail_n     INTEGER NOT NULL DEFAULT 0,
    fail_mean  REAL    NOT NULL DEFAULT 0,
    fail_m2    REAL    NOT NULL DEFAULT 0,
    gap_n      INTEGER NOT NULL DEFAULT 0,
    gap_mean   REAL    NOT NULL DEFAULT 0,
    gap_m2     REAL    NOT NULL DEFAULT 0,
    burst_n    INTEGER NOT NULL DEFAULT 0,
    burst_mean REAL    NOT NULL DEFAULT 0,
    burst_m2   REAL    NOT NULL DEFAULT 0,
    updated    REAL    NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_patterns (
    scope     TEXT NOT NULL,
    pattern   TEXT NOT NULL,
    source    TEXT NOT NULL,
    tp        INTEGER NOT NULL DEFAULT 0,
    fp        INTEGER NOT NULL DEFAULT 0,
    fneg      INTEGER NOT NULL DEFAULT 0,
    uses      INTEGER NOT NULL DEFAULT 0,
    last_seen REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, pattern)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_runs (
    run_id   INTEGER PRIMARY KEY,
    scopes   TEXT NOT NULL,
    verdicts TEXT NOT NULL,
    feedback TEXT
);
CREATE TABLE IF NOT EXISTS learn_streaks (
    scope         TEXT PRIMARY KEY,
    timeout_stops INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_evidence (
    scope       TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    tn          INTEGER NOT NULL DEFAULT 0,
    checks      INTEGER NOT NULL DEFAULT 0,
    since_check INTEGER NOT NULL DEFAULT 0,
    checked_at  REAL    NOT NULL DEFAULT 0,
    lead_n      INTEGER NOT NULL DEFAULT 0,
    lead_sum    REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, pattern)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_runtimes (
    scope      TEXT PRIMARY KEY,
    samples    TEXT NOT NULL DEFAULT '[]',
    timeout_fp INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_pins (
    scope   TEXT PRIMARY KEY,
    pattern TEXT,
    timeout REAL,
    at      REAL NOT NULL
) WITHOUT ROWID;
";

/// Version 5: the bookkeeping table read when `user_version` is a legacy number.
pub const SCHEMA_VERSION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS schema_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    applied  INTEGER NOT NULL
);
";

/// Version 6: a `missed` feedback's patterns get their own column, instead of following the
/// kind after a line break in `feedback` (rows in that form are split here; readers still
/// accept it, since a build from before may write it).
pub const FEEDBACK_MISSED: &str = "
ALTER TABLE learn_runs ADD COLUMN feedback_missed TEXT;
UPDATE learn_runs SET feedback_missed = substr(feedback, instr(feedback, char(10)) + 1),
                      feedback = substr(feedback, 1, instr(feedback, char(10)) - 1)
 WHERE instr(feedback, char(10)) > 0;
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_onto_the_list() {
        assert_eq!(applied(0, VERSION), Some(0));
        assert_eq!(applied(3, VERSION), Some(3));
        assert_eq!(applied(VERSION, VERSION), Some(VERSION as usize));
        assert_eq!(applied(VERSION + 1, VERSION), None);
        // Legacy numbers: schema 3 with the learning hash of the last pre-list build.
        assert_eq!(applied(3_956_295, VERSION), Some(3));
        assert_eq!(applied(1_000_007, VERSION), Some(1));
        assert_eq!(applied(4_000_000, VERSION), None);
        assert!(is_legacy(3_956_295) && !is_legacy(VERSION));
    }

    #[test]
    fn every_step_applies_on_an_empty_database_and_the_learning_step_twice() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for m in MIGRATIONS {
            c.execute_batch(m.sql)
                .unwrap_or_else(|e| panic!("{}: {e}", m.name));
        }
        // A legacy database has the learning tables already: the step must be idempotent.
        c.execute_batch(LEARN_V1).unwrap();
    }

    #[test]
    fn a_missed_feedback_in_the_old_form_is_split_into_its_columns() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(LEARN_V1).unwrap();
        c.execute_batch(
            "INSERT INTO learn_runs VALUES (1, 's', '[]', 'missed\n[[\"^E\",\"mined\"]]');
             INSERT INTO learn_runs VALUES (2, 's', '[]', 'good');
             INSERT INTO learn_runs VALUES (3, 's', '[]', NULL);",
        )
        .unwrap();
        c.execute_batch(FEEDBACK_MISSED).unwrap();
        let rows: Vec<(Option<String>, Option<String>)> = c
            .prepare("SELECT feedback, feedback_missed FROM learn_runs ORDER BY run_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (Some("missed".into()), Some("[[\"^E\",\"mined\"]]".into())),
                (Some("good".into()), None),
                (None, None)
            ]
        );
    }
}
