//! earlyexit (`ee`): run a command or read a pipe, watch its output line by line, and stop it the
//! moment the outcome is known. See README.md for the architecture; each module's doc says what
//! it owns.

// First, so `out!`/`outln!` are in scope in every module below (a drop-in for print!/println!).
#[macro_use]
pub mod output;

pub mod clap_completions;
pub mod cli;
pub mod cmd;
pub mod completions;
pub mod escape;
pub mod learn;
pub mod man;
pub mod matcher;
pub mod outcome;
pub mod plan;
pub mod plot;
pub mod policy;
pub mod printer;
pub mod routes;
pub mod scan;
pub mod shell;
pub mod supervisor;
pub mod team;
pub mod telemetry;
