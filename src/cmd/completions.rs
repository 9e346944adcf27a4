//! `ee completions` (not implemented yet).

use crate::cli::CompletionsArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: CompletionsArgs) -> CmdResult {
    Err(Fail::usage("'ee completions' is not implemented yet"))
}
