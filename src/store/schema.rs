//! The run store's SQL beyond its migrations ([`super::migrations`]): keeping the summaries.
//!
//! Tables (all durations in seconds, times in Unix milliseconds):
//! - `executions`: one row per run (see the column comments in [`super::migrations::V1`]).
//! - `match_events`: per deciding match or observed error-like line, `execution_id` references
//!   `executions(id)` `ON DELETE CASCADE`.
//! - `exec_summary`: counts and sums per (project type, category, exit reason, pattern label),
//!   kept up to date by the store on every insert and delete, so `ee stats` reads a few hundred
//!   rows, not a million (rows whose `runs` fell to 0 stay, and are skipped by readers).
//! - `command_summary`: runs and runtime sums per command key (all runs, and runs that ended by
//!   themselves), kept the same way; used for "time saved" estimates and `ee stats`.
//! - `spool_merged`: ids of spool entries already merged (never merged twice).
//!
//! No triggers: every process parses the whole schema when it opens the database, and trigger
//! bodies made that (and the insert's preparation) measurably slower.

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
