//! earlyexit (`ee`): run a command or read a pipe, watch its output line by line, and stop it the
//! moment the outcome is known. See README.md for the architecture; each module's doc says what
//! it owns.

// First, so `out!`/`outln!` are in scope in every module below (a drop-in for print!/println!).
#[macro_use]
pub mod output;

pub mod app;
pub mod cli;
pub mod complete;
pub mod context;
pub mod engine;
pub mod escape;
pub mod learn;
pub mod man;
pub mod paths;
pub mod plot;
pub mod redact;
pub mod shell;
pub mod store;
pub mod team;
