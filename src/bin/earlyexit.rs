//! The long name of the same program: `earlyexit` behaves exactly like `ee`.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    earlyexit::app::prepare_early(&args);
    let code = earlyexit::app::main();
    earlyexit::store::settle();
    std::process::exit(code);
}
