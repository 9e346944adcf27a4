//! Shell hook code for bash, zsh and fish, printed by `ee init`.
//!
//! Owns rendering: the hook machinery lives as real shell files in `shell/` (linted as such) and
//! is embedded here; rendering only replaces three quoted placeholders with quoted data — the
//! absolute path of the ee binary (`'@EE_BIN@'`), the routes given with `ee init --route`
//! (`'@EE_INLINE@'`) and the arguments of the final load call (`'@EE_LOAD@'`: routes file, load
//! stamp, routes). Every value is quoted for the target shell, so no data can become code.

pub mod routes;

use std::path::Path;

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
    let inline: Vec<String> = inline.iter().map(Route::to_string).collect();
    template(shell)
        .replacen("'@EE_BIN@'", &quote(shell, &bin.to_string_lossy()), 1)
        .replacen("'@EE_INLINE@'", &words(shell, &inline), 1)
        .replacen("'@EE_LOAD@'", &load_args(shell, file, stamp, routes), 1)
}

/// What a running hook evaluates when the routes file changed: one load call.
pub fn render_reload(shell: Shell, file: Option<&Path>, stamp: &Stamp, routes: &[Route]) -> String {
    format!("__ee_load {}\n", load_args(shell, file, stamp, routes))
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
            assert_eq!(template(sh).matches("'@EE_").count(), 3, "{sh:?}");
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
