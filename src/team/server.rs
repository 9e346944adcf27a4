//! The PostgreSQL side: connecting (TLS through rustls, no system OpenSSL), the schema as one
//! ordered list of migrations, the role layout, pushing outbox batches exactly once and pulling
//! the team's aggregates.
//!
//! Roles (created by `ee team init`, run by the database owner): `earlyexit_member` (NOLOGIN)
//! may insert into `machines`, `batches`, `evidence` and `runs` — row-level security makes each
//! row carry the inserting role's name (`member = current_user`) and a batch name a machine that
//! role claimed — and may read only the views `knowledge` (sums per project, scope and pattern)
//! and `shared_runs`. No member has UPDATE or DELETE on anything, nor SELECT on the raw rows.
//!
//! Exactly once: a batch is `(machine, seq)`, the primary key of `batches`; the batch row and its
//! evidence are inserted in one transaction, and a batch already there is skipped. A push cut off
//! anywhere either committed (the retry skips it) or did not (the retry inserts it).

use std::sync::Arc;
use std::time::Duration;

use postgres::{Client, NoTls};

use super::config::{Target, Tls};
use super::local::{Ev, SharedRun, FLOATS, INTS};

/// The schema, one migration per entry, applied in order; never edit an entry, append one.
pub const MIGRATIONS: &[(i32, &str)] = &[(1, MIGRATION_1), (2, MIGRATION_2), (3, MIGRATION_3)];

/// The schema version this ee pushes to (the last migration).
pub const NEEDED: i32 = 3;

const MIGRATION_1: &str = r#"
DO $$ BEGIN
    CREATE ROLE earlyexit_member NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
CREATE TABLE earlyexit.machines (
    machine text PRIMARY KEY CHECK (machine ~ '^[0-9a-f]{32}$'),
    member  text NOT NULL DEFAULT current_user,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE earlyexit.batches (
    machine text NOT NULL REFERENCES earlyexit.machines,
    seq     bigint NOT NULL CHECK (seq > 0),
    member  text NOT NULL DEFAULT current_user,
    at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine, seq),
    UNIQUE (machine, seq, member)
);
CREATE TABLE earlyexit.evidence (
    machine  text NOT NULL,
    seq      bigint NOT NULL,
    member   text NOT NULL DEFAULT current_user,
    project  text NOT NULL,
    scope    text NOT NULL,
    pattern  text NOT NULL,
    source   text NOT NULL,
    tp bigint NOT NULL, fp bigint NOT NULL, fneg bigint NOT NULL, uses bigint NOT NULL,
    runs bigint NOT NULL, judged bigint NOT NULL, failed bigint NOT NULL, stopped bigint NOT NULL,
    pinned bigint NOT NULL, ok_n bigint NOT NULL, fail_n bigint NOT NULL, gap_n bigint NOT NULL,
    burst_n bigint NOT NULL,
    ok_s1 float8 NOT NULL, ok_s2 float8 NOT NULL, fail_s1 float8 NOT NULL, fail_s2 float8 NOT NULL,
    gap_s1 float8 NOT NULL, gap_s2 float8 NOT NULL, burst_s1 float8 NOT NULL, burst_s2 float8 NOT NULL,
    FOREIGN KEY (machine, seq, member) REFERENCES earlyexit.batches (machine, seq, member)
);
CREATE INDEX evidence_key ON earlyexit.evidence (project, scope, pattern);
CREATE TABLE earlyexit.runs (
    machine     text NOT NULL,
    seq         bigint NOT NULL,
    member      text NOT NULL DEFAULT current_user,
    project     text NOT NULL,
    run_id      bigint NOT NULL,
    command     text NOT NULL,
    command_key text NOT NULL,
    exit_code   bigint NOT NULL,
    reason      text NOT NULL,
    total_s     float8 NOT NULL,
    started_at  bigint NOT NULL,
    FOREIGN KEY (machine, seq, member) REFERENCES earlyexit.batches (machine, seq, member)
);
CREATE FUNCTION earlyexit.owns_machine(m text, who text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $f$ SELECT EXISTS (SELECT 1 FROM earlyexit.machines
                          WHERE machine = m AND member = who) $f$;
CREATE VIEW earlyexit.knowledge AS
    SELECT project, scope, pattern, max(source) AS source,
           sum(tp)::bigint AS tp, sum(fp)::bigint AS fp, sum(fneg)::bigint AS fneg,
           sum(uses)::bigint AS uses, sum(runs)::bigint AS runs, sum(judged)::bigint AS judged,
           sum(failed)::bigint AS failed, sum(stopped)::bigint AS stopped,
           sum(pinned)::bigint AS pinned, sum(ok_n)::bigint AS ok_n, sum(fail_n)::bigint AS fail_n,
           sum(gap_n)::bigint AS gap_n, sum(burst_n)::bigint AS burst_n,
           sum(ok_s1) AS ok_s1, sum(ok_s2) AS ok_s2, sum(fail_s1) AS fail_s1,
           sum(fail_s2) AS fail_s2, sum(gap_s1) AS gap_s1, sum(gap_s2) AS gap_s2,
           sum(burst_s1) AS burst_s1, sum(burst_s2) AS burst_s2
    FROM earlyexit.evidence GROUP BY project, scope, pattern;
CREATE VIEW earlyexit.shared_runs AS
    SELECT member, project, command, command_key, exit_code, reason, total_s, started_at
    FROM earlyexit.runs;
ALTER TABLE earlyexit.machines ENABLE ROW LEVEL SECURITY;
ALTER TABLE earlyexit.batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE earlyexit.evidence ENABLE ROW LEVEL SECURITY;
ALTER TABLE earlyexit.runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON earlyexit.machines FOR INSERT TO earlyexit_member
    WITH CHECK (member = current_user);
CREATE POLICY own_rows ON earlyexit.batches FOR INSERT TO earlyexit_member
    WITH CHECK (member = current_user AND earlyexit.owns_machine(machine, member));
CREATE POLICY own_rows ON earlyexit.evidence FOR INSERT TO earlyexit_member
    WITH CHECK (member = current_user);
CREATE POLICY own_rows ON earlyexit.runs FOR INSERT TO earlyexit_member
    WITH CHECK (member = current_user);
REVOKE ALL ON ALL TABLES IN SCHEMA earlyexit FROM PUBLIC;
REVOKE ALL ON FUNCTION earlyexit.owns_machine(text, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA earlyexit TO earlyexit_member;
GRANT INSERT ON earlyexit.machines, earlyexit.batches, earlyexit.evidence, earlyexit.runs
    TO earlyexit_member;
GRANT SELECT ON earlyexit.knowledge, earlyexit.shared_runs, earlyexit.migrations
    TO earlyexit_member;
GRANT EXECUTE ON FUNCTION earlyexit.owns_machine(text, text) TO earlyexit_member;
"#;

/// Migration 2: running totals kept by a statement trigger, so that a pull reads one row per
/// project, scope and pattern instead of summing every batch ever pushed.
const MIGRATION_2: &str = r#"
CREATE TABLE earlyexit.totals (
    project text NOT NULL,
    scope   text NOT NULL,
    pattern text NOT NULL,
    source  text NOT NULL,
    tp bigint NOT NULL DEFAULT 0,
    fp bigint NOT NULL DEFAULT 0,
    fneg bigint NOT NULL DEFAULT 0,
    uses bigint NOT NULL DEFAULT 0,
    runs bigint NOT NULL DEFAULT 0,
    judged bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    stopped bigint NOT NULL DEFAULT 0,
    pinned bigint NOT NULL DEFAULT 0,
    ok_n bigint NOT NULL DEFAULT 0,
    fail_n bigint NOT NULL DEFAULT 0,
    gap_n bigint NOT NULL DEFAULT 0,
    burst_n bigint NOT NULL DEFAULT 0,
    ok_s1 float8 NOT NULL DEFAULT 0,
    ok_s2 float8 NOT NULL DEFAULT 0,
    fail_s1 float8 NOT NULL DEFAULT 0,
    fail_s2 float8 NOT NULL DEFAULT 0,
    gap_s1 float8 NOT NULL DEFAULT 0,
    gap_s2 float8 NOT NULL DEFAULT 0,
    burst_s1 float8 NOT NULL DEFAULT 0,
    burst_s2 float8 NOT NULL DEFAULT 0,
    PRIMARY KEY (project, scope, pattern)
);
REVOKE ALL ON earlyexit.totals FROM PUBLIC;
INSERT INTO earlyexit.totals (project, scope, pattern, source, tp, fp, fneg, uses, runs, judged, failed, stopped, pinned, ok_n, fail_n, gap_n, burst_n, ok_s1, ok_s2, fail_s1, fail_s2, gap_s1, gap_s2, burst_s1, burst_s2)
    SELECT project, scope, pattern, max(source), sum(tp)::bigint, sum(fp)::bigint, sum(fneg)::bigint, sum(uses)::bigint, sum(runs)::bigint, sum(judged)::bigint, sum(failed)::bigint, sum(stopped)::bigint, sum(pinned)::bigint, sum(ok_n)::bigint, sum(fail_n)::bigint, sum(gap_n)::bigint, sum(burst_n)::bigint, sum(ok_s1), sum(ok_s2), sum(fail_s1), sum(fail_s2), sum(gap_s1), sum(gap_s2), sum(burst_s1), sum(burst_s2)
    FROM earlyexit.evidence GROUP BY project, scope, pattern;
CREATE FUNCTION earlyexit.add_totals() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    -- In key order, so that concurrent pushes lock shared rows in the same order.
    INSERT INTO earlyexit.totals AS t (project, scope, pattern, source, tp, fp, fneg, uses, runs, judged, failed, stopped, pinned, ok_n, fail_n, gap_n, burst_n, ok_s1, ok_s2, fail_s1, fail_s2, gap_s1, gap_s2, burst_s1, burst_s2)
        SELECT project, scope, pattern, max(source), sum(tp)::bigint, sum(fp)::bigint, sum(fneg)::bigint, sum(uses)::bigint, sum(runs)::bigint, sum(judged)::bigint, sum(failed)::bigint, sum(stopped)::bigint, sum(pinned)::bigint, sum(ok_n)::bigint, sum(fail_n)::bigint, sum(gap_n)::bigint, sum(burst_n)::bigint, sum(ok_s1), sum(ok_s2), sum(fail_s1), sum(fail_s2), sum(gap_s1), sum(gap_s2), sum(burst_s1), sum(burst_s2)
        FROM new_rows GROUP BY project, scope, pattern ORDER BY project, scope, pattern
    ON CONFLICT (project, scope, pattern) DO UPDATE SET
            source = greatest(t.source, excluded.source),
            tp = t.tp + excluded.tp,
            fp = t.fp + excluded.fp,
            fneg = t.fneg + excluded.fneg,
            uses = t.uses + excluded.uses,
            runs = t.runs + excluded.runs,
            judged = t.judged + excluded.judged,
            failed = t.failed + excluded.failed,
            stopped = t.stopped + excluded.stopped,
            pinned = t.pinned + excluded.pinned,
            ok_n = t.ok_n + excluded.ok_n,
            fail_n = t.fail_n + excluded.fail_n,
            gap_n = t.gap_n + excluded.gap_n,
            burst_n = t.burst_n + excluded.burst_n,
            ok_s1 = t.ok_s1 + excluded.ok_s1,
            ok_s2 = t.ok_s2 + excluded.ok_s2,
            fail_s1 = t.fail_s1 + excluded.fail_s1,
            fail_s2 = t.fail_s2 + excluded.fail_s2,
            gap_s1 = t.gap_s1 + excluded.gap_s1,
            gap_s2 = t.gap_s2 + excluded.gap_s2,
            burst_s1 = t.burst_s1 + excluded.burst_s1,
            burst_s2 = t.burst_s2 + excluded.burst_s2;
    RETURN NULL;
END $f$;
REVOKE ALL ON FUNCTION earlyexit.add_totals() FROM PUBLIC;
CREATE TRIGGER evidence_totals AFTER INSERT ON earlyexit.evidence
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION earlyexit.add_totals();
CREATE OR REPLACE VIEW earlyexit.knowledge AS
    SELECT project, scope, pattern, source, tp, fp, fneg, uses, runs, judged, failed, stopped, pinned, ok_n, fail_n, gap_n, burst_n, ok_s1, ok_s2, fail_s1, fail_s2, gap_s1, gap_s2, burst_s1, burst_s2 FROM earlyexit.totals;
"#;

/// Migration 3: the narrow scope's evidence travels (`id:<command identity>` scopes): clean
/// passing runs watched (`tn`), shadow checks (`checks`) and the leads of failed runs (`lead_n`,
/// `lead_s1`), summed like the rest.
const MIGRATION_3: &str = r#"
ALTER TABLE earlyexit.evidence ADD COLUMN tn bigint NOT NULL DEFAULT 0,
    ADD COLUMN checks bigint NOT NULL DEFAULT 0, ADD COLUMN lead_n bigint NOT NULL DEFAULT 0,
    ADD COLUMN lead_s1 float8 NOT NULL DEFAULT 0;
ALTER TABLE earlyexit.totals ADD COLUMN tn bigint NOT NULL DEFAULT 0,
    ADD COLUMN checks bigint NOT NULL DEFAULT 0, ADD COLUMN lead_n bigint NOT NULL DEFAULT 0,
    ADD COLUMN lead_s1 float8 NOT NULL DEFAULT 0;
CREATE OR REPLACE FUNCTION earlyexit.add_totals() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    -- In key order, so that concurrent pushes lock shared rows in the same order.
    INSERT INTO earlyexit.totals AS t (project, scope, pattern, source, tp, fp, fneg, uses, runs, judged, failed, stopped, pinned, ok_n, fail_n, gap_n, burst_n, ok_s1, ok_s2, fail_s1, fail_s2, gap_s1, gap_s2, burst_s1, burst_s2, tn, checks, lead_n, lead_s1)
        SELECT project, scope, pattern, max(source), sum(tp)::bigint, sum(fp)::bigint, sum(fneg)::bigint, sum(uses)::bigint, sum(runs)::bigint, sum(judged)::bigint, sum(failed)::bigint, sum(stopped)::bigint, sum(pinned)::bigint, sum(ok_n)::bigint, sum(fail_n)::bigint, sum(gap_n)::bigint, sum(burst_n)::bigint, sum(ok_s1), sum(ok_s2), sum(fail_s1), sum(fail_s2), sum(gap_s1), sum(gap_s2), sum(burst_s1), sum(burst_s2), sum(tn)::bigint, sum(checks)::bigint,
               sum(lead_n)::bigint, sum(lead_s1)
        FROM new_rows GROUP BY project, scope, pattern ORDER BY project, scope, pattern
    ON CONFLICT (project, scope, pattern) DO UPDATE SET
            source = greatest(t.source, excluded.source),
            tp = t.tp + excluded.tp,
            fp = t.fp + excluded.fp,
            fneg = t.fneg + excluded.fneg,
            uses = t.uses + excluded.uses,
            runs = t.runs + excluded.runs,
            judged = t.judged + excluded.judged,
            failed = t.failed + excluded.failed,
            stopped = t.stopped + excluded.stopped,
            pinned = t.pinned + excluded.pinned,
            ok_n = t.ok_n + excluded.ok_n,
            fail_n = t.fail_n + excluded.fail_n,
            gap_n = t.gap_n + excluded.gap_n,
            burst_n = t.burst_n + excluded.burst_n,
            ok_s1 = t.ok_s1 + excluded.ok_s1,
            ok_s2 = t.ok_s2 + excluded.ok_s2,
            fail_s1 = t.fail_s1 + excluded.fail_s1,
            fail_s2 = t.fail_s2 + excluded.fail_s2,
            gap_s1 = t.gap_s1 + excluded.gap_s1,
            gap_s2 = t.gap_s2 + excluded.gap_s2,
            burst_s1 = t.burst_s1 + excluded.burst_s1,
            burst_s2 = t.burst_s2 + excluded.burst_s2,
            tn = t.tn + excluded.tn,
            checks = t.checks + excluded.checks,
            lead_n = t.lead_n + excluded.lead_n,
            lead_s1 = t.lead_s1 + excluded.lead_s1;
    RETURN NULL;
END $f$;
REVOKE ALL ON FUNCTION earlyexit.add_totals() FROM PUBLIC;
CREATE OR REPLACE VIEW earlyexit.knowledge AS
    SELECT project, scope, pattern, source, tp, fp, fneg, uses, runs, judged, failed, stopped, pinned, ok_n, fail_n, gap_n, burst_n, ok_s1, ok_s2, fail_s1, fail_s2, gap_s1, gap_s2, burst_s1, burst_s2, tn, checks, lead_n, lead_s1 FROM earlyexit.totals;
"#;

/// An error talking to the team database, as one line.
pub fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        s = format!("{s}: {x}");
        src = x.source();
    }
    s.replace('\n', " ")
}

fn tls_config(t: &Target) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = &t.root_cert {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        for c in certs {
            let c = c.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            roots
                .add(c)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        }
    } else {
        for c in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(c);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Connect (password from the URL, `PGPASSWORD` or the password file; `password` overrides).
pub fn connect(mut t: Target, password: Option<&str>) -> Result<Client, String> {
    super::config::fill_password(&mut t);
    if let Some(p) = password {
        t.config.password(p);
    }
    t.config
        .connect_timeout(Duration::from_secs(5))
        .tcp_user_timeout(Duration::from_secs(30))
        .keepalives_idle(Duration::from_secs(30))
        .application_name("earlyexit");
    let mut c = match t.tls {
        Tls::Disable => t.config.connect(NoTls),
        _ => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(&t)?);
            t.config.connect(tls)
        }
    }
    .map_err(|e| describe(&e))?;
    c.batch_execute("SET statement_timeout = '120s'; SET lock_timeout = '30s'")
        .map_err(|e| describe(&e))?;
    Ok(c)
}

/// The schema version the server has (0: none).
pub fn version(c: &mut Client) -> Result<i32, String> {
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('earlyexit.migrations') IS NOT NULL",
            &[],
        )
        .map_err(|e| describe(&e))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let v: Option<i32> = c
        .query_one("SELECT max(version) FROM earlyexit.migrations", &[])
        .map_err(|e| describe(&e))?
        .get(0);
    Ok(v.unwrap_or(0))
}

/// Apply the migrations the server lacks; returns the versions applied.
pub fn migrate(c: &mut Client) -> Result<Vec<i32>, String> {
    let mut tx = c.transaction().map_err(|e| describe(&e))?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7142014);
         CREATE SCHEMA IF NOT EXISTS earlyexit;
         CREATE TABLE IF NOT EXISTS earlyexit.migrations (
             version integer PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
         REVOKE ALL ON earlyexit.migrations FROM PUBLIC;",
    )
    .map_err(|e| describe(&e))?;
    let mut applied = Vec::new();
    for (v, sql) in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT 1 FROM earlyexit.migrations WHERE version = $1",
                &[v],
            )
            .map_err(|e| describe(&e))?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql)
            .map_err(|e| format!("migration {v}: {}", describe(&e)))?;
        tx.execute(
            "INSERT INTO earlyexit.migrations (version) VALUES ($1)",
            &[v],
        )
        .map_err(|e| describe(&e))?;
        applied.push(*v);
    }
    tx.commit().map_err(|e| describe(&e))?;
    Ok(applied)
}

/// Claim the machine id for the connected role (nothing when it already is).
pub fn claim(c: &mut Client, machine: &str) -> Result<(), String> {
    c.execute(
        "INSERT INTO earlyexit.machines (machine) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&machine],
    )
    .map_err(|e| describe(&e))?;
    Ok(())
}

/// Rows per INSERT statement.
const CHUNK: usize = 20_000;

/// Push one batch in one transaction; false when the server already had it.
pub fn push_batch(
    c: &mut Client,
    machine: &str,
    seq: i64,
    rows: &[Ev],
    runs: &[SharedRun],
) -> Result<bool, String> {
    let mut tx = c.transaction().map_err(|e| describe(&e))?;
    let n = tx
        .execute(
            "INSERT INTO earlyexit.batches (machine, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&machine, &seq],
        )
        .map_err(|e| describe(&e))?;
    if n == 0 {
        return Ok(false);
    }
    let cols: Vec<String> = INTS
        .iter()
        .chain(FLOATS.iter())
        .map(|c| c.to_string())
        .collect();
    let casts: Vec<String> = (0..INTS.len())
        .map(|i| format!("${}::int8[]", i + 7))
        .chain((0..FLOATS.len()).map(|i| format!("${}::float8[]", i + 7 + INTS.len())))
        .collect();
    let sql = format!(
        "INSERT INTO earlyexit.evidence (machine, seq, project, scope, pattern, source, {})
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], {})",
        cols.join(", "),
        casts.join(", ")
    );
    let st = tx.prepare(&sql).map_err(|e| describe(&e))?;
    for chunk in rows.chunks(CHUNK) {
        let project: Vec<&str> = chunk.iter().map(|e| e.project.as_str()).collect();
        let scope: Vec<&str> = chunk.iter().map(|e| e.scope.as_str()).collect();
        let pattern: Vec<&str> = chunk.iter().map(|e| e.pattern.as_str()).collect();
        let source: Vec<&str> = chunk.iter().map(|e| e.source.as_str()).collect();
        let ints: Vec<Vec<i64>> = (0..INTS.len())
            .map(|i| chunk.iter().map(|e| e.ints[i]).collect())
            .collect();
        let floats: Vec<Vec<f64>> = (0..FLOATS.len())
            .map(|i| chunk.iter().map(|e| e.floats[i]).collect())
            .collect();
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> =
            vec![&machine, &seq, &project, &scope, &pattern, &source];
        for v in &ints {
            params.push(v);
        }
        for v in &floats {
            params.push(v);
        }
        tx.execute(&st, &params).map_err(|e| describe(&e))?;
    }
    for r in runs {
        tx.execute(
            "INSERT INTO earlyexit.runs (machine, seq, project, run_id, command, command_key,
                 exit_code, reason, total_s, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &machine,
                &seq,
                &r.project,
                &r.run_id,
                &r.command,
                &r.command_key,
                &r.exit_code,
                &r.reason,
                &r.total_s,
                &r.started_at,
            ],
        )
        .map_err(|e| describe(&e))?;
    }
    tx.commit().map_err(|e| describe(&e))?;
    Ok(true)
}

/// The team's summed knowledge of the projects.
pub fn pull(c: &mut Client, projects: &[String]) -> Result<Vec<Ev>, String> {
    let cols: Vec<&str> = INTS.iter().chain(FLOATS.iter()).copied().collect();
    let sql = format!(
        "SELECT project, scope, pattern, source, {} FROM earlyexit.knowledge WHERE project = ANY($1)",
        cols.join(", ")
    );
    let rows = c.query(&sql, &[&projects]).map_err(|e| describe(&e))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut e = Ev {
            project: r.try_get(0).map_err(|e| describe(&e))?,
            scope: r.try_get(1).map_err(|e| describe(&e))?,
            pattern: r.try_get(2).map_err(|e| describe(&e))?,
            source: r.try_get(3).map_err(|e| describe(&e))?,
            ..Default::default()
        };
        for i in 0..INTS.len() {
            e.ints[i] = r
                .try_get::<_, Option<i64>>(4 + i)
                .map_err(|e| describe(&e))?
                .unwrap_or(0);
        }
        for i in 0..FLOATS.len() {
            e.floats[i] = r
                .try_get::<_, Option<f64>>(4 + INTS.len() + i)
                .map_err(|e| describe(&e))?
                .unwrap_or(0.0);
        }
        out.push(e);
    }
    Ok(out)
}
