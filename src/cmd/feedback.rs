//! `ee feedback` (not implemented yet).

use crate::cli::FeedbackArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: FeedbackArgs) -> CmdResult {
    Err(Fail::usage("'ee feedback' is not implemented yet"))
}
