//! The long name of the same program: `earlyexit` behaves exactly like `ee`.

fn main() {
    earlyexit::app::entry();
}
