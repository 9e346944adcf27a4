//! What is expected at the cursor: walks the clap definitions along the line's words (subcommands,
//! options, their values, the command after `--`) and answers with candidates from the sources —
//! learned patterns from the database, route and profile names from their files.

use std::path::PathBuf;

use clap::{Arg, CommandFactory};

use super::line::{Line, Word};
use crate::cli::{find_long, option_value, takes_value, Cli};

/// What the engine answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Candidates: (value, description). `prefix` is a part of the current word (`--pattern=`)
    /// that stays as it is.
    Values {
        items: Candidates,
        prefix: String,
    },
    /// Let the shell complete a command whose first word is `words[index]`.
    Command {
        index: usize,
    },
    Files,
    Dirs,
}

/// Where a pattern is expected, the command words that follow on the line (for learned patterns).
enum Expect {
    Options(clap::Command),
    /// The value of an option or positional.
    Value {
        arg: Arg,
        prefix: String,
    },
    /// The grep face's first word: a pattern or a subcommand.
    PatternOrSub,
    Command(usize),
    Nothing,
}

/// Walk the options and positionals of `cmd` from `words[start]`. With `grep`, the first
/// positional is the pattern and the second starts the command; else the first positional that is
/// a trailing var-arg starts the command. Returns what is expected at `cword` (None: not reached)
/// and the index where the command starts, if any.
fn walk(
    cmd: &clap::Command,
    words: &[Word],
    start: usize,
    cword: Option<usize>,
    grep: bool,
) -> (Option<Expect>, Option<usize>) {
    let positionals: Vec<Arg> = cmd.get_positionals().cloned().collect();
    let mut npos = 0;
    let mut pattern_opt = false;
    let mut i = start;
    while i < words.len() {
        let w = words[i].value.as_str();
        let at = cword == Some(i);
        if w == "--" && !at {
            return (
                cword.filter(|&c| c > i).map(|_| Expect::Command(i + 1)),
                Some(i + 1),
            );
        }
        if w.len() > 1 && w.starts_with('-') {
            if w == "--pattern" || w.starts_with("--pattern=") {
                pattern_opt = true;
            }
            if at {
                return (Some(option_at_cursor(cmd, w)), None);
            }
            let (arg, n) = option_value(cmd, w).unwrap_or((None, 0));
            if let Some(a) = arg.filter(|_| cword.is_some_and(|c| c > i && c <= i + n)) {
                let exp = Expect::Value {
                    arg: a,
                    prefix: String::new(),
                };
                return (Some(exp), None);
            }
            i += n;
        } else if at && w == "-" {
            return (Some(Expect::Options(cmd.clone())), None);
        } else {
            // A positional.
            let starts_command = if grep {
                npos == 1 || (npos == 0 && pattern_opt)
            } else {
                positionals
                    .get(npos)
                    .or(positionals.last())
                    .is_some_and(|p| p.is_trailing_var_arg_set() || p.is_last_set())
            };
            if starts_command {
                return (
                    cword.filter(|&c| c >= i).map(|_| Expect::Command(i)),
                    Some(i),
                );
            }
            if at {
                if grep && npos == 0 {
                    return (Some(Expect::PatternOrSub), None);
                }
                let exp = match positionals.get(npos).or(positionals.last()) {
                    Some(a) => Expect::Value {
                        arg: a.clone(),
                        prefix: String::new(),
                    },
                    None => Expect::Nothing,
                };
                return (Some(exp), None);
            }
            npos += 1;
        }
        i += 1;
    }
    (None, None)
}

/// What an option word under the cursor expects: the value of `--name=`, else more options.
fn option_at_cursor(cmd: &clap::Command, w: &str) -> Expect {
    let attached = w.strip_prefix("--").and_then(|l| l.split_once('='));
    match attached.and_then(|(name, _)| Some((name, find_long(cmd, name)?))) {
        Some((name, a)) if takes_value(&a) => Expect::Value {
            arg: a,
            prefix: format!("--{name}="),
        },
        _ => Expect::Options(cmd.clone()),
    }
}

/// Is this argument one whose value is a pattern to suggest?
fn is_pattern_arg(a: &Arg) -> bool {
    a.get_id() == "pattern_pos"
        || matches!(
            a.get_long(),
            Some("pattern" | "exclude" | "success-pattern" | "error-pattern")
        )
}

/// Candidates with descriptions: (value, description).
pub type Candidates = Vec<(String, String)>;

/// What a pattern value is for: the kind of candidates it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// An error pattern (the PATTERN word, `--pattern`, `-e`): learned ones.
    Error,
    /// `-s/--success-pattern`: success patterns used before with the command.
    Success,
    /// `-X/--exclude`: exclude patterns used before with the command.
    Exclude,
}

/// Sources of dynamic candidates, replaceable in tests.
pub struct Sources<'a> {
    /// Candidates of a kind for a command's words, best first.
    pub patterns: &'a dyn Fn(PatternKind, &[String]) -> Candidates,
}

/// Complete the line: the engine's answer.
pub fn complete(line: &Line, src: &Sources) -> Reply {
    let mut root = Cli::command();
    root.build();
    let words = &line.words;
    let cword = line.cword;
    let cur = words[cword].value.clone();
    if cword == 0 {
        return Reply::Command { index: 0 };
    }
    let first = words.get(1).map(|w| w.value.as_str()).unwrap_or("");
    let sub = if cword > 1 {
        root.find_subcommand(first).cloned()
    } else {
        None
    };
    let (exp, face_cmd, base) = match sub {
        None => {
            let (e, _) = walk(&root, words, 1, Some(cword), true);
            (e, root.clone(), 1)
        }
        Some(mut sc) => {
            let mut k = 2;
            // Nested subcommands (route add, telemetry check, ...).
            while sc.has_subcommands() {
                if cword == k {
                    if cur.starts_with('-') {
                        return options(&sc, &cur);
                    }
                    let items = sc
                        .get_subcommands()
                        .filter(|s| !s.is_hide_set())
                        .map(|s| (s.get_name().to_string(), about(s)))
                        .collect();
                    return values(items);
                }
                match sc.find_subcommand(&words[k].value).cloned() {
                    Some(n) => {
                        sc = n;
                        k += 1;
                    }
                    None => return values(Vec::new()),
                }
            }
            let (e, _) = walk(&sc, words, k, Some(cword), false);
            (e, sc, k)
        }
    };
    match exp {
        Some(Expect::Options(c)) => options(&c, &cur),
        Some(Expect::Command(i)) => Reply::Command { index: i },
        Some(Expect::PatternOrSub) => {
            let (_, cmd_start) = walk(&root, words, 1, None, true);
            // Without a command on the line the first word may also be a subcommand (listed
            // first); with one it is the pattern.
            let mut items = Vec::new();
            if cmd_start.is_none() {
                for s in root.get_subcommands().filter(|s| !s.is_hide_set()) {
                    items.push((s.get_name().to_string(), about(s)));
                }
            }
            items.extend(patterns_for(PatternKind::Error, words, cmd_start, src));
            values(items)
        }
        Some(Expect::Value { arg, prefix }) => {
            let mut r = value_of(&arg, &face_cmd, words, base, cword, src);
            if let Reply::Values { prefix: p, .. } = &mut r {
                *p = prefix;
            }
            r
        }
        Some(Expect::Nothing) | None => values(Vec::new()),
    }
}

fn values(items: Candidates) -> Reply {
    Reply::Values {
        items,
        prefix: String::new(),
    }
}

fn about(c: &clap::Command) -> String {
    c.get_about().map(|s| s.to_string()).unwrap_or_default()
}

fn help_line(a: &Arg) -> String {
    a.get_help()
        .map(|s| s.to_string())
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn options(cmd: &clap::Command, cur: &str) -> Reply {
    let mut items = Vec::new();
    for a in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
    {
        if let Some(l) = a.get_long() {
            items.push((format!("--{l}"), help_line(a)));
        }
    }
    if cur == "-" {
        for a in cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_positional())
        {
            if let Some(s) = a.get_short() {
                items.push((format!("-{s}"), help_line(a)));
            }
        }
    }
    values(items)
}

/// The value of `arg` in subcommand `cmd`.
fn value_of(
    arg: &Arg,
    cmd: &clap::Command,
    words: &[Word],
    base: usize,
    cword: usize,
    src: &Sources,
) -> Reply {
    if is_pattern_arg(arg) {
        let grep = base == 1;
        let root = if grep {
            let mut r = Cli::command();
            r.build();
            r
        } else {
            cmd.clone()
        };
        let (_, start) = walk(&root, words, base, None, grep);
        let kind = match arg.get_long() {
            Some("success-pattern") => PatternKind::Success,
            Some("exclude") => PatternKind::Exclude,
            _ => PatternKind::Error,
        };
        return values(patterns_for(kind, words, start, src));
    }
    let pv: Vec<(String, String)> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| {
            (
                v.get_name().to_string(),
                v.get_help().map(|h| h.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    if !pv.is_empty() {
        return values(pv);
    }
    let id = arg.get_id().as_str();
    let path: Vec<&str> = words[1..base.min(words.len())]
        .iter()
        .map(|w| w.value.as_str())
        .collect();
    match (path.as_slice(), id) {
        (["route", "remove"], _) => values(route_names()),
        (["profile", "show"], _) => values(profile_names()),
        (["man"], "page") => values(
            crate::man::subcommand_names()
                .into_iter()
                .map(|n| (n, String::new()))
                .collect(),
        ),
        (["feedback"], "run") => values(vec![("last".into(), "the last run".into())]),
        (["init"], "route") | (["route", "add"], _) => Reply::Command { index: cword },
        _ => {
            // Paths: by value hint, else by the value's name (PATH, FILE, DIR).
            let name = arg
                .get_value_names()
                .and_then(|n| n.first().map(|s| s.to_string()))
                .unwrap_or_default();
            // (clap reports AnyPath for every PathBuf value, directories included.)
            match arg.get_value_hint() {
                clap::ValueHint::DirPath => Reply::Dirs,
                _ if name == "DIR" => Reply::Dirs,
                clap::ValueHint::FilePath | clap::ValueHint::AnyPath => Reply::Files,
                _ if name == "PATH" || name == "FILE" => Reply::Files,
                _ => values(Vec::new()),
            }
        }
    }
}

fn patterns_for(
    kind: PatternKind,
    words: &[Word],
    cmd_start: Option<usize>,
    src: &Sources,
) -> Vec<(String, String)> {
    let argv: Vec<String> = cmd_start
        .map(|s| {
            words[s.min(words.len())..]
                .iter()
                .map(|w| w.value.clone())
                .collect()
        })
        .unwrap_or_default();
    (src.patterns)(kind, &argv)
}

/// Route names from the routes file.
pub fn route_names() -> Vec<(String, String)> {
    let Some(path) = crate::shell::routes::routes_path() else {
        return Vec::new();
    };
    crate::shell::routes::load(&path)
        .map(|p| p.routes)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.to_string(), "routed".to_string()))
        .collect()
}

/// Profile names, user profiles first, with their descriptions.
pub fn profile_names() -> Vec<(String, String)> {
    let (list, _) = crate::learn::profiles::all();
    list.into_iter()
        .map(|p| {
            let d = if p.description.is_empty() {
                p.source
            } else {
                p.description
            };
            (p.name, d)
        })
        .collect()
}

/// How long a TAB waits for a database another process holds (a background checkpoint after
/// a run, a writer): short enough to feel immediate, long enough for a checkpoint.
const LOOKUP_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Candidates for a pattern value, from the default database (never created, never waited on for
/// long): error patterns learned for the command (else the learner's fallbacks); success and
/// exclude patterns given before with the same command.
pub fn learned_patterns(kind: PatternKind, argv: &[String]) -> Vec<(String, String)> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let ctx = crate::context::RunContext::new(argv, &cwd);
    // A TAB must answer at once, yet outlast a background checkpoint (its fsyncs, or the log
    // recovery of its open, keep readers out for a moment on a slow disk): a TAB that finds the
    // database busy offers nothing at all.
    let conn = crate::store::db::open_lookup(LOOKUP_WAIT);
    match kind {
        PatternKind::Error => crate::learn::complete_patterns(
            crate::team::lookup::knowledge(conn.as_ref(), &ctx),
            &ctx,
        ),
        PatternKind::Success => conn
            .map(|c| used_patterns(&c, "success_patterns", &ctx.key))
            .unwrap_or_default(),
        PatternKind::Exclude => conn
            .map(|c| used_patterns(&c, "exclude_patterns", &ctx.key))
            .unwrap_or_default(),
    }
}

/// Patterns given before in `column` (`success_patterns`, `exclude_patterns`) for the command
/// `key` (any command when empty), among the last 5,000 runs (a bounded read, however large the
/// history): the ones whose match ended runs first, then the most used.
fn used_patterns(c: &rusqlite::Connection, column: &str, key: &str) -> Candidates {
    let sql = format!(
        "SELECT {column}, reason FROM (SELECT {column}, reason, command_key FROM executions \
         ORDER BY id DESC LIMIT 5000) WHERE {column} IS NOT NULL AND (?1 = '' OR command_key = ?1)"
    );
    let mut seen: Vec<(String, u64, u64)> = Vec::new();
    let rows = c.prepare(&sql).and_then(|mut st| {
        st.query_map([key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()
    });
    for (json, reason) in rows.unwrap_or_default() {
        let Ok(list) = serde_json::from_str::<Vec<String>>(&json) else {
            continue;
        };
        for p in list {
            let won = u64::from(reason == "success_match" && column == "success_patterns");
            match seen.iter_mut().find(|s| s.0 == p) {
                Some(s) => {
                    s.1 += won;
                    s.2 += 1;
                }
                None => seen.push((p, won, 1)),
            }
        }
    }
    seen.sort_by_key(|s| std::cmp::Reverse((s.1, s.2)));
    seen.into_iter()
        .map(|(p, won, uses)| {
            let d = if column == "success_patterns" {
                format!("used {uses} times, ended {won} runs")
            } else {
                format!("used {uses} times")
            };
            (p, d)
        })
        .collect()
}
