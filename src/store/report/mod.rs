//! The read and maintenance side of the store: statistics for `ee stats` (`stats.rs`, from the
//! summary tables, so it stays fast with a million executions), the health check (`check.rs`),
//! export (`export.rs`), pruning and clearing (`maintain.rs`), and generating synthetic
//! executions for benchmarks (`generate.rs`).

mod check;
mod export;
mod generate;
mod maintain;
mod stats;

pub use check::{check, Check};
pub use export::{export, ExportError};
pub use generate::generate;
pub use maintain::{clear, prune};
pub use stats::*;

/// `x` rounded to `places` decimals.
fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}
