//! Shell completion scripts (issue 6). Placeholder: no script yet.

use crate::cli::Shell;

/// The completion script for a shell, loaded by `ee init` and printed by `ee completions`.
pub fn script(_shell: Shell) -> String {
    String::new()
}
