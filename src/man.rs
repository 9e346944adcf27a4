//! Man pages: `ee.1` and one page per subcommand, rendered from the clap definitions in `cli.rs`
//! (clap_mangen) and completed with the sections clap cannot produce: EXIT STATUS (both faces),
//! ENVIRONMENT, FILES, EXAMPLES and SEE ALSO. Pure text generation, no I/O.

use clap::CommandFactory;
use clap_mangen::Man;

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
    let lines: &[&str] = match sub {
        None => &[
            "cmd | \\fBee\\fR [\\fIOPTIONS\\fR] \\fIPATTERN\\fR",
            "\\fBee\\fR [\\fIOPTIONS\\fR] \\fIPATTERN\\fR [\\fB\\-\\-\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]",
            "\\fBee\\fR [\\fIOPTIONS\\fR] \\fB\\-\\-\\fR \\fICOMMAND\\fR [\\fIARGS\\fR...]",
            "\\fBee\\fR \\fISUBCOMMAND\\fR [\\fIARGS\\fR...]",
        ],
        Some("run") => &[
            "\\fBee run\\fR [\\fIOPTIONS\\fR] [\\fB\\-\\-\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]",
        ],
        Some(_) => return None,
    };
    let mut s = String::from(".SH SYNOPSIS\n.nf\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(".fi\n");
    Some(s)
}

/// Make clap_mangen's output lint-clean: no trailing blanks, no `.br` around a blank line, and
/// pre-formatted paragraphs (continuation lines indented in the help text) kept as they are.
fn tidy(roff: &str) -> String {
    let mut lines: Vec<String> = roff.lines().map(|l| l.trim_end().to_string()).collect();
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

/// Escape text for a roff text line: backslashes, dashes, and a leading control character.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '\'' => out.push_str("\\(aq"),
            '`' => out.push_str("\\(ga"),
            _ => out.push(c),
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

fn section(out: &mut String, title: &str) {
    out.push_str(".SH \"");
    out.push_str(title);
    out.push_str("\"\n");
}

/// A tagged paragraph: bold tag, then text.
fn item(out: &mut String, tag: &str, text: &str) {
    out.push_str(".TP\n\\fB");
    out.push_str(&esc(tag));
    out.push_str("\\fR\n");
    out.push_str(&wrap(&esc(text)));
}

fn para(out: &mut String, text: &str) {
    let last = out.trim_end_matches('\n').rsplit('\n').next().unwrap_or("");
    if !(last.starts_with(".SH") || last.starts_with(".SS")) {
        out.push_str(".PP\n");
    }
    out.push_str(&wrap(&esc(text)));
}

/// Break text into source lines of at most about 78 bytes (roff refills them anyway).
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if len > 0 && len + 1 + word.len() > 78 {
            out.push('\n');
            len = 0;
        } else if len > 0 {
            out.push(' ');
            len += 1;
        }
        if len == 0 && (word.starts_with('.') || word.starts_with('\'')) {
            out.push_str("\\&");
        }
        out.push_str(word);
        len += word.len();
    }
    out.push('\n');
    out
}

/// An example: a description paragraph, then the command in a no-fill display.
fn example(out: &mut String, text: &str, cmd: &str) {
    para(out, text);
    out.push_str(".PP\n.RS 4\n.nf\n");
    for line in cmd.lines() {
        out.push_str(&esc(line));
        out.push('\n');
    }
    out.push_str(".fi\n.RE\n");
}

/// Turn an exit-status table from cli.rs ("  CODE   text" lines under a title line) into roff.
fn exit_table(out: &mut String, table: &str, heading: bool) {
    let mut lines = table.lines();
    if let Some(title) = lines.next() {
        if heading {
            out.push_str(".SS \"");
            out.push_str(&esc(title.trim().trim_end_matches(':')));
            out.push_str("\"\n");
        }
    }
    for line in lines {
        let t = line.trim();
        let (code, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        let is_code = !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_digit() || c == 'N' || c == '+');
        if is_code {
            item(out, code, rest.trim());
        } else if !t.is_empty() {
            para(out, t);
        }
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
    let mut s = String::new();
    for p in after_help(cmd).1 {
        s.push_str(".PP\n");
        for line in p.lines() {
            let l = esc(line);
            if l.starts_with('.') || l.starts_with('\'') {
                s.push_str("\\&");
            }
            s.push_str(&l);
            s.push('\n');
        }
    }
    s
}

/// Nested subcommands (ee route add, ee telemetry prune, ...) documented in place, with their
/// arguments, instead of references to pages that do not exist.
fn nested_subcommands(cmd: &clap::Command) -> String {
    let mut s = String::new();
    section(&mut s, "SUBCOMMANDS");
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        s.push_str(".TP\n\\fB");
        s.push_str(&esc(usage));
        s.push_str("\\fR\n");
        s.push_str(&wrap(&esc(&sub
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default())));
        let args: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
            .filter(|a| !(a.is_positional() && a.get_help().is_none()))
            .collect();
        if args.is_empty() {
            continue;
        }
        s.push_str(".RS\n");
        for a in args {
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
            item(&mut s, &tag, text.trim());
        }
        s.push_str(".RE\n");
    }
    s
}

fn extra_sections(cmd: &clap::Command, sub: Option<&str>) -> String {
    let mut s = String::new();
    let page = sub.unwrap_or("ee");

    section(&mut s, "EXIT STATUS");
    match sub {
        None => {
            exit_table(&mut s, GREP_EXIT_STATUS, true);
            exit_table(&mut s, RUN_EXIT_STATUS, true);
            para(
                &mut s,
                "Subcommands other than run exit 0 on success and 3 on a usage error; their pages \
                 give the details.",
            );
        }
        Some("run") => exit_table(&mut s, RUN_EXIT_STATUS, false),
        Some(_) => match after_help(cmd).0 {
            Some(text) => {
                let text = text.split_once(':').map(|(_, t)| t.trim()).unwrap_or(&text);
                para(&mut s, text)
            }
            None => exit_table(&mut s, GENERIC_EXIT, false),
        },
    }

    let env: Vec<_> = ENVIRONMENT
        .iter()
        .filter(|(_, _, pages)| pages.contains(&page))
        .collect();
    if !env.is_empty() {
        section(&mut s, "ENVIRONMENT");
        for (name, text, _) in env {
            item(&mut s, name, text);
        }
    }
    let files: Vec<_> = FILES
        .iter()
        .filter(|(_, _, pages)| pages.contains(&page))
        .collect();
    if !files.is_empty() {
        section(&mut s, "FILES");
        for (name, text, _) in files {
            item(&mut s, name, text);
        }
    }

    section(&mut s, "EXAMPLES");
    match sub {
        None => {
            example(
                &mut s,
                "Stop a test run at the first failure, keeping the stack trace:",
                "ee 'FAILED|ERROR' -- pytest -x",
            );
            example(
                &mut s,
                "Watch a log through a pipe and exit 0 once the server is up:",
                "tail -f server.log | ee 'listening on port'",
            );
            example(
                &mut s,
                "No pattern: stop a build that prints nothing for two minutes:",
                "ee --idle-timeout 2m -- make",
            );
            example(
                &mut s,
                "Let ee apply what it learned for the command:",
                "ee run cargo test",
            );
        }
        Some("run") => {
            example(
                &mut s,
                "Run with the learned error pattern and timeout:",
                "ee run pytest tests/",
            );
            example(
                &mut s,
                "See what would be applied, without running:",
                "ee run --dry-run -- cargo test",
            );
            example(
                &mut s,
                "Own error pattern, ignoring a known noisy line:",
                "ee run -e 'error\\[E[0-9]+\\]' -X 'warning: unused' -- cargo build",
            );
        }
        Some("init") => {
            example(
                &mut s,
                "Load the hooks and completion in bash (zsh and fish likewise):",
                "eval \"$(ee init bash)\"",
            );
            example(&mut s, "In fish:", "ee init fish | source");
        }
        Some("route") => {
            example(
                &mut s,
                "Route pytest and cargo test through ee:",
                "ee route add pytest 'cargo test'",
            );
            example(&mut s, "Stop routing pytest:", "ee route remove pytest");
        }
        Some("suggest") => {
            example(
                &mut s,
                "What ee would apply to pytest:",
                "ee suggest pytest tests/",
            );
        }
        Some("stats") => {
            example(&mut s, "Statistics as JSON:", "ee stats --json");
        }
        Some("telemetry") => {
            example(
                &mut s,
                "Check the database and drop runs older than 90 days:",
                "ee telemetry check\nee telemetry prune --older-than 90d",
            );
        }
        Some("feedback") => {
            example(
                &mut s,
                "The last run was stopped although it did not really fail:",
                "ee feedback --false-positive",
            );
        }
        Some("profile") => {
            example(
                &mut s,
                "List the profiles and show one:",
                "ee profile list\nee profile show pytest",
            );
        }
        Some("completions") => {
            example(
                &mut s,
                "Install completion system-wide:",
                "ee completions bash > /usr/share/bash-completion/completions/ee\n\
                 ee completions zsh > /usr/local/share/zsh/site-functions/_ee\n\
                 ee completions fish > /usr/share/fish/vendor_completions.d/ee.fish",
            );
        }
        Some("man") => {
            example(&mut s, "Show the page of ee run:", "ee man run");
            example(
                &mut s,
                "Install all pages:",
                "ee man --install-dir /usr/local/share/man/man1",
            );
        }
        Some(_) => {}
    }

    section(&mut s, "SEE ALSO");
    let mut refs: Vec<String> = Vec::new();
    if sub.is_some() {
        refs.push("ee(1)".into());
    }
    for name in subcommand_names() {
        if Some(name.as_str()) != sub {
            refs.push(format!("ee-{name}(1)"));
        }
    }
    refs.push("timeout(1)".into());
    refs.push("grep(1)".into());
    let refs: Vec<String> = refs
        .iter()
        .map(|r| {
            let (name, sec) = r.split_once('(').unwrap_or((r, ""));
            format!("\\fB{}\\fR({}", esc(name), sec)
        })
        .collect();
    s.push_str(&refs.join(",\n"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_roff() {
        assert_eq!(esc("a-b\\c"), "a\\-b\\ec");
        assert_eq!(esc(".x"), "\\&.x");
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
