//! Pattern profiles: the built-in ones (candidates for common tools from the first run, watched in
//! shadow until confirmed in the project, see `rank`) and user
//! profiles stored as JSON files in `<config dir>/profiles/*.json`.
//!
//! A profile names the commands it fits (`cargo test`, `python -m pytest`, …) and the error
//! patterns that, for those commands, reliably show a failure as soon as it happens.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One profile, built-in or from a user file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Command prefixes it fits: program and leading subcommand words (`cargo test`).
    pub commands: Vec<String>,
    /// Error patterns (Rust regex syntax).
    pub patterns: Vec<String>,
    /// The tool prints its failure summary when interrupted (pytest): ee stops it with SIGINT,
    /// like Ctrl-C, and shows that summary.
    #[serde(default)]
    pub interrupt: bool,
    /// `builtin` or the user file's path.
    #[serde(skip_deserializing, default)]
    pub source: String,
}

/// The built-in profiles, in the user profile file format (a JSON array of [`Profile`]), in the
/// order they are tried: the first that fits a command is its profile.
const BUILTIN: &str = include_str!("profiles.json");

/// The built-in profiles (none if the embedded table did not parse, which a test rules out).
pub fn builtin() -> Vec<Profile> {
    let mut list: Vec<Profile> = serde_json::from_str(BUILTIN).unwrap_or_default();
    for p in &mut list {
        p.source = "builtin".to_string();
    }
    list
}

/// Where user profiles live.
pub fn user_dir() -> Option<PathBuf> {
    crate::paths::profiles_dir()
}

/// Load one user profile file.
pub fn load_file(path: &Path) -> Result<Profile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut p: Profile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for pat in &p.patterns {
        regex::bytes::Regex::new(pat).map_err(|e| {
            format!(
                "{}: invalid pattern '{pat}': {}",
                path.display(),
                last_line(&e.to_string())
            )
        })?;
    }
    if p.name.trim().is_empty() {
        p.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    p.source = path.display().to_string();
    Ok(p)
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

/// User profiles (valid ones) and the errors of the invalid ones, in file-name order.
pub fn user() -> (Vec<Profile>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let Some(dir) = user_dir() else {
        return (ok, bad);
    };
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return (ok, bad);
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for p in paths {
        match load_file(&p) {
            Ok(p) => ok.push(p),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}

/// All profiles: user profiles first (a user profile replaces a built-in one of the same name).
pub fn all() -> (Vec<Profile>, Vec<String>) {
    loaded().clone()
}

/// The profiles, without copying them: for `ee run`'s lookup and recording.
pub fn list() -> &'static [Profile] {
    &loaded().0
}

fn loaded() -> &'static (Vec<Profile>, Vec<String>) {
    // `ee run` asks at its lookup and again when its run is recorded: read the directory once.
    static ALL: std::sync::OnceLock<(Vec<Profile>, Vec<String>)> = std::sync::OnceLock::new();
    ALL.get_or_init(load)
}

fn load() -> (Vec<Profile>, Vec<String>) {
    let (mut list, bad) = user();
    for b in builtin() {
        if !list.iter().any(|u| u.name == b.name) {
            list.push(b);
        }
    }
    (list, bad)
}

/// Program name without directory and version suffix (`/usr/bin/python3.11` → `python`).
fn base_program(p: &str) -> String {
    let base = crate::context::basename(p);
    let trimmed = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let trimmed = if trimmed.is_empty() { base } else { trimmed };
    trimmed.to_string()
}

/// The program and its first words that are not options (`cargo +nightly test -q` → cargo test).
fn words(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = argv.first() {
        out.push(base_program(p));
    }
    out.extend(
        argv.iter()
            .skip(1)
            .filter(|w| !w.starts_with('-') && !w.starts_with('+'))
            .take(3)
            .cloned(),
    );
    out
}

impl Profile {
    /// Does this profile fit the command?
    pub fn fits(&self, argv: &[String]) -> bool {
        self.fits_words(&command_words(argv))
    }

    /// [`Profile::fits`] for the command's words as [`command_words`] gives them.
    fn fits_words(&self, have: &[String]) -> bool {
        self.commands.iter().any(|c| {
            let want: Vec<String> = words(&shell_words::split(c).unwrap_or_default());
            !want.is_empty() && have.len() >= want.len() && have[..want.len()] == want[..]
        })
    }
}

/// The first profile that fits the command, if any.
pub fn for_command(profiles: &[Profile], argv: &[String]) -> Option<Profile> {
    let have = command_words(argv);
    profiles.iter().find(|p| p.fits_words(&have)).cloned()
}

/// The words a profile's commands are compared with: through the same wrappers the command key
/// looks through (`env VAR=1 cargo test`).
fn command_words(argv: &[String]) -> Vec<String> {
    words(crate::context::unwrapped(argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        shell_words::split(s).unwrap()
    }

    #[test]
    fn builtin_patterns_compile() {
        let b = builtin();
        let names: Vec<&str> = b.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), 14, "{names:?}");
        assert_eq!(names[..3], ["pytest", "cargo-test", "cargo-build"]);
        // Only pytest prints its failure summary when interrupted.
        let interrupt: Vec<&str> = b
            .iter()
            .filter(|p| p.interrupt)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(interrupt, ["pytest"]);
        for p in b {
            for pat in &p.patterns {
                regex::bytes::Regex::new(pat).unwrap();
            }
        }
    }

    #[test]
    fn fitting() {
        let b = builtin();
        let name = |s: &str| for_command(&b, &argv(s)).map(|p| p.name);
        assert_eq!(name("pytest -x tests").as_deref(), Some("pytest"));
        assert_eq!(
            name("/usr/bin/python3.11 -m pytest").as_deref(),
            Some("pytest")
        );
        assert_eq!(
            name("cargo +nightly test -- --test-threads=1").as_deref(),
            Some("cargo-test")
        );
        assert_eq!(
            name("cargo clippy --all-targets").as_deref(),
            Some("cargo-build")
        );
        assert_eq!(name("npm run test").as_deref(), Some("jest"));
        assert_eq!(name("./gradlew test").as_deref(), Some("gradle"));
        assert_eq!(name("python3 script.py"), None);
        assert_eq!(
            name("env RUST_LOG=1 cargo test").as_deref(),
            Some("cargo-test")
        );
        assert_eq!(name("FOO=1 nice -n 5 pytest -q").as_deref(), Some("pytest"));
        assert_eq!(name("cargo fmt"), None);
    }

    #[test]
    fn pytest_profile_lines() {
        let b = builtin();
        let p = b.iter().find(|p| p.name == "pytest").unwrap();
        let any = |l: &str| {
            p.patterns
                .iter()
                .any(|pat| regex::Regex::new(pat).unwrap().is_match(l))
        };
        assert!(any(
            "test_a.py F.                                    [ 33%]"
        ));
        assert!(any(
            "tests/test_a.py ..F                             [ 33%]"
        ));
        assert!(any("FAILED test_a.py::test_one - assert 0"));
        assert!(!any(
            "test_a.py ...                                   [ 33%]"
        ));
        assert!(!any(
            "test_b.py sx.                                   [ 66%]"
        ));
        assert!(!any("3 passed in 0.5s"));
    }
}
