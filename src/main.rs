//! Entry point of both binaries (`ee` and `earlyexit`): everything happens in `cmd::main`.

fn main() {
    std::process::exit(earlyexit::app::main());
}
