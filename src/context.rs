//! Run context used for grouping: the normalized command key, program, project root and type
//! (from marker files in the working directory and its parents), the command identity and the
//! command category.
//!
//! Command key: the program's base name plus its subcommand (`cargo test`, `npm run build`,
//! `go test`, `pytest`). Leading `NAME=value` assignments and wrappers (`env`, `sudo`, `time`,
//! `nice`, `nohup`, `npx`, `uv run`, `poetry run`, `python -m`, `sh -c '...'`) are looked through;
//! options, paths, numbers and `NAME=value` words are skipped when looking for the subcommand.
//!
//! Project root: the nearest directory, from the working directory upwards (stopping below `$HOME`
//! unless the working directory is `$HOME` itself), holding a VCS directory (`.git`, `.hg`,
//! `.svn`, `.jj`, `.bzr`, `_darcs`, `.fslckout`) or one of the marker files below; without one,
//! the working directory itself. Each directory is probed with one `stat` per name (never
//! listed). The project type is decided by the root's marker files:
//!
//! | type | markers |
//! |---|---|
//! | rust | `Cargo.toml` |
//! | go | `go.mod` |
//! | nodejs | `package.json` |
//! | python | `pyproject.toml`, `setup.py`, `setup.cfg`, `requirements.txt`, `Pipfile` |
//! | java | `pom.xml`, `build.gradle`, `build.gradle.kts` |
//! | terraform | `main.tf`, `versions.tf`, `variables.tf`, `providers.tf`, `terraform.tf`, `backend.tf`, `outputs.tf` |
//! | c/c++ | `CMakeLists.txt` |
//! | container | `Dockerfile`, `Containerfile`, `docker-compose.yml`/`.yaml`, `compose.yml`/`.yaml` |
//! | c/c++ | `Makefile` |
//!
//! (earlier rows win when one directory holds several markers), else `unknown`.
//!
//! Command identity (see [`identity`]): what changes a run's runtime, built from the redacted
//! words: the command key plus the script of an interpreter (`python3 x.py`) and the selection
//! arguments of a test runner (paths, `-k expr`, filters, `--opt=value`), without plain flags
//! (`-q`, `-v`). Learned knowledge that decides (timeouts, applied patterns) is kept per project
//! root and identity.
//!
//! Command category (see [`category`] for the full table): test, build, deploy, lint, install,
//! run, other.

use std::path::{Path, PathBuf};

/// Where and what a run is, for grouping its telemetry and looking up what was learned.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The command words (unredacted; redact before storing).
    pub argv: Vec<String>,
    /// Normalized command key: program + subcommand (`cargo test`, `npm run build`, `pytest`).
    pub key: String,
    /// The program's base name.
    pub program: String,
    pub project_type: &'static str,
    pub category: &'static str,
    pub cwd: PathBuf,
    /// The project root (see the module doc).
    pub root: PathBuf,
    /// The command identity, from the redacted words (see [`identity`]).
    pub identity: Identity,
}

impl RunContext {
    pub fn new(argv: &[String], cwd: &Path) -> RunContext {
        // The key and identity are stored and exported: they are taken from redacted words, as
        // when the run is recorded, so they never hold a secret value (`curl -u admin:pw`). The
        // key from the regex-free variant (cheap at every start), the identity from the stored
        // words (`Entry::context`), so both agree with what recording computes.
        let redacted = crate::redact::redact_argv(argv);
        let key = command_key(&crate::redact::redact_argv_for_key(argv));
        let proj = project(cwd);
        RunContext {
            argv: argv.to_vec(),
            program: program(argv),
            category: category(&key),
            project_type: proj.project_type,
            identity: identity(&redacted),
            key,
            cwd: cwd.to_path_buf(),
            root: proj.root,
        }
    }
}

/// What a command runs, as far as its runtime is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `pytest tests/test_a.py -k slow`, `python3 quick.py`, `cargo test some_filter`.
    pub text: String,
    /// A bare interpreter or REPL (`python3`, `node -i`: nothing to run) or a debugger session
    /// (`pytest --pdb`, `--trace`): ee never applies a learned timeout or learned stop to it.
    pub bare: bool,
}

/// Interpreters: their identity is the script (or `-c`/`-e` code) they run; without one, a REPL.
fn is_interpreter(prog: &str) -> bool {
    matches!(
        prog,
        "python"
            | "python2"
            | "python3"
            | "pypy"
            | "pypy3"
            | "node"
            | "nodejs"
            | "deno"
            | "bun"
            | "ruby"
            | "irb"
            | "perl"
            | "php"
            | "lua"
            | "R"
            | "Rscript"
            | "julia"
            | "ghci"
            | "sh"
            | "bash"
            | "zsh"
            | "dash"
            | "ksh"
            | "fish"
    )
}

/// Options kept in an identity although they take no `=value`: they select what runs.
fn keeps_flag(w: &str) -> bool {
    matches!(
        w,
        "-c" | "-e"
            | "-m"
            | "-k"
            | "-t"
            | "-p"
            | "-F"
            | "--package"
            | "--test"
            | "--bin"
            | "--example"
            | "--bench"
            | "--lib"
            | "--bins"
            | "--tests"
            | "--doc"
            | "--all-targets"
            | "--workspace"
            | "--all"
            | "--features"
            | "--all-features"
            | "--release"
            | "--exact"
            | "--ignored"
            | "--include-ignored"
            | "--deselect"
            | "--ignore"
            | "--lf"
            | "--last-failed"
            | "--ff"
            | "-run"
            | "-bench"
            | "--testNamePattern"
            | "--runTestsByPath"
    )
}

/// The command identity of (redacted) command words. Also used to compare what two runs ran.
pub fn identity(argv: &[String]) -> Identity {
    let (key, rest) = key_and_rest(argv, 0);
    if key.is_empty() {
        return Identity::default();
    }
    let mut subs: std::collections::VecDeque<&str> = key.split(' ').skip(1).collect();
    let mut words: Vec<&str> = Vec::new();
    let mut after_dashdash = false;
    for w in &rest {
        let w = w.as_str();
        if let Some(s) = subs.front() {
            if !w.starts_with('-') && w == *s {
                subs.pop_front();
                continue;
            }
        }
        if w == "--" {
            after_dashdash = true;
            words.push(w);
            continue;
        }
        let flag = w.starts_with('-') || (w.starts_with('+') && !after_dashdash);
        if flag && !w.contains('=') && !keeps_flag(w) {
            continue;
        }
        words.push(w);
    }
    while words.last() == Some(&"--") {
        words.pop();
    }
    let prog = key.split(' ').next().unwrap_or("");
    let debugger = rest.iter().any(|w| {
        matches!(
            w.as_str(),
            "--pdb" | "--trace" | "--inspect-brk" | "--inspect"
        ) || w.starts_with("--pdbcls")
            || w.starts_with("--inspect-brk=")
    });
    let bare = debugger
        || (is_interpreter(prog)
            && !key.contains(' ')
            && !words.iter().any(|w| !w.starts_with('-') || keeps_flag(w)));
    let mut text = key.clone();
    for w in words {
        text.push(' ');
        text.push_str(w);
    }
    Identity { text, bare }
}

/// The command words with leading `NAME=value` assignments and wrappers (`env -i`, `sudo -E`,
/// `nice -n 5`, `time`) and their options skipped: what the profiles are fitted to.
pub fn unwrapped(argv: &[String]) -> &[String] {
    &argv[skip_wrappers(argv)..]
}

fn skip_wrappers(argv: &[String]) -> usize {
    let mut i = 0;
    while i < argv.len() {
        let w = &argv[i];
        if is_assignment(w) {
            i += 1;
            continue;
        }
        let p = norm_program(w);
        if is_wrapper(&p) {
            i += 1;
            while i < argv.len()
                && (argv[i].starts_with('-')
                    || is_assignment(&argv[i])
                    || argv[i].parse::<i64>().is_ok())
            {
                i += 1;
            }
            continue;
        }
        break;
    }
    i
}

/// Every project type [`project`] finds.
pub const PROJECT_TYPES: &[&str] = &[
    "python",
    "nodejs",
    "rust",
    "go",
    "java",
    "container",
    "terraform",
    "c/c++",
    "unknown",
];

/// Every category [`category`] returns.
pub const CATEGORIES: &[&str] = &["test", "build", "deploy", "lint", "install", "run", "other"];

/// The `&'static` spelling of a project type name (`unknown` when it is not one).
pub fn project_type_static(s: &str) -> &'static str {
    PROJECT_TYPES
        .iter()
        .find(|t| **t == s)
        .copied()
        .unwrap_or("unknown")
}

/// The `&'static` spelling of a category name (`other` when it is not one).
pub fn category_static(s: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|t| **t == s)
        .copied()
        .unwrap_or("other")
}

/// The program's base name (`/usr/bin/python3` → `python3`), or empty.
pub fn program(argv: &[String]) -> String {
    argv.first()
        .map(|p| basename(p).to_string())
        .unwrap_or_default()
}

/// Shells whose `-c SCRIPT` the command key looks through (adding one would change existing
/// keys; redaction looks through a few more, see `redact::is_shell`).
pub fn is_shell(prog: &str) -> bool {
    matches!(prog, "sh" | "bash" | "zsh" | "dash" | "fish")
}

/// A path's last component (`/usr/bin/python3` → `python3`; `dir/` → empty).
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A word of the form `NAME=value` with an identifier NAME.
pub(crate) fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// A word that can be a subcommand: starts with a letter, then letters, digits, `-_:`.
fn is_word(w: &str) -> bool {
    w.len() <= 40
        && w.starts_with(|c: char| c.is_ascii_alphabetic())
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
}

/// Programs whose option takes the next word as its value, for the options commonly put before
/// the subcommand (`git -C dir status`, `make -j 8 test`, `docker --context x build`).
fn option_takes_value(prog: &str, opt: &str) -> bool {
    match prog {
        "git" => matches!(opt, "-C" | "-c" | "--git-dir" | "--work-tree"),
        "make" | "gmake" => matches!(opt, "-j" | "-C" | "-f" | "-l" | "--file" | "--directory"),
        "docker" | "podman" => matches!(opt, "--context" | "-H" | "--host" | "--config" | "-c"),
        "kubectl" => matches!(opt, "-n" | "--namespace" | "--context" | "--kubeconfig"),
        "npm" | "yarn" | "pnpm" => matches!(opt, "--prefix" | "-C" | "--cwd" | "--filter" | "-w"),
        "cargo" => matches!(opt, "-C" | "--config" | "-Z"),
        "go" => matches!(opt, "-C"),
        "terraform" => opt.starts_with("-chdir") && !opt.contains('='),
        "mvn" | "mvnw" => matches!(opt, "-f" | "-P" | "-pl" | "-D"),
        "gradle" | "gradlew" => matches!(opt, "-p" | "-b"),
        _ => false,
    }
}

/// Programs whose key keeps a third word (`npm run build`, `docker compose up`).
fn keeps_third(prog: &str, sub: &str) -> bool {
    matches!(
        (prog, sub),
        ("npm" | "yarn" | "pnpm" | "bun", "run")
            | ("docker" | "podman", "compose")
            | ("go", "mod")
            | ("cargo", "nextest")
            | ("python" | "python3", "manage.py")
            | ("kubectl", "rollout")
            | ("gcloud", _)
            | ("aws", _)
            | ("az", _)
    )
}

/// Programs that only wrap the real command (skipping their own options).
fn is_wrapper(prog: &str) -> bool {
    runs_next_word(prog) || matches!(prog, "bunx" | "pnpx")
}

/// Programs that run the command after them: the members both the command key (here) and
/// redaction (`redact::is_wrapper`) treat as wrappers, kept in one place.
pub(crate) fn runs_next_word(prog: &str) -> bool {
    matches!(
        prog,
        "env"
            | "sudo"
            | "doas"
            | "time"
            | "nice"
            | "nohup"
            | "ionice"
            | "command"
            | "exec"
            | "npx"
            | "stdbuf"
            | "caffeinate"
            | "chronic"
            | "unbuffer"
    )
}

fn norm_program(p: &str) -> String {
    let base = basename(p);
    // python3.12 → python3; ./gradlew → gradlew.
    if let Some(rest) = base.strip_prefix("python") {
        if rest.is_empty() || rest == "3" {
            return base.to_string();
        }
        if rest.starts_with('3') && rest[1..].starts_with('.') {
            return "python3".to_string();
        }
    }
    base.to_string()
}

/// Normalized command key: program + subcommand (`cargo test`, `npm run build`, `pytest`).
pub fn command_key(argv: &[String]) -> String {
    command_key_depth(argv, 0)
}

fn command_key_depth(argv: &[String], depth: u8) -> String {
    key_and_rest(argv, depth).0
}

/// The command key and the words after the program of the command it names (after looking
/// through wrappers, `sh -c`, `python -m`, `uv run` and the like).
fn key_and_rest(argv: &[String], depth: u8) -> (String, Vec<String>) {
    let i = skip_wrappers(argv);
    let Some(first) = argv.get(i) else {
        return (String::new(), Vec::new());
    };
    let prog = norm_program(first);
    let rest = &argv[i + 1..];

    // Shells running a one-line script: key of the script's command.
    if is_shell(&prog) && depth < 2 {
        if let Some(pos) = rest
            .iter()
            .position(|a| a == "-c" || a == "-lc" || a == "-ec")
        {
            if let Some(script) = rest.get(pos + 1) {
                if let Ok(words) = shell_words::split(script) {
                    let end = words
                        .iter()
                        .position(|w| matches!(w.as_str(), "&&" | "||" | ";" | "|"))
                        .unwrap_or(words.len());
                    let (k, r) = key_and_rest(&words[..end], depth + 1);
                    if !k.is_empty() {
                        // The whole script decides what runs.
                        let mut r = r;
                        if end < words.len() {
                            r.push("-c".into());
                            r.push(script.clone());
                        }
                        return (k, r);
                    }
                }
            }
        }
        return (prog, rest.to_vec());
    }
    // `python -m pytest` → `pytest`; `python -m pip install` → `pip install`.
    if prog.starts_with("python") {
        if let Some(pos) = rest.iter().position(|a| a == "-m") {
            if pos + 1 < rest.len() && depth < 2 {
                return key_and_rest(&rest[pos + 1..], depth + 1);
            }
        }
    }
    // `uv run X`, `poetry run X`, `pipenv run X`, `bundle exec X`, `pdm run X` → key of X.
    if matches!(
        (prog.as_str(), rest.first().map(String::as_str)),
        (
            "uv" | "poetry" | "pipenv" | "pdm" | "hatch" | "rye",
            Some("run")
        ) | ("bundle", Some("exec"))
    ) && rest.len() > 1
        && depth < 2
    {
        return key_and_rest(&rest[1..], depth + 1);
    }

    let subs = subcommand_words(&prog, rest);
    let mut key = prog.clone();
    if let Some(sub) = subs.first() {
        key.push(' ');
        key.push_str(sub);
        if keeps_third(&prog, sub) {
            if let Some(third) = subs.get(1) {
                key.push(' ');
                key.push_str(third);
            }
        }
    }
    (key, rest.to_vec())
}

/// Up to two subcommand-looking words after the program, skipping options and their values.
fn subcommand_words<'a>(prog: &str, rest: &'a [String]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rest.len() && out.len() < 2 {
        let w = rest[i].as_str();
        if w == "--" {
            break;
        }
        if w.starts_with('-') || w.starts_with('+') {
            if option_takes_value(prog, w) {
                i += 1;
            }
            i += 1;
            continue;
        }
        if is_assignment(w) {
            i += 1;
            continue;
        }
        if is_word(w) || (out.is_empty() && prog.starts_with("python") && w == "manage.py") {
            out.push(w);
            i += 1;
            continue;
        }
        // A path, file name or number ends the search.
        break;
    }
    out
}

/// A project: its root directory and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub root: PathBuf,
    pub project_type: &'static str,
}

/// VCS directories that make a directory a project root.
const VCS: &[&str] = &[".git", ".hg", ".svn", ".jj", ".bzr", "_darcs", ".fslckout"];

/// The project of a working directory, found once per process and directory: a run asks at
/// its start (the lookup), on the store's thread (statements warmed) and when it is recorded,
/// and each search costs a hundred `stat` calls up to `/`. The answer of the run's start holds
/// for the whole run.
pub fn project(cwd: &Path) -> Project {
    static LAST: std::sync::Mutex<Option<(PathBuf, Project)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    match &*last {
        Some((dir, p)) if dir == cwd => p.clone(),
        _ => {
            let p = detect(cwd);
            *last = Some((cwd.to_path_buf(), p.clone()));
            p
        }
    }
}

/// The project of a working directory (see the module doc): one `stat` per marker and VCS name
/// per directory, from `cwd` upwards to the first hit.
fn detect(cwd: &Path) -> Project {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut buf = cwd.to_path_buf();
    loop {
        if let Some(t) = probe(&mut buf, MARKERS.iter().map(|(n, t)| (*n, Some(*t))))
            .or_else(|| probe(&mut buf, VCS.iter().map(|n| (*n, None))))
        {
            return Project {
                root: buf,
                project_type: t.unwrap_or("unknown"),
            };
        }
        let at_top = match buf.parent() {
            None => true,
            // Stop below $HOME: a stray marker in the home directory would type everything.
            Some(p) => home.as_deref().is_some_and(|h| p == h),
        };
        if at_top || !buf.pop() {
            return Project {
                root: cwd.to_path_buf(),
                project_type: "unknown",
            };
        }
    }
}

/// The first name (with its value) that exists in the directory `buf`.
fn probe<T>(buf: &mut PathBuf, names: impl Iterator<Item = (&'static str, T)>) -> Option<T> {
    for (name, t) in names {
        buf.push(name);
        let hit = std::fs::symlink_metadata(&*buf).is_ok();
        buf.pop();
        if hit {
            return Some(t);
        }
    }
    None
}

/// Marker files, by rank (lower wins when one directory holds several).
const MARKERS: &[(&str, &str)] = &[
    ("Cargo.toml", "rust"),
    ("go.mod", "go"),
    ("package.json", "nodejs"),
    ("pyproject.toml", "python"),
    ("setup.py", "python"),
    ("setup.cfg", "python"),
    ("requirements.txt", "python"),
    ("Pipfile", "python"),
    ("pom.xml", "java"),
    ("build.gradle", "java"),
    ("build.gradle.kts", "java"),
    ("main.tf", "terraform"),
    ("versions.tf", "terraform"),
    ("variables.tf", "terraform"),
    ("providers.tf", "terraform"),
    ("terraform.tf", "terraform"),
    ("backend.tf", "terraform"),
    ("outputs.tf", "terraform"),
    ("CMakeLists.txt", "c/c++"),
    ("Dockerfile", "container"),
    ("Containerfile", "container"),
    ("docker-compose.yml", "container"),
    ("docker-compose.yaml", "container"),
    ("compose.yml", "container"),
    ("compose.yaml", "container"),
    ("Makefile", "c/c++"),
    ("makefile", "c/c++"),
    ("GNUmakefile", "c/c++"),
];

/// Command category from the command key.
///
/// | category | command keys |
/// |---|---|
/// | test | `pytest`, `py.test`, `tox`, `nox`, `jest`, `vitest`, `mocha`, `ava`, `karma`, `playwright`, `cypress`, `rspec`, `phpunit`, `ctest`, `bats`, `go test`, `cargo test`, `cargo nextest`, `npm/yarn/pnpm/bun test`, `npm run test*`, `make test`/`check`, `mvn test`/`verify`, `gradle test`/`check`, `dotnet test`, `deno test`, `unittest`, `manage.py test` |
/// | build | `make` (no target or `all`/`build`), `cmake`, `ninja`, `meson`, `bazel build`, `cargo build`/`check`/`doc`, `go build`/`generate`, `npm run build*`, `yarn/pnpm build`, `tsc`, `webpack`, `vite build`, `rollup`, `esbuild`, `mvn compile`/`package`, `gradle build`/`assemble`, `docker build`, `gcc`, `clang`, `javac`, `dotnet build`, `rustc` |
/// | deploy | `terraform apply`/`plan`/`destroy`, `tofu`, `pulumi up`, `kubectl apply`/`rollout`, `helm install`/`upgrade`, `ansible-playbook`, `docker push`, `npm/cargo publish`, `twine upload`, `fly deploy`, `vercel`, `netlify deploy`, `serverless deploy`, `*deploy*` |
/// | lint | `cargo clippy`/`fmt`, `eslint`, `prettier`, `flake8`, `ruff`, `pylint`, `mypy`, `black`, `isort`, `shellcheck`, `golangci-lint`, `go vet`/`fmt`, `rubocop`, `hadolint`, `tflint`, `stylelint`, `npm run lint*`, `make lint`, `terraform validate`/`fmt`, `pre-commit` |
/// | install | `pip install`, `npm install`/`ci`/`i`, `yarn`/`yarn install`, `pnpm install`, `cargo install`/`fetch`, `go get`/`go mod download`, `apt`/`apt-get install`, `brew install`, `poetry install`, `uv sync`/`pip`, `bundle install`, `gem install`, `composer install`, `terraform init` |
/// | run | `cargo run`, `go run`, `npm start`, `npm run dev`/`start`/`serve`, `node`, `python`, `deno run`, `flask run`, `uvicorn`, `gunicorn`, `docker run`, `docker compose up`, `make run`, `manage.py runserver` |
/// | other | anything else |
pub fn category(key: &str) -> &'static str {
    let mut it = key.split(' ');
    let prog = it.next().unwrap_or("");
    let sub = it.next().unwrap_or("");
    let third = it.next().unwrap_or("");
    let c = category_of(prog, sub, third);
    if c == "other" {
        if let Some(s) = script_category(prog) {
            return s;
        }
        if prog.contains("deploy") || sub.contains("deploy") {
            return "deploy";
        }
    }
    c
}

/// Programs of one category whatever their arguments.
const CATEGORY_OF_PROGRAM: &[(&str, &[&str])] = &[
    (
        "test",
        &[
            "pytest",
            "py.test",
            "tox",
            "nox",
            "jest",
            "vitest",
            "mocha",
            "ava",
            "karma",
            "playwright",
            "cypress",
            "rspec",
            "phpunit",
            "ctest",
            "bats",
            "unittest",
            "nosetests",
            "prove",
        ],
    ),
    (
        "build",
        &[
            "cmake", "ninja", "meson", "tsc", "webpack", "rollup", "esbuild", "gcc", "g++", "cc",
            "c++", "clang", "clang++", "javac", "rustc", "scons", "msbuild",
        ],
    ),
    (
        "lint",
        &[
            "eslint",
            "prettier",
            "flake8",
            "ruff",
            "pylint",
            "mypy",
            "black",
            "isort",
            "shellcheck",
            "golangci-lint",
            "rubocop",
            "hadolint",
            "tflint",
            "stylelint",
            "pre-commit",
            "rustfmt",
            "clang-format",
            "clang-tidy",
            "yamllint",
            "markdownlint",
            "biome",
            "pyright",
        ],
    ),
    (
        "deploy",
        &["ansible-playbook", "vercel", "ansible", "rsync", "scp"],
    ),
];

/// Subcommands by category: `(category, subcommands)`.
type Subcommands = &'static [(&'static str, &'static [&'static str])];

/// Programs whose second word (subcommand) gives the category: `(programs, subcommands)`; a
/// subcommand not listed is "other" (for the JS package managers and `make`: a script or target
/// name, see [`script_category`]).
const CATEGORY_OF_SUBCOMMAND: &[(&[&str], Subcommands)] = &[
    (
        &["cargo"],
        &[
            ("test", &["test", "nextest", "bench"]),
            ("build", &["build", "check", "doc", "b", "c"]),
            ("lint", &["clippy", "fmt", "audit", "deny"]),
            ("install", &["install", "fetch", "update", "add"]),
            ("run", &["run", "r", "watch"]),
            ("deploy", &["publish"]),
        ],
    ),
    (
        &["go"],
        &[
            ("test", &["test"]),
            ("build", &["build", "generate", "install"]),
            ("lint", &["vet", "fmt"]),
            ("install", &["get", "mod"]),
            ("run", &["run"]),
        ],
    ),
    (
        &["npm", "yarn", "pnpm", "bun"],
        &[
            ("test", &["test", "t"]),
            ("install", &["install", "i", "ci", "add", ""]),
            ("run", &["start"]),
            ("deploy", &["publish"]),
        ],
    ),
    (
        &["deno"],
        &[
            ("test", &["test"]),
            ("lint", &["lint", "fmt", "check"]),
            ("run", &["run", "task"]),
        ],
    ),
    (
        &["make", "gmake"],
        &[
            ("build", &["", "all", "build", "install"]),
            ("test", &["test", "check", "tests"]),
            ("lint", &["lint", "fmt", "format"]),
            ("run", &["run", "serve", "dev"]),
            ("deploy", &["deploy", "release", "publish"]),
        ],
    ),
    (
        &["mvn", "mvnw", "gradle", "gradlew"],
        &[
            ("test", &["test", "verify", "check"]),
            (
                "build",
                &[
                    "compile", "package", "build", "assemble", "jar", "install", "clean",
                ],
            ),
            ("deploy", &["deploy", "publish"]),
            ("run", &["run", "bootRun"]),
        ],
    ),
    (
        &["dotnet"],
        &[
            ("test", &["test"]),
            ("build", &["build", "publish"]),
            ("install", &["restore"]),
            ("run", &["run"]),
            ("lint", &["format"]),
        ],
    ),
    (
        &["bazel", "bazelisk"],
        &[
            ("test", &["test"]),
            ("build", &["build"]),
            ("run", &["run"]),
        ],
    ),
    (
        &["docker", "podman"],
        &[
            ("build", &["build", "buildx"]),
            ("deploy", &["push"]),
            ("run", &["run", "start", "exec"]),
            ("install", &["pull"]),
        ],
    ),
    (
        &["docker-compose"],
        &[("build", &["build"]), ("run", &["up", "run", "start"])],
    ),
    (
        &["terraform", "tofu", "terragrunt"],
        &[
            ("deploy", &["apply", "plan", "destroy", "import"]),
            ("lint", &["validate", "fmt"]),
            ("install", &["init", "get"]),
        ],
    ),
    (
        &[
            "pulumi",
            "cdk",
            "serverless",
            "sls",
            "fly",
            "flyctl",
            "netlify",
            "helm",
            "kubectl",
            "twine",
            "gcloud",
            "eb",
        ],
        &[
            (
                "deploy",
                &[
                    "up", "deploy", "apply", "rollout", "install", "upgrade", "upload", "publish",
                    "destroy", "preview",
                ],
            ),
            ("lint", &["lint", "template"]),
            ("test", &["test"]),
        ],
    ),
    (
        &["pip", "pip3", "pipx", "uv", "poetry", "pipenv", "pdm"],
        &[
            (
                "install",
                &["install", "sync", "add", "lock", "update", "pip"],
            ),
            ("build", &["build"]),
            ("deploy", &["publish"]),
        ],
    ),
    (
        &[
            "apt", "apt-get", "brew", "dnf", "yum", "pacman", "apk", "gem", "bundle", "composer",
            "conda", "mamba", "port", "zypper",
        ],
        &[(
            "install",
            &["install", "add", "update", "upgrade", "sync", ""],
        )],
    ),
];

/// `docker compose` / `podman compose`, by their third word.
const COMPOSE: Subcommands = &[
    ("build", &["build"]),
    ("run", &["up", "run", "start"]),
    ("install", &["pull"]),
    ("deploy", &["push"]),
];

/// Interpreters: running a script is "run", except Django's `manage.py test` and `python -m pip`.
const INTERPRETERS: &[&str] = &[
    "node",
    "python",
    "python3",
    "uvicorn",
    "gunicorn",
    "ruby",
    "java",
    "php",
    "flask",
    "streamlit",
];

fn lookup(table: Subcommands, word: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(_, words)| words.contains(&word))
        .map(|(c, _)| *c)
}

/// The category from the tables above ("other" when none says).
fn category_of(prog: &str, sub: &str, third: &str) -> &'static str {
    if let Some((c, _)) = CATEGORY_OF_PROGRAM.iter().find(|(_, p)| p.contains(&prog)) {
        return c;
    }
    if INTERPRETERS.contains(&prog) {
        return match (sub, third) {
            ("manage.py", "test") => "test",
            ("manage.py", "runserver") => "run",
            ("manage.py", _) => "other",
            ("pip", _) => "install",
            _ => "run",
        };
    }
    let Some((_, subs)) = CATEGORY_OF_SUBCOMMAND
        .iter()
        .find(|(p, _)| p.contains(&prog))
    else {
        return "other";
    };
    let scripts = matches!(prog, "npm" | "yarn" | "pnpm" | "bun" | "make" | "gmake");
    match sub {
        "compose" if matches!(prog, "docker" | "podman") => lookup(COMPOSE, third),
        "run" | "run-script" if matches!(prog, "npm" | "yarn" | "pnpm" | "bun") => {
            script_category(third)
        }
        s => lookup(subs, s).or_else(|| scripts.then(|| script_category(s)).flatten()),
    }
    .unwrap_or("other")
}

/// The category a script or make target name suggests (`test:unit`, `lint`, `build:prod`, `dev`).
fn script_category(s: &str) -> Option<&'static str> {
    let s = s.to_ascii_lowercase();
    if s.starts_with("test") || s.ends_with("test") || s.starts_with("e2e") {
        Some("test")
    } else if s.starts_with("lint") || s.starts_with("format") || s.starts_with("typecheck") {
        Some("lint")
    } else if s.starts_with("build") || s.starts_with("compile") {
        Some("build")
    } else if s.starts_with("deploy") || s.starts_with("release") || s.starts_with("publish") {
        Some("deploy")
    } else if matches!(s.as_str(), "dev" | "start" | "serve" | "preview" | "watch") {
        Some("run")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        command_key(&shell_words::split(s).unwrap())
    }

    #[test]
    fn keys() {
        assert_eq!(key("cargo test --release"), "cargo test");
        assert_eq!(key("cargo +nightly test"), "cargo test");
        assert_eq!(key("/usr/bin/cargo -C sub build"), "cargo build");
        assert_eq!(key("npm run build -- --prod"), "npm run build");
        assert_eq!(key("npm test"), "npm test");
        assert_eq!(key("pytest tests/test_x.py -k foo"), "pytest");
        assert_eq!(key("python3 -m pytest -x"), "pytest");
        assert_eq!(key("python3.12 -m pip install -r req.txt"), "pip install");
        assert_eq!(key("python manage.py test app"), "python manage.py test");
        assert_eq!(key("python script.py arg"), "python");
        assert_eq!(key("go test ./..."), "go test");
        assert_eq!(key("make -j 8 test"), "make test");
        assert_eq!(key("make -j8"), "make");
        assert_eq!(key("FOO=1 BAR=2 make check"), "make check");
        assert_eq!(key("env -i FOO=1 sudo -E cargo build"), "cargo build");
        assert_eq!(key("npx jest --watch"), "jest");
        assert_eq!(key("uv run pytest"), "pytest");
        assert_eq!(key("bash -c 'cargo test && echo ok'"), "cargo test");
        assert_eq!(key("sh -c 'exit 3'"), "exit");
        assert_eq!(key("docker compose up -d"), "docker compose up");
        assert_eq!(key("git -C /tmp status"), "git status");
        assert_eq!(key("./build.sh"), "build.sh");
        assert_eq!(key("terraform -chdir=infra apply"), "terraform apply");
        assert_eq!(key(""), "");
    }

    fn ident(s: &str) -> Identity {
        identity(&shell_words::split(s).unwrap())
    }

    #[test]
    fn identities() {
        let t = |s: &str| ident(s).text;
        assert_eq!(t("pytest -q"), "pytest");
        assert_eq!(
            t("python3 -m pytest -q tests/a.py -k slow"),
            "pytest tests/a.py -k slow"
        );
        assert_eq!(t("cargo test"), "cargo test");
        assert_eq!(t("cargo test some_filter"), "cargo test some_filter");
        assert_eq!(
            t("cargo test --offline -- --test-threads=1"),
            "cargo test -- --test-threads=1"
        );
        assert_eq!(t("env VAR=1 cargo test --"), "cargo test");
        assert_eq!(t("python3 quick.py"), "python3 quick.py");
        assert_eq!(t("python3 slow.py"), "python3 slow.py");
        assert_eq!(t("node x.js"), "node x.js");
        assert_eq!(t("bash x.sh"), "bash x.sh");
        assert!(ident("python3").bare);
        assert!(ident("python3 -i").bare);
        assert!(ident("node").bare);
        assert!(!ident("python3 x.py").bare);
        assert!(!ident("python3 -c 'print(1)'").bare);
        assert!(!ident("pytest").bare);
        assert!(ident("pytest --pdb tests/").bare);
        assert!(ident("python3 -m pytest --trace").bare);
        assert_ne!(t("pytest tests/a.py"), t("pytest tests/b.py"));
        assert_ne!(t("make"), t("make -C optional"));
    }

    #[test]
    fn roots() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("proj");
        let sub = root.join("src/deep");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        let p = detect(&sub);
        assert_eq!(
            (p.root.as_path(), p.project_type),
            (root.as_path(), "unknown")
        );
        std::fs::write(root.join("src/pyproject.toml"), "").unwrap();
        let p = detect(&sub);
        assert_eq!((p.root, p.project_type), (root.join("src"), "python"));
        let other = t.path().join("loose");
        std::fs::create_dir_all(&other).unwrap();
        assert_eq!(detect(&other).root, other);
    }

    #[test]
    fn categories() {
        for (k, c) in [
            ("pytest", "test"),
            ("cargo test", "test"),
            ("go test", "test"),
            ("jest", "test"),
            ("npm run test:unit", "test"),
            ("npm run build", "build"),
            ("cargo build", "build"),
            ("make", "build"),
            ("terraform apply", "deploy"),
            ("kubectl apply", "deploy"),
            ("cargo clippy", "lint"),
            ("ruff check", "lint"),
            ("npm install", "install"),
            ("pip install", "install"),
            ("cargo run", "run"),
            ("python", "run"),
            ("docker compose up", "run"),
            ("deploy.sh", "deploy"),
            ("ls", "other"),
            ("", "other"),
        ] {
            assert_eq!(category(k), c, "{k}");
        }
    }

    #[test]
    fn project_types() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let sub = root.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(detect(&sub).project_type, "unknown");
        std::fs::write(root.join("Makefile"), "").unwrap();
        assert_eq!(detect(&sub).project_type, "c/c++");
        std::fs::write(root.join("a/main.tf"), "").unwrap();
        assert_eq!(detect(&sub).project_type, "terraform");
        std::fs::write(sub.join("Dockerfile"), "").unwrap();
        assert_eq!(detect(&sub).project_type, "container");
        std::fs::write(sub.join("Cargo.toml"), "").unwrap();
        assert_eq!(detect(&sub).project_type, "rust");
        assert_eq!(detect(root).project_type, "c/c++");
    }
}
