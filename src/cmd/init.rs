//! `ee init` (not implemented yet).

use crate::cli::InitArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: InitArgs) -> CmdResult {
    Err(Fail::usage("'ee init' is not implemented yet"))
}
