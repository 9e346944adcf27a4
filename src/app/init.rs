//! `ee init SHELL [--route NAME]...`: print the hook code a shell evaluates at start-up (the
//! machinery from `shell/`, the routes, and the completion script). `EARLYEXIT_ROUTES` (comma
//! separated) adds inline routes like `--route`. With the hidden `--reload`,
//! print only the routes, for a hook that saw the routes file change.

use crate::app::{CmdResult, Fail};
use crate::cli::InitArgs;
use crate::engine::printer::note;
use crate::shell;
use crate::shell::routes::{self, Route};

pub fn run(a: InitArgs) -> CmdResult {
    let mut inline: Vec<Route> = a
        .route
        .iter()
        .map(|r| routes::parse_route(r))
        .collect::<Result<_, _>>()
        .map_err(Fail::usage)?;
    // EARLYEXIT_ROUTES='pytest, cargo test': more inline routes. A bad one is skipped with a
    // warning, so a typo in the environment never leaves a shell without its hook.
    for name in crate::paths::env_routes() {
        match routes::parse_route(&name) {
            Ok(r) if !inline.contains(&r) => inline.push(r),
            Ok(_) => {}
            Err(e) if !a.reload => note(false, &format!("EARLYEXIT_ROUTES: {e}")),
            Err(_) => {}
        }
    }
    let loaded = routes::load_for_hooks();
    if a.shell == crate::cli::Shell::Fish {
        if let Ok(bin) = std::env::current_exe() {
            shell::make_shims(&bin, inline.iter().chain(&loaded.routes));
        }
    }
    let text = if a.reload {
        shell::render_reload(
            a.shell,
            loaded.path.as_deref(),
            &loaded.stamp,
            &loaded.routes,
        )
    } else {
        for e in &loaded.errors {
            note(false, e);
        }
        let bin = std::env::current_exe()
            .map_err(|e| Fail::new(1, format!("cannot find ee's own path: {e}")))?;
        let mut t = shell::render(
            a.shell,
            &bin,
            &inline,
            loaded.path.as_deref(),
            &loaded.stamp,
            &loaded.routes,
        );
        let completions = crate::complete::script(a.shell);
        if !completions.is_empty() {
            t.push('\n');
            t.push_str(&completions);
        }
        t
    };
    crate::output::write_bytes(text.as_bytes());
    Ok(0)
}
