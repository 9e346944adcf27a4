//! `ee suggest` (not implemented yet).

use crate::cli::SuggestArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: SuggestArgs) -> CmdResult {
    Err(Fail::usage("'ee suggest' is not implemented yet"))
}
