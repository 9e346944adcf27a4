//! Entry point of the `ee` binary: everything happens in `app::entry` (which starts opening the
//! telemetry store early for a command line that plainly records, see `app::prepare_early`).

fn main() {
    earlyexit::app::entry();
}
