//! `ee telemetry export-learned` / `import-learned`: what one machine learned, carried to another
//! (a CI runner, a colleague) as a JSON document, merged by adding counts.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            (
                "fail.sh",
                "#!/bin/sh\necho 'FAILED test_x'\nsleep ${SLEEP:-0.1}\nexit 1\n",
            ),
            ("ok.sh", "#!/bin/sh\necho ok\n"),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        Machine { dir }
    }

    fn ee(&self, args: &[&str]) -> Output {
        Command::new(assert_cmd::cargo::cargo_bin("ee"))
            .args(args)
            .current_dir(self.dir.path())
            .env("EARLYEXIT_DB", self.dir.path().join("t.db"))
            .env("EARLYEXIT_CONFIG_DIR", self.dir.path().join("config"))
            .env_remove("EARLYEXIT_OPTIONS")
            .env_remove("EARLYEXIT_NO_TELEMETRY")
            .output()
            .unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn suggest(m: &Machine) -> serde_json::Value {
    let o = m.ee(&["suggest", "--json", "--", "./fail.sh"]);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

/// The candidate patterns with caught failures (issue 10: knowledge from elsewhere is a
/// candidate, applied only once confirmed in the project itself).
fn applied(v: &serde_json::Value) -> Vec<String> {
    v["ranked"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["tp"].as_u64().unwrap_or(0) > 0 && r["scope"] == "cmd:fail.sh")
                .map(|r| r["pattern"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn tp_of(doc: &serde_json::Value, scope: &str, pattern: &str) -> i64 {
    doc["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["scope"] == scope && p["pattern"] == pattern)
        .map_or(0, |p| p["tp"].as_i64().unwrap())
}

#[test]
fn learned_knowledge_moves_to_another_machine() {
    let a = Machine::new();
    for _ in 0..5 {
        let o = a.ee(&["run", "--", "./fail.sh", "--token=SECRET123"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    }
    for _ in 0..3 {
        assert_eq!(a.ee(&["run", "--", "./ok.sh"]).status.code(), Some(0));
    }
    let learned = applied(&suggest(&a));
    assert!(
        !learned.is_empty(),
        "machine A learned nothing: {}",
        suggest(&a)
    );

    let out = a.ee(&[
        "telemetry",
        "export-learned",
        "-o",
        a.path("learned.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc_text = std::fs::read_to_string(a.path("learned.json")).unwrap();
    assert!(
        !doc_text.contains("SECRET123"),
        "no command lines in the document"
    );
    assert!(
        !doc_text.contains(a.dir.path().to_str().unwrap()),
        "no paths in the document"
    );
    let doc: serde_json::Value = serde_json::from_str(&doc_text).unwrap();
    assert_eq!(doc["format"], "earlyexit-learned");
    // The same document on stdout.
    let o = a.ee(&["telemetry", "export-learned"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(),
        doc
    );

    // Machine B knows nothing, then imports.
    let b = Machine::new();
    assert!(applied(&suggest(&b)).iter().all(|p| !learned.contains(p)));
    std::fs::copy(a.path("learned.json"), b.path("learned.json")).unwrap();
    let o = b.ee(&["telemetry", "import-learned", "learned.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).starts_with("imported "), "{}", text(&o));
    assert_eq!(applied(&suggest(&b)), learned);
    // As candidates only: watched in shadow on B until confirmed in B's own project, so B's
    // failing run ends by itself (issue 10).
    let v = suggest(&b);
    assert!(
        v["ranked"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["applied"] == false && r["state"] == "shadow"),
        "{v}"
    );
    let t = Instant::now();
    let o = Command::new(assert_cmd::cargo::cargo_bin("ee"))
        .args(["run", "--", "./fail.sh"])
        .current_dir(b.dir.path())
        .env("EARLYEXIT_DB", b.path("t.db"))
        .env("EARLYEXIT_CONFIG_DIR", b.path("config"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!text(&o).contains("ee: stopped"), "{}", text(&o));
    assert!(t.elapsed() < Duration::from_secs(10));

    // Importing the same document again is refused; --force merges (adds) the counts again.
    let before = tp_of(&doc, "cmd:fail.sh", &learned[0]);
    assert!(before > 0);
    let o = b.ee(&["telemetry", "import-learned", "learned.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("already imported"), "{}", text(&o));
    let o = b.ee(&["telemetry", "import-learned", "--force", "learned.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let merged: serde_json::Value =
        serde_json::from_slice(&b.ee(&["telemetry", "export-learned"]).stdout).unwrap();
    // A's counts twice, plus B's own failed run (which ended by itself).
    assert_eq!(tp_of(&merged, "cmd:fail.sh", &learned[0]), 2 * before + 1);
}

#[test]
fn import_rejects_what_is_not_a_document() {
    let m = Machine::new();
    for (name, body) in [
        ("empty.json", ""),
        (
            "other.json",
            r#"{"format":"something-else","version":1,"scopes":[],"patterns":[]}"#,
        ),
        (
            "bad.json",
            r#"{"format":"earlyexit-learned","version":1,"scopes":[],
                "patterns":[{"scope":"cmd:x","pattern":"(","source":"user","tp":1,"fp":0,"fn":0,"uses":1}]}"#,
        ),
    ] {
        std::fs::write(m.path(name), body).unwrap();
        let o = m.ee(&["telemetry", "import-learned", name]);
        assert_eq!(o.status.code(), Some(3), "{name}: {}", text(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).lines().count(),
            1,
            "{}",
            text(&o)
        );
    }
    let o = m.ee(&["telemetry", "import-learned", "missing.json"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("missing.json"), "{}", text(&o));
}
