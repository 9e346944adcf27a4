//! Man pages: `ee.1` and one page per subcommand, rendered from the clap definitions in `cli.rs`
//! (clap_mangen) and completed with the sections clap cannot produce: EXIT STATUS (both faces),
//! ENVIRONMENT, FILES, EXAMPLES and SEE ALSO. Pure text generation, no I/O.

use clap::CommandFactory;
use clap_mangen::Man;
use roff::{bold, italic, roman, Roff};

use crate::cli::{Cli, GREP_EXIT_STATUS, RUN_EXIT_STATUS};

/// Name of the manual the pages belong to (the centre of the page footer/header).
const MANUAL: &str = "earlyexit manual";
/// Date of the last non-trivial change to the pages (`.TH` date field).
const DATE: &str = "2026-11-27";

/// One rendered page: file name (`ee-run.1`) and roff source.
pub struct Page {
    pub file: String,
    pub roff: String,
}

/// Names of the documented subcommands, in the order of `ee --help`.
pub fn subcommand_names() -> Vec<String> {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// All pages: `ee.1` first, then `ee-SUBCOMMAND.1` for every visible subcommand.
pub fn pages() -> Vec<Page> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = vec![render(&cmd, None)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.push(render(sub, Some(sub.get_name())));
    }
    out
}

/// The page for `ee` (None) or one subcommand; None when there is no such page.
pub fn page(sub: Option<&str>) -> Option<Page> {
    let want = match sub {
        None | Some("ee") => "ee.1".to_string(),
        Some(s) => format!("ee-{}.1", s.strip_prefix("ee-").unwrap_or(s)),
    };
    pages().into_iter().find(|p| p.file == want)
}

fn render(cmd: &clap::Command, sub: Option<&str>) -> Page {
    let man = Man::new(cmd.clone())
        .manual(MANUAL)
        .date(DATE)
        .source(format!("earlyexit {}", env!("CARGO_PKG_VERSION")));
    let file = man.get_filename();
    let man = man.title(file.trim_end_matches(".1").to_uppercase());
    let mut buf: Vec<u8> = Vec::new();
    let has_args = cmd.get_arguments().any(|a| !a.is_hide_set());
    // Writing into a Vec cannot fail.
    man.render_title(&mut buf).expect("write to Vec");
    man.render_name_section(&mut buf).expect("write to Vec");
    match synopsis(sub) {
        Some(text) => buf.extend_from_slice(text.as_bytes()),
        None => man.render_synopsis_section(&mut buf).expect("write to Vec"),
    }
    man.render_description_section(&mut buf)
        .expect("write to Vec");
    if sub.is_some() {
        buf.extend_from_slice(more_description(cmd).as_bytes());
    }
    if has_args {
        man.render_options_section(&mut buf).expect("write to Vec");
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        if sub.is_none() {
            man.render_subcommands_section(&mut buf)
                .expect("write to Vec");
        } else {
            buf.extend_from_slice(nested_subcommands(cmd).as_bytes());
        }
    }
    let mut roff = String::from_utf8(buf).expect("clap_mangen writes UTF-8");
    roff.push_str(&extra_sections(cmd, sub));
    if sub.is_none() {
        let mut v = Vec::new();
        man.render_version_section(&mut v).expect("write to Vec");
        roff.push_str(&String::from_utf8(v).expect("UTF-8"));
    }
    Page {
        file,
        roff: tidy(&roff),
    }
}

/// Hand-written synopsis for the two faces, whose clap synopsis would list every option.
fn synopsis(sub: Option<&str>) -> Option<String> {
    // Each line: words, `*x` bold, `_x` italic, others roman; a space between words.
    let lines: &[&str] = match sub {
        None => &[
            "cmd | *ee [ _OPTIONS ] _PATTERN",
            "*ee [ _OPTIONS ] _PATTERN [ *-- ] _COMMAND [ _ARGS ...]",
            "*ee [ _OPTIONS ] *-- _COMMAND [ _ARGS ...]",
            "*ee _SUBCOMMAND [ _ARGS ...]",
        ],
        Some("run") => &["*ee *run [ _OPTIONS ] [ *-- ] _COMMAND [ _ARGS ...]"],
        Some(_) => return None,
    };
    let mut r = Roff::new();
    r.control("SH", ["SYNOPSIS"]).control("nf", []);
    for l in lines {
        let mut inl = Vec::new();
        let mut prev_open = true;
        for w in l.split(' ') {
            let close = matches!(w, "]" | "...]");
            if !prev_open && !close {
                inl.push(roman(" "));
            }
            prev_open = w == "[";
            inl.push(match (w.strip_prefix('*'), w.strip_prefix('_')) {
                (Some(b), _) => bold(b),
                (_, Some(i)) => italic(i),
                _ => roman(w),
            });
        }
        r.text(inl);
    }
    r.control("fi", []);
    Some(r.to_roff())
}

/// Make clap_mangen's output lint-clean: no trailing blanks, no `.br` around a blank line, and
/// pre-formatted paragraphs (continuation lines indented in the help text) kept as they are.
fn tidy(roff: &str) -> String {
    // Every section clap_mangen renders starts with the same two-line apostrophe preamble
    // (`.ie \n(.g .ds Aq \(aq` / `.el .ds Aq '`): keep only the first.
    let mut seen_preamble = false;
    let mut lines: Vec<String> = Vec::new();
    for l in roff.lines().map(str::trim_end) {
        if l.starts_with(".ie \\n(.g .ds Aq") {
            if seen_preamble {
                continue;
            }
            seen_preamble = true;
        } else if l.starts_with(".el .ds Aq") && lines.last().is_none_or(|p| !p.starts_with(".ie"))
        {
            continue;
        }
        lines.push(l.to_string());
    }
    // `.br`, blank, `.br` -> `.sp`
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == ".br"
            && lines.get(i + 1).is_some_and(|l| l.is_empty())
            && lines.get(i + 2).is_some_and(|l| l == ".br")
        {
            out.push(".sp".into());
            i += 3;
            continue;
        }
        out.push(std::mem::take(&mut lines[i]));
        i += 1;
    }
    // A text paragraph whose later lines are indented is a pre-formatted block.
    let mut res: Vec<String> = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        let l = &out[i];
        let is_text = |l: &str| !l.is_empty() && !l.starts_with('.');
        if is_text(l) && out.get(i + 1).is_some_and(|n| n.starts_with("  ")) {
            let mut block = vec![l.trim().to_string()];
            i += 1;
            while i < out.len() && is_text(&out[i]) {
                block.push(out[i].trim().to_string());
                i += 1;
            }
            res.push(".RS 4".into());
            res.push(".nf".into());
            res.extend(block);
            res.push(".fi".into());
            res.push(".RE".into());
            continue;
        }
        res.push(out[i].clone());
        i += 1;
    }
    let mut s = res.join("\n");
    s.push('\n');
    s
}

fn section(r: &mut Roff, title: &str) {
    r.control("SH", [title]);
}

/// Text lines of at most about 78 bytes (roff refills them; this keeps the source readable).
fn wrapped(r: &mut Roff, text: &str) {
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.len() + 1 + word.len() > 78 {
            r.text([roman(std::mem::take(&mut line))]);
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        r.text([roman(line)]);
    }
}

/// A tagged paragraph: bold tag, then text.
fn item(r: &mut Roff, tag: &str, text: &str) {
    r.control("TP", []).text([bold(tag)]);
    wrapped(r, text);
}

/// A paragraph (no `.PP` right after a heading).
fn para(r: &mut Roff, text: &str, after_heading: bool) {
    if !after_heading {
        r.control("PP", []);
    }
    wrapped(r, text);
}

/// An example: a description paragraph, then the command in a no-fill display.
fn example(r: &mut Roff, text: &str, cmd: &str, first: bool) {
    para(r, text, first);
    r.control("PP", []).control("RS", ["4"]).control("nf", []);
    for line in cmd.lines() {
        r.text([roman(line)]);
    }
    r.control("fi", []).control("RE", []);
}

/// Turn an exit-status table from cli.rs ("  CODE   text" lines under a title line) into roff.
fn exit_table(r: &mut Roff, table: &str, heading: bool) {
    let mut lines = table.lines();
    if let Some(title) = lines.next() {
        if heading {
            r.control("SS", [title.trim().trim_end_matches(':')]);
        }
    }
    let mut first = true;
    for line in lines {
        let t = line.trim();
        let (code, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        let is_code = !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_digit() || c == 'N' || c == '+');
        if is_code {
            item(r, code, rest.trim());
        } else if !t.is_empty() {
            para(r, t, first);
        }
        first = false;
    }
}

const GENERIC_EXIT: &str = "\
Exit status:
  0    success
  3    usage error or failure (a one-line message on stderr)";

/// Environment variables: (name, text, pages it belongs on; empty = every page but `man`).
const ENVIRONMENT: &[(&str, &str, &[&str])] = &[
    (
        "EARLYEXIT_OPTIONS",
        "Options prepended to the command line of the grep face and of ee run, split into words as \
         a shell would (quotes allowed), e.g. EARLYEXIT_OPTIONS='--idle-timeout 2m'.",
        &["ee", "run"],
    ),
    (
        "EARLYEXIT_DB",
        "Path of the telemetry database (default ~/.local/share/earlyexit/telemetry.db).",
        &["ee", "run", "suggest", "stats", "telemetry", "feedback", "completions"],
    ),
    (
        "EARLYEXIT_NO_TELEMETRY",
        "Set to 1 to record nothing, as --no-telemetry does.",
        &["ee", "run", "telemetry"],
    ),
    (
        "EARLYEXIT_DB_TIMEOUT",
        "How long, in seconds, to wait for a locked database before the run is spooled instead \
         (default 5).",
        &["ee", "run", "telemetry"],
    ),
    (
        "EARLYEXIT_TELEMETRY_KEEP, EARLYEXIT_TELEMETRY_KEEP_DAYS",
        "Retention: the newest executions kept (default 250000) and their age limit in days \
         (default 365); 0 means no limit.",
        &["ee", "telemetry"],
    ),
    (
        "EARLYEXIT_DISABLE",
        "Set to 1 to turn the shell routing installed by ee init off: routed commands run \
         directly, without ee.",
        &["ee", "run", "init", "route"],
    ),
    (
        "EARLYEXIT_ROUTES",
        "Extra routes for ee init, separated by commas: EARLYEXIT_ROUTES='pytest, cargo test'.",
        &["ee", "init", "route"],
    ),
    (
        "EARLYEXIT_CONFIG_DIR",
        "Configuration directory holding the routes file and user profiles (default \
         ~/.config/earlyexit).",
        &["ee", "run", "init", "route", "profile", "suggest", "completions"],
    ),
];

/// Files: (path, text, pages it belongs on).
const FILES: &[(&str, &str, &[&str])] = &[
    (
        "~/.local/share/earlyexit/telemetry.db",
        "SQLite database (WAL mode) of every recorded run and of what was learned from them; \
         overridden by EARLYEXIT_DB.",
        &[
            "ee",
            "run",
            "suggest",
            "stats",
            "telemetry",
            "feedback",
            "completions",
        ],
    ),
    (
        "~/.local/share/earlyexit/telemetry.db.spool",
        "Runs that could not be written to the database (locked or broken) wait in this file next \
         to the database, and are merged by the next run that can write.",
        &["ee", "run", "telemetry"],
    ),
    (
        "~/.config/earlyexit/routes",
        "Commands routed through ee by the shell hooks, one per line (a program, optionally with \
         its subcommand: cargo test); lines starting with # are comments. Managed by ee route.",
        &["ee", "init", "route", "completions"],
    ),
    (
        "~/.config/earlyexit/profiles/*.json",
        "User pattern profiles (name, description, commands, patterns), shown by ee profile list \
         and ee profile show NAME beside the built-in ones.",
        &["ee", "run", "profile", "suggest", "completions"],
    ),
];

/// Split a command's after-help into its "Exit status" paragraph and the rest.
fn after_help(cmd: &clap::Command) -> (Option<String>, Vec<String>) {
    let text = cmd
        .get_after_long_help()
        .or(cmd.get_after_help())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut exit = None;
    let mut rest = Vec::new();
    for p in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        if p.trim_start().to_lowercase().starts_with("exit status") {
            exit = Some(p.trim().to_string());
        } else {
            rest.push(p.trim_end().to_string());
        }
    }
    (exit, rest)
}

/// The after-help of a subcommand (minus its exit status), as more description paragraphs.
fn more_description(cmd: &clap::Command) -> String {
    let mut r = Roff::new();
    for p in after_help(cmd).1 {
        r.control("PP", []);
        for line in p.lines() {
            r.text([roman(line)]);
        }
    }
    r.render()
}

/// Nested subcommands (ee route add, ee telemetry prune, ...) documented in place, with their
/// arguments, instead of references to pages that do not exist.
fn nested_subcommands(cmd: &clap::Command) -> String {
    let mut r = Roff::new();
    section(&mut r, "SUBCOMMANDS");
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        item(&mut r, usage, &about);
        let args: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
            .filter(|a| !(a.is_positional() && a.get_help().is_none()))
            .collect();
        if args.is_empty() {
            continue;
        }
        r.control("RS", []);
        for a in args {
            item(&mut r, &arg_tag(a), &arg_text(a));
        }
        r.control("RE", []);
    }
    r.render()
}

/// `-o, --output <FILE>`
fn arg_tag(a: &clap::Arg) -> String {
    let value = a
        .get_value_names()
        .map(|v| {
            v.iter()
                .map(|n| format!("<{n}>"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let mut tag = Vec::new();
    if let Some(c) = a.get_short() {
        tag.push(format!("-{c}"));
    }
    if let Some(l) = a.get_long() {
        tag.push(format!("--{l}"));
    }
    let mut tag = tag.join(", ");
    if a.get_action().takes_values() {
        if !tag.is_empty() {
            tag.push(' ');
        }
        tag.push_str(&value);
    }
    tag
}

/// An argument's help with its possible values and default.
fn arg_text(a: &clap::Arg) -> String {
    let mut text = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    let pv: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !pv.is_empty() {
        text.push_str(&format!(" [possible values: {}]", pv.join(", ")));
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && a.get_action().takes_values() {
        text.push_str(&format!(" [default: {}]", defaults.join(", ")));
    }
    text.trim().to_string()
}

/// Examples: (page, what it does, the command lines).
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "ee",
        "Stop a test run at the first failure, keeping the stack trace:",
        "ee 'FAILED|ERROR' -- pytest -x",
    ),
    (
        "ee",
        "Watch a log through a pipe and exit 0 once the server is up:",
        "tail -f server.log | ee 'listening on port'",
    ),
    (
        "ee",
        "No pattern: stop a build that prints nothing for two minutes:",
        "ee --idle-timeout 2m -- make",
    ),
    (
        "ee",
        "Let ee apply what it learned for the command:",
        "ee run cargo test",
    ),
    (
        "run",
        "Run with the learned error pattern and timeout:",
        "ee run pytest tests/",
    ),
    (
        "run",
        "See what would be applied, without running:",
        "ee run --dry-run -- cargo test",
    ),
    (
        "run",
        "Own error pattern, ignoring a known noisy line:",
        "ee run -e 'error\\[E[0-9]+\\]' -X 'warning: unused' -- cargo build",
    ),
    (
        "init",
        "Load the hooks and completion in bash (zsh and fish likewise):",
        "eval \"$(ee init bash)\"",
    ),
    ("init", "In fish:", "ee init fish | source"),
    (
        "route",
        "Route pytest and cargo test through ee:",
        "ee route add pytest 'cargo test'",
    ),
    ("route", "Stop routing pytest:", "ee route remove pytest"),
    (
        "suggest",
        "What ee would apply to pytest:",
        "ee suggest pytest tests/",
    ),
    ("stats", "Statistics as JSON:", "ee stats --json"),
    (
        "telemetry",
        "Check the database and drop runs older than 90 days:",
        "ee telemetry check\nee telemetry prune --older-than 90d",
    ),
    (
        "feedback",
        "The last run was stopped although it did not really fail:",
        "ee feedback --false-positive",
    ),
    (
        "profile",
        "List the profiles and show one:",
        "ee profile list\nee profile show pytest",
    ),
    (
        "completions",
        "Install completion system-wide:",
        "ee completions bash > /usr/share/bash-completion/completions/ee\n\
         ee completions zsh > /usr/local/share/zsh/site-functions/_ee\n\
         ee completions fish > /usr/share/fish/vendor_completions.d/ee.fish",
    ),
    ("man", "Show the page of ee run:", "ee man run"),
    (
        "man",
        "Install all pages for yourself, where man finds them without root \
         (~/.local/share/man):",
        "ee man --install",
    ),
    (
        "man",
        "Install all pages system-wide:",
        "sudo ee man --install-dir /usr/local/share/man/man1",
    ),
];

fn extra_sections(cmd: &clap::Command, sub: Option<&str>) -> String {
    let mut r = Roff::new();
    let page = sub.unwrap_or("ee");

    section(&mut r, "EXIT STATUS");
    match sub {
        None => {
            exit_table(&mut r, GREP_EXIT_STATUS, true);
            exit_table(&mut r, RUN_EXIT_STATUS, true);
            para(
                &mut r,
                "Subcommands other than run exit 0 on success and 3 on a usage error; their pages \
                 give the details.",
                false,
            );
        }
        Some("run") => exit_table(&mut r, RUN_EXIT_STATUS, false),
        Some(_) => match after_help(cmd).0 {
            Some(text) => {
                let text = text.split_once(':').map(|(_, t)| t.trim()).unwrap_or(&text);
                para(&mut r, text, true)
            }
            None => exit_table(&mut r, GENERIC_EXIT, false),
        },
    }

    for (title, table) in [("ENVIRONMENT", ENVIRONMENT), ("FILES", FILES)] {
        let mut rows = table.iter().filter(|(_, _, pages)| pages.contains(&page));
        if let Some(first) = rows.next() {
            section(&mut r, title);
            for (name, text, _) in std::iter::once(first).chain(rows) {
                item(&mut r, name, text);
            }
        }
    }

    section(&mut r, "EXAMPLES");
    let mut first = true;
    for (_, text, cmd) in EXAMPLES.iter().filter(|(p, _, _)| *p == page) {
        example(&mut r, text, cmd, first);
        first = false;
    }

    section(&mut r, "SEE ALSO");
    let mut refs: Vec<String> = Vec::new();
    if sub.is_some() {
        refs.push("ee".into());
    }
    for name in subcommand_names() {
        if Some(name.as_str()) != sub {
            refs.push(format!("ee-{name}"));
        }
    }
    refs.push("timeout".into());
    refs.push("grep".into());
    let n = refs.len();
    for (i, name) in refs.into_iter().enumerate() {
        let tail = if i + 1 < n { "(1)," } else { "(1)" };
        r.text([bold(name), roman(tail)]);
    }
    r.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_examples_and_one_preamble() {
        for p in pages() {
            assert!(p.roff.contains(".SH EXAMPLES\n"), "{}", p.file);
            assert_eq!(p.roff.matches(".ds Aq").count(), 2, "{}", p.file);
        }
        let names = subcommand_names();
        for (page, _, _) in EXAMPLES {
            assert!(*page == "ee" || names.iter().any(|n| n == page), "{page}");
        }
    }

    #[test]
    fn one_page_per_subcommand() {
        let files: Vec<String> = pages().into_iter().map(|p| p.file).collect();
        assert_eq!(files[0], "ee.1");
        assert!(files.contains(&"ee-run.1".to_string()));
        assert!(page(Some("run")).is_some());
        assert!(page(Some("nope")).is_none());
    }
}
