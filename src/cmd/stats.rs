//! `ee stats` (not implemented yet).

use crate::cli::StatsArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: StatsArgs) -> CmdResult {
    Err(Fail::usage("'ee stats' is not implemented yet"))
}
