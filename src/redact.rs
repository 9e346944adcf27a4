//! Redaction of secrets before anything is stored (executions, match events, the spool, command
//! keys and therefore every export): values of password/token/secret/key-like options
//! (`--token=X`, `--password X`, `-storepass X`), per-program secret options (`mysql -pX`,
//! `sshpass -p X`, `docker login -p X`, `redis-cli -a X`, `openssl -k X`, `curl -u user:X`,
//! `htpasswd -b FILE USER X`, `vault login X`, …), `NAME=value` assignments whose name looks
//! secret (`API_TOKEN=…`, but not `log_cli=true`), credentials in URLs (`https://user:pass@host`),
//! `secret: value`-like and "password is X"-like text, bearer tokens, PEM private key bodies,
//! well-known token shapes (GitHub, GitLab, Slack, npm, AWS, Google, Stripe, Hugging Face, PyPI,
//! Docker Hub, SendGrid, JWTs, Azure `AccountKey=`/`sig=`), and long random-looking words
//! (high entropy: API keys, AWS secret keys, base64 key material). Values become `***`.
//!
//! The regexes are compiled only when a text contains a hint of a secret, so the common case
//! costs a substring scan; the random-word check is a single pass by hand.

use std::sync::OnceLock;

use regex::Regex;

use crate::context::is_assignment;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Parts of a name (option, variable, setting) that make its value a secret; in a text, a hint
/// that it may hold one.
const SECRET_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "token",
    "secret",
    "key",
    "auth",
    "credential",
    "cookie",
    "session",
    "signature",
    "private",
    "bearer",
    "jwt",
    "webhook",
    "dsn",
];

/// Names (of options, variables, settings) whose value is a secret (`--api-key`, `--password`,
/// `--auth-token`, `DB_PASS`, `AccountKey`, …).
pub fn secret_name(name: &str) -> bool {
    let mut n = name.trim_start_matches('-').to_ascii_lowercase();
    // Words that contain a secret-looking part but name no secret.
    for w in [
        "passive",
        "bypass",
        "passthrough",
        "keyboard",
        "keymap",
        "tokeniz",
    ] {
        n = n.replace(w, "");
    }
    if !n.contains("authoriz") {
        n = n.replace("author", "");
    }
    SECRET_WORDS.iter().any(|w| n.contains(w))
}

/// Programs that run the command after them (their own options skipped): the shared list in
/// `context`, plus `timeout`, `xargs` and `watch`, which the command key does not look through
/// (adding them there would change existing keys).
fn is_wrapper(p: &str) -> bool {
    crate::context::runs_next_word(p) || matches!(p, "timeout" | "xargs" | "watch")
}

fn is_shell(p: &str) -> bool {
    matches!(p, "sh" | "bash" | "zsh" | "dash" | "fish" | "ksh" | "ash")
}

fn base(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

/// What a secret option does to its value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Value {
    /// The whole value is a secret.
    Whole,
    /// `user<sep>secret`: the part after the separator is.
    After(char),
}

/// Programs with rules of their own below.
fn has_rules(p: &str) -> bool {
    matches!(
        p,
        "mysql"
            | "mysqldump"
            | "mysqladmin"
            | "mysqlimport"
            | "mysqlshow"
            | "mysqlcheck"
            | "mysqlsh"
            | "mariadb"
            | "mariadb-dump"
            | "mariadb-admin"
            | "mongo"
            | "mongosh"
            | "mongodump"
            | "mongorestore"
            | "mongoexport"
            | "mongoimport"
            | "sshpass"
            | "useradd"
            | "usermod"
            | "7z"
            | "7za"
            | "7zr"
            | "rar"
            | "unrar"
            | "docker"
            | "podman"
            | "nerdctl"
            | "buildah"
            | "skopeo"
            | "helm"
            | "oras"
            | "crane"
            | "regctl"
            | "az"
            | "redis-cli"
            | "keydb-cli"
            | "valkey-cli"
            | "openssl"
            | "curl"
            | "lftp"
            | "smbclient"
            | "rpcclient"
            | "ldapsearch"
            | "ldapadd"
            | "ldapmodify"
            | "ldapdelete"
            | "ldapwhoami"
            | "ldapcompare"
            | "ldappasswd"
            | "sqlcmd"
            | "bcp"
            | "zip"
            | "unzip"
            | "zipcloak"
            | "gh"
            | "htpasswd"
            | "vault"
            | "bao"
    )
}

/// A per-program secret option: `-X VALUE` or `-XVALUE` (`attached`), or exactly `opt VALUE`.
fn program_option(prog: &str, subs: &[String], w: &str) -> Option<(usize, Value)> {
    // Returns (length of the option name within `w`, how its value is a secret).
    let short = |c: char| -> Option<(usize, Value)> {
        let mut cs = w.chars();
        (cs.next() == Some('-') && cs.next() == Some(c)).then_some((2, Value::Whole))
    };
    let exact = |names: &[&str], v: Value| -> Option<(usize, Value)> {
        let name = w.split_once('=').map_or(w, |(n, _)| n);
        names.contains(&name).then_some((name.len(), v))
    };
    let login = subs.iter().any(|s| s == "login");
    match prog {
        "mysql" | "mysqldump" | "mysqladmin" | "mysqlimport" | "mysqlshow" | "mysqlcheck"
        | "mysqlsh" | "mariadb" | "mariadb-dump" | "mariadb-admin" | "mongo" | "mongosh"
        | "mongodump" | "mongorestore" | "mongoexport" | "mongoimport" | "sshpass" | "useradd"
        | "usermod" | "7z" | "7za" | "7zr" | "rar" | "unrar" => short('p'),
        "docker" | "podman" | "nerdctl" | "buildah" | "skopeo" | "helm" | "oras" | "crane"
        | "regctl" | "az"
            if login =>
        {
            short('p')
        }
        "redis-cli" | "keydb-cli" | "valkey-cli" => short('a'),
        "openssl" => exact(&["-k", "-K"], Value::Whole),
        "curl" => exact(
            &["-u", "--user", "-U", "--proxy-user", "-E", "--cert"],
            Value::After(':'),
        )
        .or_else(|| {
            (w.starts_with("-u") && !w.starts_with("--")).then_some((2, Value::After(':')))
        }),
        "lftp" => exact(&["-u", "--user"], Value::After(',')),
        "smbclient" | "rpcclient" => exact(&["-U", "--user"], Value::After('%'))
            .or_else(|| short('U').map(|(n, _)| (n, Value::After('%')))),
        "ldapsearch" | "ldapadd" | "ldapmodify" | "ldapdelete" | "ldapwhoami" | "ldapcompare" => {
            exact(&["-w"], Value::Whole)
        }
        "ldappasswd" => exact(&["-w", "-s"], Value::Whole),
        "sqlcmd" | "bcp" | "zip" | "unzip" | "zipcloak" => short('P'),
        "gh" if subs.iter().any(|s| s == "secret") => exact(&["-b", "--body"], Value::Whole),
        _ => None,
    }
}

/// A positional word that is itself a secret, given the program and the positionals before it.
fn positional_secret(prog: &str, subs: &[String], w: &str) -> bool {
    let s: Vec<&str> = subs.iter().map(String::as_str).collect();
    match prog {
        "vault" | "bao" => {
            matches!(
                s.as_slice(),
                ["login"] | ["unwrap"] | ["token", "lookup" | "revoke" | "renew"]
            ) && !w.contains('=')
        }
        _ => false,
    }
}

/// Programs whose `key=value` arguments are secret data (`vault kv put path k=v`).
fn values_are_secret(prog: &str, subs: &[String]) -> bool {
    let s: Vec<&str> = subs.iter().map(String::as_str).collect();
    matches!(prog, "vault" | "bao") && matches!(s.first().copied(), Some("write" | "put" | "patch"))
        || matches!(prog, "vault" | "bao")
            && s.first() == Some(&"kv")
            && matches!(s.get(1).copied(), Some("put" | "patch"))
}

/// A setting name given as a positional word whose next word is its value
/// (`aws configure set aws_secret_access_key X`, `npm config set //host/:_authToken X`).
fn secret_setting(w: &str) -> bool {
    let l = w.to_ascii_lowercase();
    w.len() > 3
        && !l.contains(char::is_whitespace)
        && [
            "password",
            "passwd",
            "secret",
            "token",
            "key",
            "apikey",
            "credential",
        ]
        .iter()
        .any(|s| l.ends_with(s))
}

/// Mask what follows the first `sep` (`user:pass` → `user:***`); a value without the separator
/// names only a user and is kept.
fn mask_after(v: &str, how: Value, full: bool) -> String {
    match how {
        Value::Whole => MASK.to_string(),
        Value::After(sep) => match v.split_once(sep) {
            Some((user, _)) => format!("{}{sep}{MASK}", word(full, user)),
            None => word(full, v),
        },
    }
}

/// Redact command words (the program's and every program's after it: `sudo mysql -pX`,
/// `sshpass -p X ssh …`, `sh -c 'mysql -pX db'`).
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    redact_words(argv, 0, true)
}

/// The words the command key is computed from, at every `ee run` start and when a run is
/// recorded: the same rules as [`redact_argv`] for options, programs, assignments and scripts,
/// but each remaining word is checked without the regexes (see [`cheap_word`]), so that
/// computing a key never pays for compiling them.
pub fn redact_argv_for_key(argv: &[String]) -> Vec<String> {
    redact_words(argv, 0, false)
}

/// Prefixes of well-known token shapes, for [`cheap_word`].
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "xoxe-",
    "xapp-",
    "AKIA",
    "ASIA",
    "AGPA",
    "AIDA",
    "AROA",
    "ANPA",
    "ANVA",
    "AIPA",
    "sk-",
    "sk_",
    "rk_",
    "pk_live_",
    "glpat-",
    "npm_",
    "AIza",
    "hf_",
    "pypi-",
    "dckr_pat_",
    "SG.",
    "shpat_",
    "shpca_",
    "shppa_",
    "shpss_",
    "dop_v1_",
    "eyJ",
];

/// A word that could be a secret, judged without regexes: `name=value` or `name:value` with a
/// secret-looking name, a well-known token prefix on a long word, or a random-looking word.
fn cheap_word(w: &str) -> String {
    if let Some((name, _)) = w.split_once(['=', ':']) {
        if !name.is_empty() && secret_name(name) {
            return MASK.to_string();
        }
    }
    if looks_random(w) || (w.len() >= 16 && TOKEN_PREFIXES.iter().any(|p| w.starts_with(p))) {
        return MASK.to_string();
    }
    w.to_string()
}

/// One word: fully redacted, or cheaply for the command key.
fn word(full: bool, w: &str) -> String {
    if full {
        redact_text(w)
    } else {
        cheap_word(w)
    }
}

fn redact_words(argv: &[String], depth: u8, full: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(argv.len());
    let mut prog = String::new();
    let mut subs: Vec<String> = Vec::new();
    let mut positions: Vec<usize> = Vec::new();
    let mut batch = false;
    let mut next: Option<Value> = None;
    let mut setting_next = false;
    let mut script_next = false;
    let finish = |out: &mut Vec<String>, positions: &[usize], prog: &str, batch: bool| {
        // `htpasswd -b[c|n…] [FILE] USER PASSWORD`: the last positional is the password.
        if prog == "htpasswd" && batch && positions.len() >= 2 {
            if let Some(&i) = positions.last() {
                out[i] = MASK.to_string();
            }
        }
    };
    for w in argv {
        let script = std::mem::replace(&mut script_next, false);
        let setting = std::mem::replace(&mut setting_next, false);
        if let Some(how) = next.take() {
            if !w.starts_with('-') || w.len() == 1 || how != Value::Whole || prog == "sshpass" {
                out.push(mask_after(w, how, full));
                continue;
            }
        }
        if matches!(w.as_str(), "&&" | "||" | ";" | "|" | "&") {
            finish(&mut out, &positions, &prog, batch);
            (prog, batch) = (String::new(), false);
            subs.clear();
            positions.clear();
            out.push(w.clone());
            continue;
        }
        if w.starts_with('-') && w.len() > 1 {
            if let Some((n, how)) = program_option(&prog, &subs, w) {
                let value = w[n..].strip_prefix('=').unwrap_or(&w[n..]);
                if value.is_empty() {
                    next = Some(how);
                    out.push(w.clone());
                } else {
                    out.push(format!(
                        "{}{}",
                        &w[..w.len() - value.len()],
                        mask_after(value, how, full)
                    ));
                }
                continue;
            }
            if prog == "htpasswd" && !w.starts_with("--") && w[1..].contains('b') {
                batch = true;
            }
            let (name, value) = match w.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (w.as_str(), None),
            };
            if name.len() > 2 && secret_name(name) {
                match value {
                    Some(_) => out.push(format!("{name}={MASK}")),
                    None => {
                        next = Some(Value::Whole);
                        out.push(w.clone());
                    }
                }
                continue;
            }
            script_next = is_shell(&prog) && matches!(w.as_str(), "-c" | "-lc" | "-ec" | "-xc");
            out.push(word(full, w));
            continue;
        }
        if script && depth < 3 {
            out.push(redact_script(w, depth, full));
            continue;
        }
        if is_assignment(w) {
            let (name, value) = w.split_once('=').unwrap_or((w, ""));
            if value.is_empty() || value == MASK {
                out.push(w.clone());
            } else if secret_name(name) || (!prog.is_empty() && values_are_secret(&prog, &subs)) {
                out.push(format!("{name}={MASK}"));
            } else {
                out.push(format!("{name}={}", word(full, value)));
            }
            continue;
        }
        // A program word: the first, the one after a wrapper, or one with secret options.
        let b = base(w);
        let new_program = prog.is_empty()
            || is_wrapper(&prog)
            || prog == "sshpass"
            || (has_rules(b) && b != prog);
        // A wrapper's own arguments (`timeout 5 cmd`, `nice -n 5 cmd`) are not programs.
        if new_program && !(is_wrapper(&prog) && w.parse::<f64>().is_ok()) {
            finish(&mut out, &positions, &prog, batch);
            prog = b.to_string();
            batch = false;
            subs.clear();
            positions.clear();
            out.push(word(full, w));
            continue;
        }
        if setting || positional_secret(&prog, &subs, w) {
            out.push(MASK.to_string());
        } else {
            out.push(word(full, w));
        }
        setting_next = depth < 3 && !subs.is_empty() && secret_setting(w);
        positions.push(out.len() - 1);
        subs.push(w.clone());
    }
    finish(&mut out, &positions, &prog, batch);
    out
}

/// Redact inside a shell script argument (`sh -c '…'`): word by word when it splits like a
/// shell would, else as text.
fn redact_script(script: &str, depth: u8, full: bool) -> String {
    if let Ok(words) = shell_words::split(script) {
        let red = redact_words(&words, depth + 1, full);
        if red == words {
            return script.to_string();
        }
        return red
            .iter()
            .map(|w| {
                if !w.is_empty() && !w.contains(|c: char| c.is_whitespace() || "'\"\\".contains(c))
                {
                    w.clone()
                } else {
                    format!("'{}'", w.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    redact_env_text(&word(full, script))
}

/// Besides [`SECRET_WORDS`], what hints at a secret the regexes look for: credentials in URLs,
/// `Basic` auth, `sig=`, and the prefixes of well-known token shapes.
const TEXT_HINTS: &[&str] = &[
    "://",
    "basic ",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat",
    "xox",
    "akia",
    "asia",
    "sk-",
    "sk_",
    "rk_",
    "glpat-",
    "sig=",
    "npm_",
    "eyj",
    "aiza",
    "hf_",
    "pypi-",
    "dckr_",
    "sg.",
    "shp",
    "dop_v1_",
];

/// Cheap pre-check: could this text hold a secret the regexes look for? (A `private` alone
/// never did before [`SECRET_WORDS`] was shared; it only costs a regex pass.)
fn hint(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    SECRET_WORDS
        .iter()
        .chain(TEXT_HINTS)
        .any(|w| lower.contains(w))
}

struct Rx {
    url: Regex,
    assign: Regex,
    bearer: Regex,
    said: Regex,
    pem: Regex,
    sas: Regex,
    shapes: Regex,
}

fn rx() -> &'static Rx {
    static RX: OnceLock<Rx> = OnceLock::new();
    RX.get_or_init(|| Rx {
        url: Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@]+)(:[^/\s@]*)?@").unwrap(),
        assign: Regex::new(
            r#"(?i)((?:[A-Za-z0-9_.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[A-Za-z_]*|credentials?|cookie|session[_-]?id|signature|jwt|webhook|dsn)[A-Za-z0-9_.-]*|[A-Za-z0-9_.-]*key)"?\s*[=:]\s*)((?i:bearer|basic|token)\s+[^\s&,;'"]+|"[^"]*"|'[^']*'|[^\s&,;'":][^\s&,;'"]*)"#,
        )
        .unwrap(),
        bearer: Regex::new(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}").unwrap(),
        said: Regex::new(
            r#"(?i)\b((?:password|passwd|passphrase|pwd|secret|token)\s+(?:is|was|=|:|set to|changed to)\s+|passwd\s+)("[^"]*"|'[^']*'|[^\s"']+)"#,
        )
        .unwrap(),
        pem: Regex::new(
            r"(?s)(-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----).*?(-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)",
        )
        .unwrap(),
        sas: Regex::new(r"(?i)([?&;]sig=)[^&\s'\x22;]+").unwrap(),
        shapes: Regex::new(concat!(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}",
            r"|xox[abprse]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}",
            r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}",
            r"|sk-[A-Za-z0-9_-]{20,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}",
            r"|glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{30,}",
            r"|hf_[A-Za-z0-9]{20,}|pypi-[A-Za-z0-9_-]{20,}|dckr_pat_[A-Za-z0-9_-]{10,}",
            r"|SG\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|shp(?:at|ca|pa|ss)_[A-Fa-f0-9]{20,}",
            r"|dop_v1_[a-f0-9]{20,}",
            r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)",
            r"|hooks\.slack\.com/services/[A-Za-z0-9/]+",
        ))
        .unwrap(),
    })
}

/// Redact secrets inside free text (a matched line, a context line, a script argument).
pub fn redact_text(text: &str) -> String {
    let text = if hint(text) {
        let r = rx();
        let t = r.pem.replace_all(text, format!("$1{MASK}$2").as_str());
        let t = r.url.replace_all(&t, |c: &regex::Captures| {
            if c.get(3).is_some() {
                format!("{}{}:{MASK}@", &c[1], &c[2])
            } else {
                format!("{}{MASK}@", &c[1])
            }
        });
        let t = r.assign.replace_all(&t, |c: &regex::Captures| {
            if c[2].starts_with(MASK) {
                c[0].to_string()
            } else {
                format!("{}{MASK}", &c[1])
            }
        });
        let t = r.said.replace_all(&t, |c: &regex::Captures| {
            if c[2].starts_with(MASK) {
                c[0].to_string()
            } else {
                format!("{}{MASK}", &c[1])
            }
        });
        let t = r.bearer.replace_all(&t, format!("$1 {MASK}").as_str());
        let t = r.sas.replace_all(&t, format!("${{1}}{MASK}").as_str());
        r.shapes.replace_all(&t, MASK).into_owned()
    } else {
        text.to_string()
    };
    mask_random_words(&text)
}

/// Characters of a token-like word (base64, base64url, hex, identifiers).
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')
}

/// Whether a word looks like key material rather than language or a name: long, of at least two
/// of the classes upper / lower / digit, and with the character spread of random text (its
/// Shannon entropy above what identifiers, paths and hex digests of that length reach).
pub fn looks_random(word: &str) -> bool {
    let w = word.trim_end_matches('=');
    let n = w.len();
    if n < 24 || !w.chars().all(token_char) || w.starts_with('/') || w.contains("//") {
        return false;
    }
    if w.matches('/').count() * 12 > n {
        return false;
    }
    let (up, lo, di) = (
        w.bytes().any(|b| b.is_ascii_uppercase()),
        w.bytes().any(|b| b.is_ascii_lowercase()),
        w.bytes().any(|b| b.is_ascii_digit()),
    );
    if u8::from(up) + u8::from(lo) + u8::from(di) < 2 {
        return false;
    }
    let mut counts = [0u32; 128];
    for b in w.bytes() {
        counts[usize::from(b & 0x7f)] += 1;
    }
    let h: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n as f64;
            -p * p.log2()
        })
        .sum();
    // About the 1st percentile of random base62 words of that length.
    let threshold = (3.9 + (n as f64 - 24.0) * 0.035).min(4.2);
    h >= threshold
}

/// A word that could be a secret: masked already, a known token shape, or random-looking. Used
/// to keep such words out of command keys and mined patterns.
pub fn secret_like(word: &str) -> bool {
    word.contains(MASK) || looks_random(word) || (hint(word) && rx().shapes.is_match(word))
}

/// Replace each random-looking run of token characters with the mask.
fn mask_random_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(token_char) {
        let (head, tail) = rest.split_at(start);
        out.push_str(head);
        let end = tail.find(|c: char| !token_char(c)).unwrap_or(tail.len());
        let (word, after) = tail.split_at(end);
        if looks_random(word) {
            out.push_str(MASK);
        } else {
            out.push_str(word);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Redact secret-named `NAME=value` environment assignments inside a script that does not split
/// into words (`sh -c 'TOKEN=x ./run; echo "'`).
fn redact_env_text(text: &str) -> String {
    if !text.contains('=') || !text.contains(char::is_whitespace) {
        return text.to_string();
    }
    static ENV: OnceLock<Regex> = OnceLock::new();
    let re = ENV.get_or_init(|| {
        Regex::new(r#"(^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s;&|)'"]+)"#)
            .unwrap()
    });
    re.replace_all(text, |c: &regex::Captures| {
        if &c[3] == MASK || !secret_name(&c[2]) {
            c[0].to_string()
        } else {
            format!("{}{}={MASK}", &c[1], &c[2])
        }
    })
    .into_owned()
}

/// Cut a string to at most `max` bytes on a character boundary, marking the cut with `…`.
pub fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        shell_words::join(redact_argv(&shell_words::split(s).unwrap()))
    }

    #[test]
    fn argv() {
        assert_eq!(r("cargo test --release"), "cargo test --release");
        assert_eq!(r("curl --token abc123 x"), "curl --token '***' x");
        assert_eq!(
            r("mysql --password=hunter2 db"),
            "mysql '--password=***' db"
        );
        assert_eq!(
            r("deploy --api-key K1 --verbose"),
            "deploy --api-key '***' --verbose"
        );
        assert_eq!(
            r("API_KEY=zzz FOO=bar make"),
            "'API_KEY=***' 'FOO=bar' make"
        );
        assert_eq!(
            r("git clone https://bob:s3cret@example.com/r.git"),
            "git clone 'https://bob:***@example.com/r.git'"
        );
        assert_eq!(
            r("sh -c 'TOKEN=abc ./run --x'"),
            "sh -c 'TOKEN=*** ./run --x'"
        );
        assert_eq!(r("git commit --author bob"), "git commit --author bob");
        assert_eq!(
            r("curl -H 'Authorization: Bearer abcdefghijkl' u"),
            "curl -H 'Authorization: ***' u"
        );
    }

    #[test]
    fn names_that_are_not_secrets_keep_their_values() {
        for cmd in [
            "pytest -o log_cli=true -x",
            "make CC=clang V=1",
            "env RUST_LOG=debug cargo run",
            "sh -c 'LOG=1 make'",
        ] {
            let words = shell_words::split(cmd).unwrap();
            assert_eq!(redact_argv(&words), words, "{cmd}");
        }
        assert_eq!(r("ftp --passive host"), "ftp --passive host");
        assert_eq!(r("docker run -p 8080:80 img"), "docker run -p 8080:80 img");
        assert_eq!(r("mysql -u root -p"), "mysql -u root -p");
        assert_eq!(
            r("git log 3f786850e387550fdab836ed7e6dc881de23001b"),
            "git log 3f786850e387550fdab836ed7e6dc881de23001b"
        );
        assert_eq!(
            r("pytest tests/test_TokenRefresh2.py::test_parse_config_with_99_items"),
            "pytest tests/test_TokenRefresh2.py::test_parse_config_with_99_items"
        );
        assert_eq!(r("curl -u alice https://x/"), "curl -u alice https://x/");
    }

    #[test]
    fn program_rules() {
        for (cmd, want) in [
            ("mysql -p hunter2", "mysql -p '***'"),
            ("mysql -phunter2 db", "mysql '-p***' db"),
            (
                "mysql -u root -phunter2 -h db1 shop",
                "mysql -u root '-p***' -h db1 shop",
            ),
            (
                "sudo -u app mysqldump -phunter2 shop",
                "sudo -u app mysqldump '-p***' shop",
            ),
            (
                "docker login -u bob -p hunter2 reg.io",
                "docker login -u bob -p '***' reg.io",
            ),
            (
                "sshpass -p hunter2 ssh -p 22 host",
                "sshpass -p '***' ssh -p 22 host",
            ),
            ("redis-cli -a hunter2 ping", "redis-cli -a '***' ping"),
            ("redis-cli -ahunter2 ping", "redis-cli '-a***' ping"),
            (
                "openssl enc -aes-256-cbc -k hunter2 -in f",
                "openssl enc -aes-256-cbc -k '***' -in f",
            ),
            (
                "openssl rsa -passin pass:hunter2",
                "openssl rsa -passin '***'",
            ),
            (
                "curl -u admin:hunter2 https://x/",
                "curl -u 'admin:***' https://x/",
            ),
            ("curl --user=admin:hunter2 x", "curl '--user=admin:***' x"),
            ("curl -uadmin:hunter2 x", "curl '-uadmin:***' x"),
            (
                "htpasswd -b .htpasswd bob hunter2",
                "htpasswd -b .htpasswd bob '***'",
            ),
            ("htpasswd -nbB bob hunter2", "htpasswd -nbB bob '***'"),
            ("htpasswd -c .htpasswd bob", "htpasswd -c .htpasswd bob"),
            ("vault login s.hunter2", "vault login '***'"),
            (
                "vault login -method=userpass username=bob password=hunter2",
                "vault login '-method=userpass' 'username=bob' 'password=***'",
            ),
            (
                "vault kv put secret/app db=hunter2",
                "vault kv put secret/app 'db=***'",
            ),
            (
                "aws configure set aws_secret_access_key hunter2",
                "aws configure set aws_secret_access_key '***'",
            ),
            ("sh -c 'mysql -phunter2 db'", "sh -c 'mysql -p*** db'"),
            (
                "smbclient -U bob%hunter2 //h/s",
                "smbclient -U 'bob%***' //h/s",
            ),
            (
                "ldapsearch -x -w hunter2 -b dc=x",
                "ldapsearch -x -w '***' -b 'dc=x'",
            ),
            ("zip -P hunter2 a.zip f", "zip -P '***' a.zip f"),
        ] {
            assert_eq!(r(cmd), want, "{cmd}");
        }
    }

    #[test]
    fn keys_never_hold_secrets_and_agree_with_the_stored_ones() {
        use crate::context::command_key;
        for (cmd, key) in [
            ("curl -u admin:hunter2 https://x/", "curl"),
            ("sshpass -p hunter2 ssh host", "sshpass"),
            ("deploy ghp_abcdefghijklmnopqrstuvwxyz0123", "deploy"),
            ("deploy token:abcdef", "deploy"),
            ("deploy Xk9qL2mN8vB4cR7tY1uW5zA3sD6f", "deploy"),
            ("vault login hunter2", "vault login"),
            ("cargo test auth", "cargo test"),
            ("pytest tests/test_auth.py", "pytest"),
            ("sh -c 'mysql -phunter2 db'", "mysql db"),
        ] {
            let words = shell_words::split(cmd).unwrap();
            let cheap = command_key(&redact_argv_for_key(&words));
            assert_eq!(cheap, key, "{cmd}");
            assert_eq!(command_key(&redact_argv(&words)), cheap, "{cmd}");
        }
    }

    #[test]
    fn text() {
        assert_eq!(
            redact_text("error: password=hunter2 rejected"),
            "error: password=*** rejected"
        );
        assert_eq!(
            redact_text("fetch https://ghp_abcdefghijklmnopqrstuvwxyz@github.com failed"),
            "fetch https://***@github.com failed"
        );
        assert_eq!(
            redact_text(r#"{"api_key": "abc", "n": 1}"#),
            r#"{"api_key": ***, "n": 1}"#
        );
        assert_eq!(redact_text("AKIAABCDEFGHIJKLMNOP used"), "*** used");
        assert_eq!(redact_text("plain error line"), "plain error line");
        assert_eq!(cap("héllo", 2), "h…");
        for (line, want) in [
            ("the password is hunter2", "the password is ***"),
            ("passwd hunter2", "passwd ***"),
            ("token: abc.def", "token: ***"),
            (
                "-----BEGIN RSA PRIVATE KEY-----MIIEowIBAAKCAQEA-----END RSA PRIVATE KEY-----",
                "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----",
            ),
            (
                "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
                "***",
            ),
            ("use npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "use ***"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key = ***",
            ),
            ("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "key ***"),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123_-x",
                "jwt ***",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc+def/ghi==;EndpointSuffix=core",
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core",
            ),
            ("GET /c?sv=2020&sig=abc%2Bdef&se=1", "GET /c?sv=2020&sig=***&se=1"),
        ] {
            assert_eq!(redact_text(line), want, "{line}");
        }
        for keep in [
            "test_parse_config_with_99_items_returns_error FAILED",
            "commit 3f786850e387550fdab836ed7e6dc881de23001b",
            "/home/Bob2/Projects/MyApp/src/main.rs:12: error",
            "TestUserAuthenticationController2 failed",
            "x86_64-unknown-linux-gnu",
        ] {
            assert_eq!(redact_text(keep), keep);
        }
    }
}
