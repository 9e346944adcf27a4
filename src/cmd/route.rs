//! `ee route` (not implemented yet).

use crate::cli::RouteArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: RouteArgs) -> CmdResult {
    Err(Fail::usage("'ee route' is not implemented yet"))
}
