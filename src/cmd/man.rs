//! `ee man` (not implemented yet).

use crate::cli::ManArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: ManArgs) -> CmdResult {
    Err(Fail::usage("'ee man' is not implemented yet"))
}
