//! Build script: link the `ee` binaries as position-dependent executables on Linux.
//!
//! A PIE of this size carries ~19,500 relative relocations (postgres, rustls, clap, SQLite…)
//! that the dynamic loader applies on every start, dirtying ~85 pages of `.data.rel.ro`: about
//! 0.25 M instructions and 90 page faults per run, a fifth of `ee -- /bin/true`'s own start-up.
//! Linked with `-no-pie` the linker resolves them once (the code stays position independent, so
//! nothing else changes). Only the binaries are affected, never the tests or the library.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" && std::env::var_os("EARLYEXIT_PIE").is_none() {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-env-changed=EARLYEXIT_PIE");
}
