//! A new user's first minutes with the grep face, where the first word is always the pattern:
//! `ee cargo test` watches `test` for the pattern `cargo`, and `ee pytest` waits on the
//! terminal. One line on stderr (silenced by `-q`) says what is happening and how to run the
//! program instead; the rule itself does not change.

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::GrepArgs;
use crate::engine::printer::note;

/// Say, once, before the run starts, what a surprised new user needs to know.
pub fn before_run(a: &GrepArgs) {
    if a.engine.output.quiet {
        return;
    }
    let program = a.pattern_pos.as_deref().filter(|p| on_path(p));
    if !a.command.is_empty() {
        // `ee cargo test`: only when the user left out the `--` that says "pattern, then command".
        if let (Some(p), true) = (program, a.dash_implied) {
            let mut words = vec![p.to_string()];
            words.extend(a.command.iter().map(|w| w.to_string_lossy().into_owned()));
            note(
                false,
                &format!(
                    "'{p}' is the pattern here; to run {p}: ee run {}",
                    shell_words::join(&words)
                ),
            );
        }
    } else if std::io::stdin().is_terminal() {
        match program {
            Some(p) => note(
                false,
                &format!(
                    "reading standard input (Ctrl-D ends it); '{p}' is the pattern here; to run \
                     {p}: ee run {p}"
                ),
            ),
            None => note(false, "reading standard input (Ctrl-D ends it)"),
        }
    }
}

/// Is `word` the name of an executable file in a PATH directory (as a shell would run it)?
fn on_path(word: &str) -> bool {
    let plausible = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if !plausible || word.starts_with('-') || word == "." || word == ".." {
        return false;
    }
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path)
        .filter(|d| !d.as_os_str().is_empty())
        .any(|d| is_executable(&d.join(word)))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_program_names_are_looked_up() {
        assert!(on_path("sh"));
        for w in [
            "",
            "-x",
            "a/b",
            "FAILED|ERROR",
            "err.*",
            "..",
            "no-such-program-xyz",
        ] {
            assert!(!on_path(w), "{w}");
        }
    }
}
