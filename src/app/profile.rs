//! `ee profile list|show NAME`: the built-in pattern profiles and the user's own, which are JSON
//! files in `<config dir>/profiles/` (`EARLYEXIT_CONFIG_DIR` overrides the config dir).

use crate::app::{CmdResult, Fail};
use crate::cli::{ProfileAction, ProfileArgs};
use crate::learn::profiles;

pub fn run(a: ProfileArgs) -> CmdResult {
    let (list, bad) = profiles::all();
    for b in &bad {
        crate::engine::printer::note(false, &format!("invalid profile {b}"));
    }
    let mut out = String::new();
    match a.action {
        ProfileAction::List => {
            let w = list.iter().map(|p| p.name.len()).max().unwrap_or(0);
            for p in &list {
                let origin = if p.source == "builtin" {
                    "built-in"
                } else {
                    "user"
                };
                out.push_str(&format!(
                    "{:w$}  {:8}  {}\n",
                    p.name,
                    origin,
                    p.commands.join(", ")
                ));
            }
            if let Some(d) = profiles::user_dir() {
                out.push_str(&format!("\nUser profiles: {}/*.json\n", d.display()));
            }
        }
        ProfileAction::Show { name } => {
            let p = list.iter().find(|p| p.name == name).ok_or_else(|| {
                Fail::usage(format!("no profile named '{name}' (see 'ee profile list')"))
            })?;
            out.push_str(&serde_json::to_string_pretty(p).unwrap_or_default());
            out.push('\n');
        }
    }
    crate::output::write_bytes(out.as_bytes());
    Ok(0)
}
