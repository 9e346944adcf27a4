//! The long name of the same program: `earlyexit` behaves exactly like `ee`.

fn main() {
    std::process::exit(earlyexit::app::main());
}
