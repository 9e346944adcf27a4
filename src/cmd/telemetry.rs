//! `ee telemetry` (not implemented yet).

use crate::cli::TelemetryArgs;
use crate::cmd::{CmdResult, Fail};

pub fn run(_a: TelemetryArgs) -> CmdResult {
    Err(Fail::usage("'ee telemetry' is not implemented yet"))
}
