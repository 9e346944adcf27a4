//! Shell hook code for bash, zsh and fish, printed by `ee init`.
//!
//! Owns rendering: the hook machinery lives as real shell files in `shell/` (linted as such) and
//! is embedded here; rendering only replaces three quoted placeholders with quoted data — the
//! absolute path of the ee binary (`'@EE_BIN@'`), the routes given with `ee init --route`
//! (`'@EE_INLINE@'`) and the arguments of the final load call (`'@EE_LOAD@'`: routes file, load
//! stamp, routes). Every value is quoted for the target shell, so no data can become code.
//! For fish it also keeps the shim directory (see [`shims`]) and fills in `'@EE_SHIMS@'`.

pub mod entry;
pub mod routes;

use std::path::{Path, PathBuf};

use crate::cli::Shell;
use crate::shell::routes::{Route, Stamp};

const BASH: &str = include_str!("../../shell/ee.bash");
const ZSH: &str = include_str!("../../shell/ee.zsh");
const FISH: &str = include_str!("../../shell/ee.fish");

/// The hook file of a shell, as shipped (placeholders in place).
pub fn template(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => BASH,
        Shell::Zsh => ZSH,
        Shell::Fish => FISH,
    }
}

/// Quote one word for a shell: POSIX single quotes for bash/zsh, fish's single quotes (where `\`
/// and `'` are escaped) for fish.
pub fn quote(shell: Shell, s: &str) -> String {
    match shell {
        Shell::Bash | Shell::Zsh => format!("'{}'", s.replace('\'', r"'\''")),
        Shell::Fish => format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'")),
    }
}

fn words(shell: Shell, items: &[String]) -> String {
    items
        .iter()
        .map(|s| quote(shell, s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments of the load call: routes file, stamp (`''` = no file yet, `'-'` = untracked),
/// then the routes.
fn load_args(shell: Shell, file: Option<&Path>, stamp: &Stamp, routes: &[Route]) -> String {
    let mut a = vec![
        file.map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        match stamp {
            Stamp::Absent => String::new(),
            Stamp::File(p) => p.to_string_lossy().into_owned(),
            Stamp::Untracked => "-".to_string(),
        },
    ];
    a.extend(routes.iter().map(Route::to_string));
    words(shell, &a)
}

/// The full hook: machinery, the binary's path, inline routes and the first load.
pub fn render(
    shell: Shell,
    bin: &Path,
    inline: &[Route],
    file: Option<&Path>,
    stamp: &Stamp,
    routes: &[Route],
) -> String {
    let text = template(shell)
        .replacen("'@EE_BIN@'", &quote(shell, &bin.to_string_lossy()), 1)
        .replacen("'@EE_INLINE@'", &words(shell, &inline_words(inline)), 1)
        .replacen("'@EE_LOAD@'", &load_args(shell, file, stamp, routes), 1);
    if shell != Shell::Fish {
        return text;
    }
    text.replacen("'@EE_SHIMS@'", &quote(shell, &shim_dir_text(shim_dir())), 1)
}

fn inline_words(inline: &[Route]) -> Vec<String> {
    inline.iter().map(Route::to_string).collect()
}

fn shim_dir_text(dir: Option<PathBuf>) -> String {
    dir.map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What a running hook evaluates when the routes file changed: one load call (fish: after
/// refreshing the shims).
pub fn render_reload(shell: Shell, file: Option<&Path>, stamp: &Stamp, routes: &[Route]) -> String {
    let load = format!("__ee_load {}\n", load_args(shell, file, stamp, routes));
    if shell != Shell::Fish {
        return load;
    }
    format!(
        "set -g __ee_shims {}\n{load}",
        quote(shell, &shim_dir_text(shim_dir()))
    )
}

/// fish has no command hash table: to run a routed program under its own name, the fish hook
/// puts this directory first in PATH for a command line that names one. It holds one symlink to
/// ee per routed program (`<cache dir>/earlyexit/shims/pytest`); ee, started through one, takes
/// the directory out of PATH again (see [`entry`]).
pub fn shim_dir() -> Option<PathBuf> {
    Some(dirs::cache_dir()?.join("earlyexit").join("shims"))
}

/// Make the shims of these routes (`ee init fish` and its reloads). Links of programs no longer
/// routed are left: ee started through one runs the bare program. Failures are silent: without
/// its shim a program simply runs bare.
pub fn make_shims<'a>(bin: &Path, routes: impl IntoIterator<Item = &'a Route>) {
    let Some(dir) = shim_dir() else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    for r in routes {
        let link = dir.join(&r.program);
        if std::fs::read_link(&link).is_ok_and(|t| t == bin) {
            continue;
        }
        let _ = std::fs::remove_file(&link);
        let _ = std::os::unix::fs::symlink(bin, &link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote(Shell::Bash, "a'b c"), r"'a'\''b c'");
        assert_eq!(quote(Shell::Fish, r"a'b\c"), r"'a\'b\\c'");
    }

    #[test]
    fn placeholders_all_replaced() {
        let r = vec![crate::shell::routes::parse_route("cargo test").unwrap()];
        for sh in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let n = if sh == Shell::Fish { 4 } else { 3 };
            assert_eq!(template(sh).matches("'@EE_").count(), n, "{sh:?}");
            let out = render(
                sh,
                Path::new("/x y/ee"),
                &r,
                Some(Path::new("/c/routes")),
                &Stamp::Absent,
                &r,
            );
            assert!(!out.contains("@EE_"), "{sh:?}");
            assert!(out.contains("'/x y/ee'"));
            assert!(out.contains("__ee_load '/c/routes' '' 'cargo test'"));
        }
    }
}
