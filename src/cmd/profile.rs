//! `ee profile` (not implemented yet).

use crate::cli::ProfileArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: ProfileArgs) -> CmdResult {
    Err(Fail::usage("'ee profile' is not implemented yet"))
}
