//! The local side of team learning, in the telemetry database (tables `team_*`, created by
//! `ee team` on first use, never by a run):
//!
//! - `team_state`: this machine's random id, its next sequence number, last push/pull/error;
//! - `team_paths`: directory → project identity (every directory runs were recorded in, and each
//!   repository's top level), read by the lookup to know which project a run belongs to;
//! - `team_scope_projects`: which projects each scope's runs happened in (a scope is shared only
//!   when all its runs are in one project);
//! - `team_pushed`: everything this machine has handed to the outbox so far (per project, scope
//!   and pattern, in additive form), so the next push sends only what changed;
//! - `team_outbox`: evidence waiting to be pushed, one batch per sequence number;
//! - `team_cache`: the team's knowledge without this machine's own share, as last pulled.
//!
//! Evidence travels in additive form: counts, and for runtimes n, Σx and Σx², so that sums of
//! contributions are sums of rows and a correction (a feedback that turns a tp into an fp, a
//! runtime sample restart) is a negative delta.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// Integer columns of an evidence row (`tn` and `checks`, the narrow scope's evidence of
/// specificity and its shadow checks, came with server migration 3).
pub const INTS: [&str; 16] = [
    "tp", "fp", "fneg", "uses", "runs", "judged", "failed", "stopped", "pinned", "ok_n", "fail_n",
    "gap_n", "burst_n", "tn", "checks", "lead_n",
];
/// Real columns: Σx and Σx² of the four runtime kinds, and Σ of the narrow scope's leads (how
/// long before the end of failed runs a pattern matched: what a stop would have saved).
pub const FLOATS: [&str; 9] = [
    "ok_s1", "ok_s2", "fail_s1", "fail_s2", "gap_s1", "gap_s2", "burst_s1", "burst_s2", "lead_s1",
];
/// Indexes into [`Ev::ints`].
pub const TP: usize = 0;
pub const FP: usize = 1;
pub const FNEG: usize = 2;
pub const USES: usize = 3;
pub const RUNS: usize = 4;
pub const PINNED: usize = 8;
/// The first of the four runtime counts (`ok_n`, `fail_n`, `gap_n`, `burst_n`).
pub const OK_N: usize = 9;
pub const GAP_N: usize = 11;
pub const BURST_N: usize = 12;
pub const TN: usize = 13;
pub const CHECKS: usize = 14;
pub const LEAD_N: usize = 15;
/// Indexes into [`Ev::floats`] (each runtime kind's Σx, its Σx² next to it).
pub const GAP_S1: usize = 4;
pub const BURST_S1: usize = 6;
pub const LEAD_S1: usize = 8;

/// The portable form of the narrow scope: `id:<command identity>`. The local narrow scope
/// `run:<project root>\t<identity>` names an absolute path of this machine; the project is
/// already the row's `project` column, so the root is dropped before anything is pushed.
pub const PORTABLE: &str = "id:";

/// The portable scope of a narrow scope and the root it names; `None` for other scopes, and for
/// identities naming an absolute path (local paths never travel).
pub fn portable(scope: &str) -> Option<(&str, String)> {
    let (root, ident) = scope.strip_prefix("run:")?.split_once('\t')?;
    if root.is_empty()
        || ident.is_empty()
        || ident
            .split_whitespace()
            .any(|w| w.starts_with('/') || w.contains("=/"))
    {
        return None;
    }
    Some((root, format!("{PORTABLE}{ident}")))
}
/// One evidence row: a scope (`pattern` empty) or a pattern in a scope, of one project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ev {
    pub project: String,
    pub scope: String,
    pub pattern: String,
    pub source: String,
    pub ints: [i64; 16],
    pub floats: [f64; 9],
}

type Key = (String, String, String);

impl Ev {
    fn key(&self) -> Key {
        (
            self.project.clone(),
            self.scope.clone(),
            self.pattern.clone(),
        )
    }
    fn is_zero(&self) -> bool {
        self.ints.iter().all(|v| *v == 0) && self.floats.iter().all(|v| *v == 0.0)
    }
    /// As a JSON object (for `ee team preview`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("project".into(), self.project.clone().into());
        m.insert("scope".into(), self.scope.clone().into());
        if !self.pattern.is_empty() {
            m.insert("pattern".into(), self.pattern.clone().into());
            m.insert("source".into(), self.source.clone().into());
        }
        for (i, c) in INTS.iter().enumerate() {
            if self.ints[i] != 0 {
                m.insert((*c).into(), self.ints[i].into());
            }
        }
        for (i, c) in FLOATS.iter().enumerate() {
            if self.floats[i] != 0.0 {
                m.insert((*c).into(), self.floats[i].into());
            }
        }
        serde_json::Value::Object(m)
    }
}

/// The column list `project, scope, pattern, source, tp, …, burst_s2`.
pub fn columns() -> String {
    let mut v = vec!["project", "scope", "pattern", "source"];
    v.extend(INTS);
    v.extend(FLOATS);
    v.join(", ")
}

/// Read an [`Ev`] from the columns of [`columns`], starting at column `at`.
pub fn ev_from_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<Ev> {
    let mut e = Ev {
        project: r.get(at)?,
        scope: r.get(at + 1)?,
        pattern: r.get(at + 2)?,
        source: r.get(at + 3)?,
        ..Default::default()
    };
    for i in 0..INTS.len() {
        e.ints[i] = r.get(at + 4 + i)?;
    }
    for i in 0..FLOATS.len() {
        e.floats[i] = r.get(at + 4 + INTS.len() + i)?;
    }
    Ok(e)
}

fn ev_table(name: &str, extra: &str, keyed: bool) -> String {
    let ints: Vec<String> = INTS
        .iter()
        .map(|c| format!("{c} INTEGER NOT NULL DEFAULT 0"))
        .collect();
    let floats: Vec<String> = FLOATS
        .iter()
        .map(|c| format!("{c} REAL NOT NULL DEFAULT 0"))
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {name} ({extra} project TEXT NOT NULL, scope TEXT NOT NULL, \
         pattern TEXT NOT NULL, source TEXT NOT NULL, {}, {}{};",
        ints.join(", "),
        floats.join(", "),
        if keyed {
            ", PRIMARY KEY (project, scope, pattern)) WITHOUT ROWID"
        } else {
            ")"
        }
    )
}

/// Create the `team_*` tables when missing.
pub fn ensure(conn: &Connection) -> rusqlite::Result<()> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS team_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS team_paths (dir TEXT PRIMARY KEY, project TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS team_scope_projects (scope TEXT NOT NULL, project TEXT NOT NULL,
             PRIMARY KEY (scope, project)) WITHOUT ROWID;
         {}
         {}
         CREATE INDEX IF NOT EXISTS team_outbox_seq ON team_outbox (seq);
         CREATE TABLE IF NOT EXISTS team_outbox_runs (seq INTEGER NOT NULL, run_id INTEGER NOT NULL,
             project TEXT NOT NULL, command TEXT NOT NULL, command_key TEXT NOT NULL,
             exit_code INTEGER NOT NULL, reason TEXT NOT NULL, total_s REAL NOT NULL,
             started_at INTEGER NOT NULL);
         {}",
        ev_table("team_pushed", "", true),
        ev_table("team_outbox", "seq INTEGER NOT NULL,", false),
        ev_table("team_cache", "", true),
    );
    conn.execute_batch(&sql)?;
    // Tables made before the narrow evidence travelled: add its columns (additive).
    for t in ["team_pushed", "team_outbox", "team_cache"] {
        for (c, ty) in [
            ("tn", "INTEGER"),
            ("checks", "INTEGER"),
            ("lead_n", "INTEGER"),
            ("lead_s1", "REAL"),
        ] {
            let has: bool = conn.query_row(
                &format!("SELECT count(*) > 0 FROM pragma_table_info('{t}') WHERE name = '{c}'"),
                [],
                |r| r.get(0),
            )?;
            if !has {
                conn.execute_batch(&format!(
                    "ALTER TABLE {t} ADD COLUMN {c} {ty} NOT NULL DEFAULT 0"
                ))?;
            }
        }
    }
    Ok(())
}

pub fn state_get(conn: &Connection, key: &str) -> Option<String> {
    conn.query_row("SELECT value FROM team_state WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .ok()
    .flatten()
}

pub fn state_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO team_state (key, value) VALUES (?1, ?2)",
        params![key, value],
    )
    .map(|_| ())
}

/// This machine's id: 128 random bits, made once per database.
pub fn machine_id(conn: &Connection) -> rusqlite::Result<String> {
    if let Some(id) = state_get(conn, "machine") {
        return Ok(id);
    }
    let mut b = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_ok();
    if !ok {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{t}-{}", std::process::id());
        let h = super::identity::hash("machine", &seed);
        return insert_machine(conn, &h);
    }
    let id: String = b.iter().map(|x| format!("{x:02x}")).collect();
    insert_machine(conn, &id)
}

fn insert_machine(conn: &Connection, id: &str) -> rusqlite::Result<String> {
    conn.execute(
        "INSERT OR IGNORE INTO team_state (key, value) VALUES ('machine', ?1)",
        [id],
    )?;
    Ok(state_get(conn, "machine").unwrap_or_else(|| id.to_string()))
}

/// The scopes of a recorded execution (as `learn::aggregates::scopes` names them).
fn exec_scopes(key: &str, category: &str, project_type: &str) -> Vec<String> {
    let mut v = Vec::new();
    if !key.is_empty() {
        v.push(format!("cmd:{key}"));
    }
    if let Some((program, _)) = key.split_once(' ') {
        v.push(format!("prog:{program}"));
    }
    v.push(format!("type:{category}/{project_type}"));
    v
}

/// Record the identity of `dir` (and of its repository's top level); returns it ('' = none).
pub fn map_dir(conn: &Connection, cache: &mut HashMap<String, String>, dir: &str) -> String {
    if let Some(p) = cache.get(dir) {
        return p.clone();
    }
    let (project, top) = match super::identity::of_dir(Path::new(dir)) {
        Some((top, id)) => (id, Some(top)),
        None => (String::new(), None),
    };
    let mut put = |d: &str| {
        let _ = conn.execute(
            "INSERT OR REPLACE INTO team_paths (dir, project) VALUES (?1, ?2)",
            params![d, project],
        );
        cache.insert(d.to_string(), project.clone());
    };
    put(dir);
    if let Some(top) = top {
        put(&top.to_string_lossy());
    }
    project
}

/// Attribute the runs recorded since the last call to their projects (runs `git` once per new
/// directory), and map `extra` directories (the sync's working directory).
pub fn update_paths(conn: &Connection, extra: &[&Path]) -> rusqlite::Result<()> {
    let mut cache: HashMap<String, String> = HashMap::new();
    {
        let mut st = conn.prepare("SELECT dir, project FROM team_paths")?;
        for r in st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (d, p): (String, String) = r?;
            cache.insert(d, p);
        }
    }
    for d in extra {
        cache.remove(&*d.to_string_lossy());
        map_dir(conn, &mut cache, &d.to_string_lossy());
    }
    let wm: i64 = state_get(conn, "exec_watermark")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rows: Vec<(i64, String, String, String, String)> = {
        let mut st = conn.prepare(
            "SELECT id, command_key, cwd, category, project_type FROM executions WHERE id > ?1 ORDER BY id",
        )?;
        let r = st.query_map([wm], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        r.collect::<rusqlite::Result<_>>()?
    };
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(());
    };
    let mut seen = std::collections::HashSet::new();
    for (_, key, cwd, cat, pt) in &rows {
        let project = map_dir(conn, &mut cache, cwd);
        for s in exec_scopes(key, cat, pt) {
            if seen.insert((s.clone(), project.clone())) {
                conn.execute(
                    "INSERT OR IGNORE INTO team_scope_projects (scope, project) VALUES (?1, ?2)",
                    params![s, project],
                )?;
            }
        }
    }
    state_set(conn, "exec_watermark", &last.to_string())
}

/// Which project a scope's evidence belongs to, and the scope's name as pushed: wider scopes
/// when all their runs happened in one project; the narrow scope by its root's project, in its
/// portable form (see [`portable`]).
struct Owners {
    wide: HashMap<String, String>,
    dirs: HashMap<String, String>,
}

impl Owners {
    fn of(&mut self, conn: &Connection, scope: &str) -> Option<(String, String)> {
        if let Some(p) = self.wide.get(scope) {
            return Some((p.clone(), scope.to_string()));
        }
        let (root, id) = portable(scope)?;
        let project = map_dir(conn, &mut self.dirs, root);
        (!project.is_empty()).then_some((project, id))
    }
}

/// Run `st` (its first column a local scope name) and call `f` with each row's owning project,
/// its scope's name as pushed, and the row; rows of scopes that belong to no single project are
/// skipped.
fn each_owned(
    st: &mut rusqlite::Statement,
    conn: &Connection,
    owners: &mut Owners,
    mut f: impl FnMut(String, String, &rusqlite::Row) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let scope: String = r.get(0)?;
        if let Some((project, scope)) = owners.of(conn, &scope) {
            f(project, scope, r)?;
        }
    }
    Ok(())
}

/// Add `e` to `out` (two narrow scopes of one project and identity, as in two clones, sum).
fn add_into(out: &mut BTreeMap<Key, Ev>, e: Ev) {
    match out.get_mut(&e.key()) {
        Some(o) => {
            for i in 0..o.ints.len() {
                o.ints[i] += e.ints[i];
            }
            for i in 0..o.floats.len() {
                o.floats[i] += e.floats[i];
            }
            o.ints[PINNED] = o.ints[PINNED].min(1);
        }
        None => {
            out.insert(e.key(), e);
        }
    }
}

/// This machine's current knowledge in additive form, for the scopes whose runs all happened in
/// one project, and for the narrow scopes (in portable form) of the projects they are rooted in.
pub fn current(conn: &Connection) -> rusqlite::Result<BTreeMap<Key, Ev>> {
    let mut owners = Owners {
        wide: HashMap::new(),
        dirs: HashMap::new(),
    };
    {
        let mut st = conn.prepare(
            "SELECT scope, min(project), max(project) FROM team_scope_projects GROUP BY scope",
        )?;
        for r in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (s, lo, hi) = r?;
            if lo == hi && !lo.is_empty() {
                owners.wide.insert(s, lo);
            }
        }
        let mut st = conn.prepare("SELECT dir, project FROM team_paths")?;
        for r in st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (d, p): (String, String) = r?;
            owners.dirs.insert(d, p);
        }
    }
    let mut out = BTreeMap::new();
    let mut st = conn.prepare(
        "SELECT scope, runs, judged, failed, stopped, ok_n, ok_mean, ok_m2, fail_n, fail_mean, fail_m2,
                gap_n, gap_mean, gap_m2, burst_n, burst_mean, burst_m2 FROM learn_scopes",
    )?;
    each_owned(&mut st, conn, &mut owners, |project, scope, r| {
        let mut e = Ev {
            project,
            scope,
            ..Default::default()
        };
        for i in 0..4 {
            e.ints[RUNS + i] = r.get(1 + i)?;
        }
        for k in 0..4 {
            let n: i64 = r.get(5 + 3 * k)?;
            let mean: f64 = r.get(6 + 3 * k)?;
            let m2: f64 = r.get(7 + 3 * k)?;
            e.ints[OK_N + k] = n;
            e.floats[2 * k] = n as f64 * mean;
            e.floats[2 * k + 1] = m2 + n as f64 * mean * mean;
        }
        add_into(&mut out, e);
        Ok(())
    })?;
    let mut st =
        conn.prepare("SELECT scope, pattern, source, tp, fp, fneg, uses FROM learn_patterns")?;
    each_owned(&mut st, conn, &mut owners, |project, scope, r| {
        let mut e = Ev {
            project,
            scope,
            pattern: r.get(1)?,
            source: r.get(2)?,
            ..Default::default()
        };
        for i in 0..4 {
            e.ints[TP + i] = r.get(3 + i)?;
        }
        add_into(&mut out, e);
        Ok(())
    })?;
    // The narrow scope's evidence of specificity and shadow checks, on its patterns' rows.
    if let Ok(mut st) =
        conn.prepare("SELECT scope, pattern, tn, checks, lead_n, lead_sum FROM learn_evidence WHERE scope LIKE 'run:%'")
    {
        each_owned(&mut st, conn, &mut owners, |project, scope, r| {
            let key = (project, scope, r.get(1)?);
            // Only for patterns with a row (and so a source) in the narrow scope.
            if let Some(e) = out.get_mut(&key) {
                e.ints[TN] += r.get::<_, i64>(2)?.max(0);
                e.ints[CHECKS] += r.get::<_, i64>(3)?.max(0);
                e.ints[LEAD_N] += r.get::<_, i64>(4)?.max(0);
                e.floats[LEAD_S1] += r.get::<_, f64>(5)?.max(0.0);
            }
            Ok(())
        })?;
    }
    if let Ok(mut st) =
        conn.prepare("SELECT scope, pattern FROM learn_pins WHERE pattern IS NOT NULL")
    {
        each_owned(&mut st, conn, &mut owners, |project, scope, r| {
            let pattern: String = r.get(1)?;
            let key = (project.clone(), scope.clone(), pattern.clone());
            out.entry(key)
                .or_insert_with(|| Ev {
                    project,
                    scope,
                    pattern,
                    source: "user".into(),
                    ..Default::default()
                })
                .ints[PINNED] = 1;
            Ok(())
        })?;
    }
    Ok(out)
}

fn read_evs(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<Vec<Ev>> {
    let mut st = conn.prepare(sql)?;
    let r = st.query_map(p, |r| ev_from_row(r, 0))?;
    r.collect()
}

/// What this machine handed to the outbox so far.
pub fn pushed(conn: &Connection) -> rusqlite::Result<BTreeMap<Key, Ev>> {
    Ok(
        read_evs(conn, &format!("SELECT {} FROM team_pushed", columns()), [])?
            .into_iter()
            .map(|e| (e.key(), e))
            .collect(),
    )
}

/// The changes from `old` to `new`, as rows to push.
pub fn deltas(new: &BTreeMap<Key, Ev>, old: &BTreeMap<Key, Ev>) -> Vec<Ev> {
    let mut out = Vec::new();
    for (k, n) in new {
        let mut d = n.clone();
        if let Some(o) = old.get(k) {
            for i in 0..d.ints.len() {
                d.ints[i] -= o.ints[i];
            }
            for i in 0..d.floats.len() {
                d.floats[i] -= o.floats[i];
            }
        }
        if !d.is_zero() {
            out.push(d);
        }
    }
    for (k, o) in old {
        if !new.contains_key(k) && !o.is_zero() {
            // Gone here (an evicted candidate): take this machine's share back.
            let mut d = o.clone();
            d.ints.iter_mut().for_each(|v| *v = -*v);
            d.floats.iter_mut().for_each(|v| *v = -*v);
            out.push(d);
        }
    }
    out
}

fn values(e: &Ev) -> impl Iterator<Item = rusqlite::types::Value> + '_ {
    use rusqlite::types::Value;
    [&e.project, &e.scope, &e.pattern, &e.source]
        .into_iter()
        .map(|s| Value::Text(s.clone()))
        .chain(e.ints.iter().map(|v| Value::Integer(*v)))
        .chain(e.floats.iter().map(|v| Value::Real(*v)))
}

fn insert_ev(tx: &Transaction, table: &str, seq: Option<i64>, e: &Ev) -> rusqlite::Result<()> {
    let n = 4 + INTS.len() + FLOATS.len();
    let (cols, first) = match seq {
        Some(_) => (format!("seq, {}", columns()), 2),
        None => (columns(), 1),
    };
    let ph: Vec<String> = (first..first + n).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT OR REPLACE INTO {table} ({cols}) VALUES ({}{})",
        if seq.is_some() { "?1, " } else { "" },
        ph.join(", ")
    );
    let mut st = tx.prepare_cached(&sql)?;
    let mut vals: Vec<rusqlite::types::Value> = Vec::with_capacity(n + 1);
    if let Some(s) = seq {
        vals.push(s.into());
    }
    vals.push(e.project.clone().into());
    vals.push(e.scope.clone().into());
    vals.push(e.pattern.clone().into());
    vals.push(e.source.clone().into());
    vals.extend(e.ints.iter().map(|v| rusqlite::types::Value::from(*v)));
    vals.extend(e.floats.iter().map(|v| rusqlite::types::Value::from(*v)));
    st.execute(rusqlite::params_from_iter(vals))?;
    Ok(())
}

/// The next batch: what changed since the last one, and the runs to share. Not written.
pub struct Staged {
    pub rows: Vec<Ev>,
    pub runs: Vec<SharedRun>,
    current: BTreeMap<Key, Ev>,
    last_run: i64,
}

/// An execution shared with `--share-runs` (the command line as redacted in the local store).
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRun {
    pub run_id: i64,
    pub project: String,
    pub command: String,
    pub command_key: String,
    pub exit_code: i64,
    pub reason: String,
    pub total_s: f64,
    pub started_at: i64,
}

impl SharedRun {
    /// From a row of `run_id, project, command, command_key, exit_code, reason, total_s,
    /// started_at` (the outbox and the executions it is staged from).
    fn from_row(r: &rusqlite::Row) -> rusqlite::Result<SharedRun> {
        Ok(SharedRun {
            run_id: r.get(0)?,
            project: r.get(1)?,
            command: r.get(2)?,
            command_key: r.get(3)?,
            exit_code: r.get(4)?,
            reason: r.get(5)?,
            total_s: r.get(6)?,
            started_at: r.get(7)?,
        })
    }
}

/// Compute the next batch (see [`Staged`]).
pub fn stage(conn: &Connection, share_runs: bool) -> rusqlite::Result<Staged> {
    let current = current(conn)?;
    let rows = deltas(&current, &pushed(conn)?);
    let mut runs = Vec::new();
    let mut last_run: i64 = state_get(conn, "runs_watermark")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    if last_run < 0 || !share_runs {
        // Sharing covers the runs recorded while it is on, never earlier ones.
        last_run = conn.query_row("SELECT coalesce(max(id), 0) FROM executions", [], |r| {
            r.get(0)
        })?;
    }
    if share_runs {
        let mut st = conn.prepare(
            "SELECT e.id, p.project, e.command, e.command_key, e.exit_code, e.reason, e.total_s, e.started_at
             FROM executions e JOIN team_paths p ON p.dir = e.cwd
             WHERE e.id > ?1 AND p.project <> '' ORDER BY e.id LIMIT 10000",
        )?;
        let r = st.query_map([last_run], SharedRun::from_row)?;
        runs = r.collect::<rusqlite::Result<_>>()?;
        if let Some(l) = runs.last() {
            last_run = l.run_id;
        }
    }
    Ok(Staged {
        rows,
        runs,
        current,
        last_run,
    })
}

/// Write a staged batch to the outbox under the next sequence number (nothing when empty).
pub fn commit_stage(tx: &Transaction, st: &Staged) -> rusqlite::Result<Option<i64>> {
    state_set(tx, "runs_watermark", &st.last_run.to_string())?;
    if st.rows.is_empty() && st.runs.is_empty() {
        return Ok(None);
    }
    let seq: i64 = state_get(tx, "next_seq")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for e in &st.rows {
        insert_ev(tx, "team_outbox", Some(seq), e)?;
        match st.current.get(&e.key()) {
            Some(cur) => insert_ev(tx, "team_pushed", None, cur)?,
            None => {
                tx.execute(
                    "DELETE FROM team_pushed WHERE project = ?1 AND scope = ?2 AND pattern = ?3",
                    params![e.project, e.scope, e.pattern],
                )?;
            }
        }
    }
    for r in &st.runs {
        tx.execute(
            "INSERT INTO team_outbox_runs (seq, run_id, project, command, command_key, exit_code,
                 reason, total_s, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                seq,
                r.run_id,
                r.project,
                r.command,
                r.command_key,
                r.exit_code,
                r.reason,
                r.total_s,
                r.started_at
            ],
        )?;
    }
    state_set(tx, "next_seq", &(seq + 1).to_string())?;
    Ok(Some(seq))
}

/// Sequence numbers waiting in the outbox, oldest first.
pub fn outbox_seqs(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn
        .prepare("SELECT seq FROM team_outbox UNION SELECT seq FROM team_outbox_runs ORDER BY 1")?;
    let r = st.query_map([], |r| r.get(0))?;
    r.collect()
}

/// Rows waiting in the outbox.
pub fn backlog(conn: &Connection) -> i64 {
    conn.query_row(
        "SELECT (SELECT count(*) FROM team_outbox) + (SELECT count(*) FROM team_outbox_runs)",
        [],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

/// One outbox batch.
pub fn outbox_batch(conn: &Connection, seq: i64) -> rusqlite::Result<(Vec<Ev>, Vec<SharedRun>)> {
    let rows = read_evs(
        conn,
        &format!("SELECT {} FROM team_outbox WHERE seq = ?1", columns()),
        [seq],
    )?;
    let mut st = conn.prepare(
        "SELECT run_id, project, command, command_key, exit_code, reason, total_s, started_at
         FROM team_outbox_runs WHERE seq = ?1",
    )?;
    let runs = st
        .query_map([seq], SharedRun::from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((rows, runs))
}

/// Drop a batch the server acknowledged.
pub fn outbox_done(conn: &Connection, seq: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM team_outbox WHERE seq = ?1", [seq])?;
    conn.execute("DELETE FROM team_outbox_runs WHERE seq = ?1", [seq])?;
    Ok(())
}

/// The projects this machine knows, the ones it pulls.
pub fn projects(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT DISTINCT project FROM team_paths WHERE project <> ''")?;
    let r = st.query_map([], |r| r.get(0))?;
    r.collect()
}

/// Replace the cache with the team's totals minus this machine's own share. Returns (rows
/// cached, rows rejected, first rejection).
pub fn replace_cache(
    tx: &Transaction,
    team: Vec<Ev>,
) -> rusqlite::Result<(usize, usize, Option<String>)> {
    let own = pushed(tx)?;
    tx.execute("DELETE FROM team_cache", [])?;
    let n = 4 + INTS.len() + FLOATS.len();
    let ph: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    let mut st = tx.prepare(&format!(
        "INSERT OR REPLACE INTO team_cache ({}) VALUES ({})",
        columns(),
        ph.join(", ")
    ))?;
    let mut memo = HashMap::new();
    let (mut cached, mut rejected, mut first) = (0, 0, None);
    for mut e in team {
        if let Err(why) = super::validate::check_memo(&e, &mut memo) {
            rejected += 1;
            first.get_or_insert(why);
            continue;
        }
        if let Some(o) = own.get(&e.key()) {
            for i in 0..e.ints.len() {
                e.ints[i] = (e.ints[i] - o.ints[i]).max(0);
            }
            for i in 0..e.floats.len() {
                e.floats[i] = (e.floats[i] - o.floats[i]).max(0.0);
            }
        }
        if e.is_zero() {
            continue;
        }
        st.execute(rusqlite::params_from_iter(values(&e)))?;
        cached += 1;
    }
    Ok((cached, rejected, first))
}
