//! `ee man [SUBCOMMAND]`: show a man page (through `man -l` on a terminal, else print the roff),
//! or `ee man --install-dir DIR` to write every page.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

use crate::cli::ManArgs;
use crate::cmd::{CmdResult, Fail};
use crate::man;

pub fn run(a: ManArgs) -> CmdResult {
    if let Some(dir) = a.install_dir {
        if a.page.is_some() {
            return Err(Fail::usage(
                "--install-dir writes every page; give no SUBCOMMAND with it",
            ));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Fail::usage(format!("cannot create {}: {e}", dir.display())))?;
        for p in man::pages() {
            let path = dir.join(&p.file);
            std::fs::write(&path, p.roff)
                .map_err(|e| Fail::usage(format!("cannot write {}: {e}", path.display())))?;
        }
        return Ok(0);
    }
    let page = man::page(a.page.as_deref()).ok_or_else(|| {
        Fail::usage(format!(
            "no man page for '{}' (pages: {})",
            a.page.as_deref().unwrap_or(""),
            man::subcommand_names().join(", ")
        ))
    })?;
    if std::io::stdout().is_terminal() {
        if let Some(code) = show_with_man(&page.roff) {
            return Ok(code);
        }
    }
    crate::output::write_bytes(page.roff.as_bytes());
    Ok(0)
}

/// Format and page the roff with the system's `man -l -`; None when `man` cannot be started.
fn show_with_man(roff: &str) -> Option<i32> {
    let mut child = Command::new("man")
        .args(["-l", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        // The pager may quit before reading everything; that is not an error.
        let _ = stdin.write_all(roff.as_bytes());
    }
    let status = child.wait().ok()?;
    Some(status.code().unwrap_or(1))
}
