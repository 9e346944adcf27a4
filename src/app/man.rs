//! `ee man [SUBCOMMAND]`: show a man page (through `man -l` on a terminal, else print the roff);
//! `ee man --install` to install every page into the user's own man directory and check that
//! `man ee` finds it, or `ee man --install-dir DIR` to write every page into DIR.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::app::{CmdResult, Fail};
use crate::cli::ManArgs;
use crate::man;

pub fn run(a: ManArgs) -> CmdResult {
    if a.install || a.install_dir.is_some() {
        if a.page.is_some() {
            return Err(Fail::usage(
                "--install and --install-dir write every page; give no SUBCOMMAND with them",
            ));
        }
        return match a.install_dir {
            Some(dir) => {
                prepare_dir(&dir)?;
                install(&dir)?;
                Ok(0)
            }
            None => install_for_user(),
        };
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

/// The user's own man directory, which man-db and mandoc search without configuration when
/// `~/.local/bin` is on PATH: `$XDG_DATA_HOME/man`, else `~/.local/share/man` (on every
/// platform: `man` does not look in ~/Library).
fn user_man_root() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        if x.is_absolute() {
            return Some(x.join("man"));
        }
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".local/share/man"))
}

/// `--install-dir DIR`: DIR may be created, but only inside a directory that exists; a typo in
/// a parent must not create a whole new tree.
fn prepare_dir(dir: &Path) -> Result<(), Fail> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = match dir.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => Path::new("/"),
    };
    if !parent.is_dir() {
        return Err(Fail::usage(format!(
            "cannot create {}: {} is not an existing directory",
            dir.display(),
            parent.display()
        )));
    }
    std::fs::create_dir(dir).map_err(|e| Fail::io(format!("cannot create {}: {e}", dir.display())))
}

/// Write every page into `dir`, printing each path written; returns the path of `ee.1`.
fn install(dir: &Path) -> Result<PathBuf, Fail> {
    let mut main = dir.join("ee.1");
    for p in man::pages() {
        let path = dir.join(&p.file);
        std::fs::write(&path, p.roff)
            .map_err(|e| Fail::io(format!("cannot write {}: {e}", path.display())))?;
        outln!("wrote {}", path.display());
        if p.file == "ee.1" {
            main = path;
        }
    }
    Ok(main)
}

/// `--install`: into the user's man directory, then ask `man -w ee` which page it would show.
fn install_for_user() -> CmdResult {
    let root = user_man_root().ok_or_else(|| {
        Fail::usage("cannot find your man directory: set HOME (or XDG_DATA_HOME)")
    })?;
    let dir = root.join("man1");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Fail::io(format!("cannot create {}: {e}", dir.display())))?;
    let main = install(&dir)?;
    let export = format!("export MANPATH=\"{}:$MANPATH\"", in_double_quotes(&root));
    let found = Command::new("man")
        .args(["-w", "ee"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let same = |p: &Path| match (p.canonicalize(), main.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    match found {
        Err(_) => crate::engine::printer::note(
            false,
            &format!(
                "'man' is not installed here; the pages are in {}",
                dir.display()
            ),
        ),
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            let shown = text.lines().next().unwrap_or("").trim();
            if o.status.success() && same(Path::new(shown)) {
                outln!("'man ee' finds them");
            } else if o.status.success() && !shown.is_empty() {
                crate::engine::printer::note(
                    false,
                    &format!(
                        "'man ee' shows another copy ({shown}); to see these first, add to your \
                         shell's startup file: {export}"
                    ),
                );
            } else {
                crate::engine::printer::note(
                    false,
                    &format!(
                        "'man ee' will not find these pages; add to your shell's startup file: \
                         {export}"
                    ),
                );
            }
        }
    }
    Ok(0)
}

/// A path for use inside double quotes in sh, written with `$HOME` when it is under it.
fn in_double_quotes(p: &Path) -> String {
    let text = p.to_string_lossy();
    let home = std::env::var("HOME").unwrap_or_default();
    let (lead, rest) = match text.strip_prefix(home.as_str()) {
        Some(r) if !home.is_empty() && home != "/" && r.starts_with('/') => ("$HOME", r),
        _ => ("", text.as_ref()),
    };
    let mut out = String::from(lead);
    for c in rest.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
