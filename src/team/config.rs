//! Connection settings: `ee team connect` stores the URL (never a password) in
//! `<config dir>/team.json`, mode 0600; `EARLYEXIT_TEAM_DB` overrides it (for CI, from a
//! secret). The password comes from the URL given in `EARLYEXIT_TEAM_DB`, `PGPASSWORD`, or the
//! password file (`PGPASSFILE`, else `~/.pgpass`, read like libpq: `host:port:db:user:password`
//! lines with `*` wildcards, ignored unless private to its owner).
//!
//! URL parameters understood besides those of libpq that tokio-postgres reads: `sslmode`
//! (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`; every mode that uses TLS verifies
//! the server's certificate against the system roots or `sslrootcert=FILE`).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The settings file's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The database URL, without a password.
    pub url: String,
    /// Also push executions (redacted command lines, status, duration).
    #[serde(default)]
    pub share_runs: bool,
}

/// The settings file: `<config dir>/team.json`.
pub fn path() -> Option<PathBuf> {
    crate::paths::team_config_file()
}

fn env_url() -> Option<String> {
    crate::paths::team_db_url()
}

/// True when a team database is configured (cheap: an environment lookup and one `stat`).
pub fn configured() -> bool {
    env_url().is_some() || path().is_some_and(|p| p.is_file())
}

/// The settings in effect: `EARLYEXIT_TEAM_DB` (with `EARLYEXIT_TEAM_SHARE_RUNS=1`), else the file.
pub fn load() -> Result<Option<Settings>, String> {
    if let Some(url) = env_url() {
        return Ok(Some(Settings {
            url,
            share_runs: crate::paths::team_share_runs(),
        }));
    }
    let Some(p) = path() else {
        return Ok(None);
    };
    match std::fs::read_to_string(&p) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", p.display())),
    }
}

/// Write the settings file (mode 0600, replaced atomically).
pub fn save(s: &Settings) -> Result<PathBuf, String> {
    let p = path().ok_or(crate::paths::NO_CONFIG_DIR)?;
    let dir = p.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = p.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let text = serde_json::to_string_pretty(s).expect("settings serialize");
    f.write_all(text.as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &p).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    Ok(p)
}

/// Remove the settings file; false when there was none.
pub fn remove() -> Result<bool, String> {
    let Some(p) = path() else { return Ok(false) };
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot remove {}: {e}", p.display())),
    }
}

/// How TLS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Disable,
    /// TLS when the server offers it.
    Prefer,
    /// TLS required, the certificate verified.
    Require,
}

/// A parsed database URL.
pub struct Target {
    pub config: postgres::Config,
    pub tls: Tls,
    pub root_cert: Option<PathBuf>,
    /// The URL as shown to users: no password.
    pub display: String,
    /// The password came with the URL.
    pub had_password: bool,
}

/// Parse a `postgres://` URL; the error is one line.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let url = url.trim();
    let bad = |why: &str| {
        format!(
            "invalid team database URL: {why} (expected postgres://user@host:port/db?sslmode=…)"
        )
    };
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Err(bad("not a postgres:// URL"));
    };
    if rest.is_empty() || rest.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("empty or contains spaces or control characters"));
    }
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut tls = Tls::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "sslmode" => {
                tls = match v {
                    "disable" => Tls::Disable,
                    "allow" | "prefer" => Tls::Prefer,
                    "require" | "verify-ca" | "verify-full" => Tls::Require,
                    _ => return Err(bad(&format!("unknown sslmode '{v}'"))),
                }
            }
            "sslrootcert" => root_cert = Some(PathBuf::from(v)),
            _ => kept.push(kv),
        }
    }
    let clean = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config = postgres::Config::from_str(&clean).map_err(|e| bad(&e.to_string()))?;
    if config.get_hosts().is_empty() {
        return Err(bad("no host"));
    }
    config.ssl_mode(match tls {
        Tls::Disable => postgres::config::SslMode::Disable,
        Tls::Prefer => postgres::config::SslMode::Prefer,
        Tls::Require => postgres::config::SslMode::Require,
    });
    let had_password = config.get_password().is_some();
    Ok(Target {
        display: strip_password(url),
        config,
        tls,
        root_cert,
        had_password,
    })
}

/// The URL without its password (`postgres://user:pw@host` → `postgres://user@host`).
pub fn strip_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(end);
    match auth.rfind('@') {
        Some(at) => {
            let (userinfo, host) = auth.split_at(at);
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// Fill in the password from `PGPASSWORD` or the password file when the URL has none.
pub fn fill_password(t: &mut Target) {
    if t.config.get_password().is_some() {
        return;
    }
    if let Ok(pw) = std::env::var("PGPASSWORD") {
        if !pw.is_empty() {
            t.config.password(pw);
            return;
        }
    }
    let host = match t.config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = t
        .config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = t
        .config
        .get_dbname()
        .or(t.config.get_user())
        .unwrap_or("")
        .to_string();
    let user = t.config.get_user().unwrap_or("").to_string();
    if let Some(pw) = pgpass_lookup(&host, &port, &db, &user) {
        t.config.password(pw);
    }
}

fn pgpass_path() -> Option<PathBuf> {
    match std::env::var_os("PGPASSFILE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::home_dir().map(|h| h.join(".pgpass")),
    }
}

/// Split a password-file line into its five fields (`\:` and `\\` escapes).
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.last_mut().expect("one field").push(n);
                }
            }
            ':' if out.len() < 5 => out.push(String::new()),
            c => out.last_mut().expect("one field").push(c),
        }
    }
    out
}

fn pgpass_lookup(host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    let p = pgpass_path()?;
    let meta = std::fs::metadata(&p).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        // libpq ignores a password file others can read; so does ee.
        return None;
    }
    let text = std::fs::read_to_string(&p).ok()?;
    let host_alias =
        |h: &str| h == host || (h == "localhost" && (host == "127.0.0.1" || host == "::1"));
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f = pgpass_fields(line);
        if f.len() != 5 {
            continue;
        }
        let ok = |pat: &str, v: &str| pat == "*" || pat == v;
        if (f[0] == "*" || host_alias(&f[0])) && ok(&f[1], port) && ok(&f[2], db) && ok(&f[3], user)
        {
            return Some(f[4].clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(parse_url("mysql://x@h/db").is_err());
        assert!(parse_url("postgres://").is_err());
        assert!(parse_url("postgres://u@h/db?sslmode=bogus").is_err());
        let t = parse_url("postgres://u:secret@db.example:6543/team?sslmode=verify-full").unwrap();
        assert_eq!(t.tls, Tls::Require);
        assert!(t.had_password);
        assert_eq!(
            t.display,
            "postgres://u@db.example:6543/team?sslmode=verify-full"
        );
        assert_eq!(t.config.get_ports(), &[6543]);
        assert_eq!(strip_password("postgres://a:b:c@h/d"), "postgres://a@h/d");
    }

    #[test]
    fn pgpass_escapes() {
        assert_eq!(
            pgpass_fields(r"h:5432:db:u:pa\:ss\\w:rd"),
            vec!["h", "5432", "db", "u", r"pa:ss\w:rd"]
        );
    }
}
