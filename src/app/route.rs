//! `ee route add|remove|list`: edit and show the routes file that the shell hooks read (see
//! `crate::shell::routes` for the format and validation). Open shells pick changes up at their next
//! prompt.

use crate::app::{CmdResult, Fail};
use crate::cli::{RouteAction, RouteArgs};
use crate::shell::routes::{self, Route};

fn parse_all(names: &[String]) -> Result<Vec<Route>, Fail> {
    names
        .iter()
        .map(|n| routes::parse_route(n).map_err(Fail::usage))
        .collect()
}

pub fn run(a: RouteArgs) -> CmdResult {
    let path = routes::routes_path().ok_or_else(|| Fail::new(1, crate::paths::NO_CONFIG_DIR))?;
    match a.action {
        RouteAction::Add { names } => {
            let rs = parse_all(&names)?;
            let added = routes::add(&path, &rs).map_err(|e| Fail::new(1, e))?;
            for r in &rs {
                let what = if added.contains(r) {
                    "routed"
                } else {
                    "already routed"
                };
                outln!("{what}: {}", crate::escape::escape(&r.to_string()));
            }
            Ok(0)
        }
        RouteAction::Remove { names } => {
            let rs = parse_all(&names)?;
            let removed = routes::remove(&path, &rs).map_err(|e| Fail::new(1, e))?;
            let mut missing = Vec::new();
            for r in &rs {
                if removed.contains(r) {
                    outln!("removed: {}", crate::escape::escape(&r.to_string()));
                } else {
                    missing.push(r.to_string());
                }
            }
            if missing.is_empty() {
                Ok(0)
            } else {
                Err(Fail::new(
                    1,
                    format!("not routed: {} (see 'ee route list')", missing.join(", ")),
                ))
            }
        }
        RouteAction::List => {
            let p = routes::load(&path).map_err(|e| Fail::new(1, e))?;
            for e in &p.errors {
                crate::engine::printer::note(
                    false,
                    &format!(
                        "{}: {e}",
                        crate::escape::escape(&path.display().to_string())
                    ),
                );
            }
            for r in &p.routes {
                outln!("{}", crate::escape::escape(&r.to_string()));
            }
            Ok(0)
        }
    }
}
