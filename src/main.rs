//! Entry point of the `ee` binary: everything happens in `app::main`. For a command line that
//! plainly records a run, the telemetry store starts opening on a thread before the arguments
//! are parsed (see `app::prepare_early`), so that the open overlaps the parsing.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    earlyexit::app::prepare_early(&args);
    let code = earlyexit::app::main();
    earlyexit::store::settle();
    std::process::exit(code);
}
