//! The engine: everything that watches one run, from the plan to the outcome. The matcher and the
//! scanner find lines; the policy decides when to stop; the printer writes what the user sees; the
//! supervisor spawns, feeds and stops the child. Nothing here knows about the argument parser
//! or the database (rusqlite): `app` builds a [`plan::Plan`] and gets an [`outcome::Outcome`] back.

pub mod matcher;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod printer;
pub mod scan;
pub mod supervisor;

/// `auto`, `always` or `never`: when ee colours (`--color`) or gives the child pseudo-terminals
/// (`--pty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum When {
    #[default]
    Auto,
    Always,
    Never,
}
