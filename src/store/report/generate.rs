//! `ee telemetry generate`: synthetic executions that look like a developer's history, for
//! benchmarks.

use super::round;
use crate::store::db::{now_ms, Recorder, Store, StoreError};
use crate::store::entry::Entry;

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Insert `count` synthetic executions that look like a developer's history (no match events),
/// spread over the last 300 days, in batches of 10,000 per transaction. For benchmarks.
pub fn generate(
    store: &mut Store,
    rec: Recorder,
    count: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ count);
    let now = now_ms();
    let span = 300 * 86_400_000i64;
    let mut done = 0u64;
    while done < count {
        let batch = (count - done).min(10_000);
        let tx = store.write_tx()?;
        for i in 0..batch {
            let n = done + i;
            let started_ms =
                now - span + (span as f64 * (n as f64 + 1.0) / (count as f64 + 1.0)) as i64;
            rec(&tx, &synthetic_entry(&mut rng, started_ms))?;
        }
        tx.commit()?;
        done += batch;
        progress(done);
    }
    Ok(done)
}

/// A stop reason drawn from [`REASONS`] by weight.
fn pick_reason(rng: &mut Rng) -> &'static str {
    let weight: u64 = REASONS.iter().map(|r| r.1).sum();
    let mut pick = rng.below(weight);
    for (r, w) in REASONS {
        if pick < *w {
            return r;
        }
        pick -= w;
    }
    "completed"
}

/// One synthetic execution started at `started_ms`.
fn synthetic_entry(rng: &mut Rng, started_ms: i64) -> Entry {
    let (cmd, cwd, ptype, mean) = COMMANDS[rng.below(COMMANDS.len() as u64) as usize];
    let pattern = PATTERNS[rng.below(PATTERNS.len() as u64) as usize];
    let mut reason = pick_reason(rng);
    if pattern.is_none() && matches!(reason, "match" | "no_match" | "error_match") {
        reason = "completed";
    }
    let early = !matches!(reason, "completed" | "no_match");
    let factor = if early {
        0.1 + 0.4 * rng.unit()
    } else {
        0.7 + 0.6 * rng.unit()
    };
    let total = mean * factor;
    let matched = matches!(reason, "match" | "error_match" | "success_match");
    let argv = shell_words::split(cmd).unwrap_or_default();
    let key = crate::context::command_key(&argv);
    Entry {
        uid: String::new(),
        started_ms,
        mode: if pattern.is_some() { "command" } else { "run" }.to_string(),
        command: cmd.to_string(),
        program: crate::context::program(&argv),
        category: crate::context::category(&key).to_string(),
        key,
        argv,
        cwd: cwd.to_string(),
        project_type: ptype.to_string(),
        root: cwd.to_string(),
        pattern: pattern.map(str::to_string),
        success_patterns: Vec::new(),
        error_patterns: Vec::new(),
        exclude_patterns: Vec::new(),
        flags: String::new(),
        pattern_learned: false,
        timeout_s: (rng.below(4) == 0).then_some(300.0),
        idle_timeout_s: None,
        first_output_timeout_s: None,
        delay_exit_s: 10.0,
        timeout_learned: false,
        exit_code: match reason {
            "completed" | "no_match" | "success_match" => 0,
            "match" | "error_match" => 1,
            "interrupted" => 130,
            "output_closed" => 141,
            _ => 124,
        },
        child_exit: (!early).then_some(0),
        child_signal: early.then_some(15),
        reason: reason.to_string(),
        signal: (reason == "interrupted").then_some(2),
        total_s: round(total, 3),
        first_output_s: Some(round(0.05 + rng.unit(), 3)),
        first_match_s: matched.then(|| round(total * 0.9, 3)),
        match_count: if matched { 1 + rng.below(3) } else { 0 },
        stdout_lines: rng.below(2000),
        stdout_bytes: rng.below(200_000),
        stderr_lines: rng.below(100),
        stderr_bytes: rng.below(8_000),
        stopped_early: early,
        detached: false,
        events: Vec::new(),
    }
}

/// Command, directory, project type and mean duration in seconds.
const COMMANDS: &[(&str, &str, &str, f64)] = &[
    ("cargo test --release", "/home/dev/src/engine", "rust", 40.0),
    ("cargo build", "/home/dev/src/engine", "rust", 25.0),
    (
        "cargo clippy --all-targets",
        "/home/dev/src/engine",
        "rust",
        12.0,
    ),
    ("npm run build", "/home/dev/src/webapp", "nodejs", 30.0),
    ("npm test", "/home/dev/src/webapp", "nodejs", 20.0),
    (
        "npx jest --ci",
        "/home/dev/src/webapp/packages/ui",
        "nodejs",
        18.0,
    ),
    (
        "pytest -x tests/",
        "/home/dev/src/analytics",
        "python",
        35.0,
    ),
    (
        "python3 -m pytest -q",
        "/home/dev/src/analytics",
        "python",
        35.0,
    ),
    (
        "pip install -r requirements.txt",
        "/home/dev/src/analytics",
        "python",
        50.0,
    ),
    ("go test ./...", "/home/dev/src/gateway", "go", 22.0),
    ("go build ./cmd/gateway", "/home/dev/src/gateway", "go", 9.0),
    ("make -j8", "/home/dev/src/firmware", "c/c++", 60.0),
    ("make test", "/home/dev/src/firmware", "c/c++", 45.0),
    ("terraform plan", "/home/dev/infra/prod", "terraform", 25.0),
    (
        "terraform apply -auto-approve",
        "/home/dev/infra/prod",
        "terraform",
        120.0,
    ),
    (
        "docker build -t app .",
        "/home/dev/src/webapp",
        "nodejs",
        90.0,
    ),
    (
        "kubectl rollout status deploy/app",
        "/home/dev/infra/k8s",
        "unknown",
        45.0,
    ),
    ("mvn -q test", "/home/dev/src/billing", "java", 80.0),
    (
        "./scripts/deploy.sh staging",
        "/home/dev/src/webapp",
        "nodejs",
        150.0,
    ),
    ("ruff check .", "/home/dev/src/analytics", "python", 1.5),
];
/// Patterns the runs used (`None`: a plain `ee run`).
const PATTERNS: &[Option<&str>] = &[
    None,
    None,
    Some("error|FAILED"),
    Some("(?i)error"),
    Some("panicked at|error\\["),
    Some("FAIL|Error:"),
    Some("Traceback|ERROR"),
    Some("npm ERR!"),
    Some("Error:"),
    Some("BUILD FAILURE"),
    Some("listening on"),
];
/// Stop reasons and their weights.
const REASONS: &[(&str, u64)] = &[
    ("completed", 45),
    ("no_match", 20),
    ("match", 8),
    ("error_match", 12),
    ("success_match", 4),
    ("timeout", 4),
    ("idle_timeout", 2),
    ("stuck", 1),
    ("interrupted", 3),
    ("output_closed", 1),
];
