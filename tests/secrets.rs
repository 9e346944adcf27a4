//! Secrets and hostile input (issue 11 items 9–13, issue 12's redaction bullet): a corpus of
//! secret forms, in command lines and in output, never reaches the database, the spool,
//! `ee telemetry export` or `ee telemetry export-learned`; `EARLYEXIT_OPTIONS` cannot add or
//! replace the command; `-B` is bounded.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

mod common;

/// An isolated environment (tests/common) with a directory of fake programs on PATH.
struct Env {
    env: common::Isolated,
}

impl Env {
    fn new() -> Env {
        Env {
            env: common::Isolated::new().bin_dir("bin"),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.env.p(name)
    }
    fn db(&self) -> PathBuf {
        self.env.db()
    }
    fn cmd(&self) -> Command {
        self.env.ee()
    }
    fn ee(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }
    /// A fake program named `name` on PATH that prints the file `out/<name>` and fails.
    fn fake(&self, name: &str) {
        let p = self.path("bin").join(name);
        if !p.exists() {
            std::fs::write(
                &p,
                format!(
                    "#!/bin/sh\ncat '{}/out/{name}' 2>/dev/null\nexit 1\n",
                    self.env.path().display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    fn output_of(&self, name: &str, lines: &[&str]) {
        std::fs::create_dir_all(self.path("out")).unwrap();
        std::fs::write(self.path("out").join(name), lines.join("\n") + "\n").unwrap();
    }
    /// Every byte of the database files (main, WAL, journal, spool) as text.
    fn db_bytes(&self) -> String {
        let mut all = Vec::new();
        for e in std::fs::read_dir(self.env.path()).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("telemetry.db") {
                all.extend(std::fs::read(e.path()).unwrap_or_default());
            }
        }
        assert!(
            !all.is_empty(),
            "no database files in {:?}",
            self.env.path()
        );
        String::from_utf8_lossy(&all).into_owned()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A secret form: the command line (its first word a fake program), what it prints, and the
/// secret values that must not be stored anywhere.
struct Form {
    argv: &'static [&'static str],
    lines: &'static [&'static str],
    secrets: &'static [&'static str],
}

const NPM: &str = "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9xAMPLEKEY";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dQw4w9WgXcQdQw4w9WgXcQ";

const CORPUS: &[Form] = &[
    // Command lines: per-program secret options.
    Form { argv: &["mysql", "-p", "Cmd1mysqlsep"], lines: &["ERROR 1045 access denied"], secrets: &["Cmd1mysqlsep"] },
    Form { argv: &["mysql", "-pCmd2mysqlatt", "shopdb"], lines: &["ERROR 1045 access denied"], secrets: &["Cmd2mysqlatt"] },
    Form { argv: &["mysqldump", "-u", "root", "-pCmd3dump", "shopdb"], lines: &["mysqldump: error 1045"], secrets: &["Cmd3dump"] },
    Form { argv: &["docker", "login", "-u", "bob", "-p", "Cmd4docker", "reg.example"], lines: &["Error response from daemon"], secrets: &["Cmd4docker"] },
    Form { argv: &["docker", "login", "--password", "Cmd5docker", "reg.example"], lines: &["Error response from daemon"], secrets: &["Cmd5docker"] },
    Form { argv: &["sshpass", "-p", "Cmd6sshpass", "ssh", "host"], lines: &["error: connection failed"], secrets: &["Cmd6sshpass"] },
    Form { argv: &["sshpass", "-pCmd7sshpass", "scp", "f", "h:"], lines: &["error: connection failed"], secrets: &["Cmd7sshpass"] },
    Form { argv: &["redis-cli", "-a", "Cmd8redis", "ping"], lines: &["AUTH failed: WRONGPASS"], secrets: &["Cmd8redis"] },
    Form { argv: &["openssl", "enc", "-aes-256-cbc", "-k", "Cmd9openssl", "-in", "f"], lines: &["bad decrypt error"], secrets: &["Cmd9openssl"] },
    Form { argv: &["openssl", "rsa", "-passin", "pass:Cmd10openssl", "-in", "k.pem"], lines: &["unable to load key error"], secrets: &["Cmd10openssl"] },
    Form { argv: &["curl", "-u", "admin:Cmd11curl", "https://example.invalid/"], lines: &["curl: (6) error resolving"], secrets: &["Cmd11curl"] },
    Form { argv: &["curl", "--user=admin:Cmd12curl", "https://example.invalid/"], lines: &["curl: (6) error resolving"], secrets: &["Cmd12curl"] },
    Form { argv: &["htpasswd", "-b", ".htpasswd", "bob", "Cmd13htpasswd"], lines: &["htpasswd: error writing"], secrets: &["Cmd13htpasswd"] },
    Form { argv: &["htpasswd", "-nbB", "bob", "Cmd14htpasswd"], lines: &["htpasswd: error writing"], secrets: &["Cmd14htpasswd"] },
    Form { argv: &["vault", "login", "hvs.Cmd15vault"], lines: &["Error authenticating"], secrets: &["Cmd15vault"] },
    Form { argv: &["vault", "kv", "put", "secret/app", "db=Cmd16vault"], lines: &["Error writing data"], secrets: &["Cmd16vault"] },
    Form { argv: &["vault", "login", "-method=userpass", "username=bob", "password=Cmd17vault"], lines: &["Error authenticating"], secrets: &["Cmd17vault"] },
    // Command lines: generic forms.
    Form { argv: &["deploy", "--token", "Cmd18token"], lines: &["error: deploy failed"], secrets: &["Cmd18token"] },
    Form { argv: &["deploy", "--api-key=Cmd19apikey"], lines: &["error: deploy failed"], secrets: &["Cmd19apikey"] },
    Form { argv: &["env", "API_TOKEN=Cmd20env", "deploy"], lines: &["error: deploy failed"], secrets: &["Cmd20env"] },
    Form { argv: &["git", "clone", "https://bob:Cmd21url@example.invalid/r.git"], lines: &["fatal: could not read"], secrets: &["Cmd21url"] },
    Form { argv: &["aws", "configure", "set", "aws_secret_access_key", "Cmd22aws"], lines: &["error: aws failed"], secrets: &["Cmd22aws"] },
    Form { argv: &["sh", "-c", "mysql -pCmd23script shopdb; exit 1"], lines: &[], secrets: &["Cmd23script"] },
    Form { argv: &["smbclient", "-U", "bob%Cmd24smb", "//h/s"], lines: &["session setup failed"], secrets: &["Cmd24smb"] },
    Form { argv: &["deploy", NPM], lines: &["error: deploy failed"], secrets: &[NPM] },
    Form { argv: &["keytool", "-storepass", "Cmd26keytool"], lines: &["keytool error: failed"], secrets: &["Cmd26keytool"] },
    // Output lines.
    Form { argv: &["tool"], lines: &["error: the password is Out1said"], secrets: &["Out1said"] },
    Form { argv: &["tool"], lines: &["passwd Out2passwd failed"], secrets: &["Out2passwd"] },
    Form {
        argv: &["tool"],
        lines: &[
            "-----BEGIN PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
            "MIIEowOut3pemBodyLineQkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTU",
            "-----END PRIVATE KEY-----",
            "error: bad key",
        ],
        secrets: &["Out3pemBodyLine", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"],
    },
    Form { argv: &["tool"], lines: &["-----BEGIN RSA PRIVATE KEY-----MIIOut4pemInlineAAA-----END RSA PRIVATE KEY----- error"], secrets: &["Out4pemInline"] },
    Form { argv: &["tool"], lines: &["error: npm token npm_Out5a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5 rejected"], secrets: &["npm_Out5a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5"] },
    Form { argv: &["tool"], lines: &["error: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9xAMPLEKEY"], secrets: &[AWS_SECRET] },
    Form { argv: &["tool"], lines: &["error: signing with wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9xAMPLEKEY failed"], secrets: &[AWS_SECRET] },
    Form { argv: &["tool"], lines: &["error: invalid jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dQw4w9WgXcQdQw4w9WgXcQ"], secrets: &[JWT] },
    Form { argv: &["tool"], lines: &["error: DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Out9azureKey+abc/def==;EndpointSuffix=x"], secrets: &["Out9azureKey"] },
    Form { argv: &["tool"], lines: &["fatal: ghp_Out10abcdefghijklmnopqrstuvwxyz0123 expired"], secrets: &["ghp_Out10abcdefghijklmnopqrstuvwxyz0123"] },
    Form { argv: &["tool"], lines: &["error: glpat-Out11abcdefghijklmnopq revoked"], secrets: &["glpat-Out11abcdefghijklmnopq"] },
    Form { argv: &["tool"], lines: &["error: xoxb-Out12-123456789012-abcdefgh invalid"], secrets: &["xoxb-Out12-123456789012-abcdefgh"] },
    Form { argv: &["tool"], lines: &["error: key AKIAOUT13ABCDEFGHIJK denied"], secrets: &["AKIAOUT13ABCDEFGHIJK"] },
    Form { argv: &["tool"], lines: &["error: sk-Out14abcdefghijklmnopqrstuv quota"], secrets: &["sk-Out14abcdefghijklmnopqrstuv"] },
    Form { argv: &["tool"], lines: &["error: Authorization: Bearer Out15bearerTokenValue"], secrets: &["Out15bearerTokenValue"] },
    Form { argv: &["tool"], lines: &["error: api_key=Out16apikey rejected"], secrets: &["Out16apikey"] },
    Form { argv: &["tool"], lines: &["error: secret: Out17secret"], secrets: &["Out17secret"] },
    Form { argv: &["tool"], lines: &["fatal: https://bob:Out18url@example.invalid/ failed"], secrets: &["Out18url"] },
    Form { argv: &["tool"], lines: &["error: GET /c?sv=1&sig=Out19sas%2Bz&se=2 failed"], secrets: &["Out19sas"] },
    Form { argv: &["tool"], lines: &["error: AIzaOut20abcdefghijklmnopqrstuvwxyz12345 invalid"], secrets: &["AIzaOut20abcdefghijklmnopqrstuvwxyz12345"] },
    Form { argv: &["tool"], lines: &["error: hf_Out21abcdefghijklmnopqrstuvwx invalid"], secrets: &["hf_Out21abcdefghijklmnopqrstuvwx"] },
    Form { argv: &["tool"], lines: &["error: pypi-Out22AgEIcHlwaS5vcmcCJGFiY2Rl invalid"], secrets: &["pypi-Out22AgEIcHlwaS5vcmcCJGFiY2Rl"] },
    Form { argv: &["tool"], lines: &["error: upload failed Xk9Out23qL2mN8vB4cR7tY1uW5zA3sD6fG0h"], secrets: &["Xk9Out23qL2mN8vB4cR7tY1uW5zA3sD6fG0h"] },
];

/// Record every form (failing runs: the output is judged and mined), twice so patterns are
/// mined in every scope.
fn record_corpus(e: &Env) {
    for (i, f) in CORPUS.iter().enumerate() {
        e.fake(f.argv[0]);
        if f.argv[0] == "sh" {
            e.fake("mysql");
        } else if f.argv[0] == "env" {
            e.fake(f.argv[2]);
        }
        let name = if f.argv[0] == "env" {
            f.argv[2]
        } else {
            f.argv[0]
        };
        e.output_of(name, f.lines);
        let mut args = vec!["run", "--"];
        args.extend(f.argv.iter().copied());
        let o = e.ee(&args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "form {i} {:?}: {}",
            f.argv,
            text(&o)
        );
    }
}

fn assert_no_secret(what: &str, hay: &str) {
    let mut leaked = Vec::new();
    for f in CORPUS {
        for s in f.secrets {
            if hay.contains(s) {
                leaked.push(*s);
            }
        }
    }
    assert!(leaked.is_empty(), "{what} leaks {leaked:?}");
}

#[test]
fn no_secret_of_the_corpus_is_stored_or_exported() {
    let n: usize = CORPUS.iter().map(|f| f.secrets.len()).sum();
    assert!(CORPUS.len() >= 40 && n >= 40, "{} forms", CORPUS.len());
    let e = Env::new();
    record_corpus(&e);
    record_corpus(&e);
    // The runs were recorded, with their output: the test looks at real rows.
    let conn = rusqlite::Connection::open(e.db()).unwrap();
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM executions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs as usize, 2 * CORPUS.len());
    let mined: i64 = conn
        .query_row(
            "SELECT count(*) FROM learn_patterns WHERE source = 'mined'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(mined > 10, "{mined} mined patterns");
    drop(conn);
    assert_no_secret("the database files", &e.db_bytes());
    let o = e.ee(&["telemetry", "export"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let export = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(export.contains("shopdb"), "the export holds the commands");
    assert!(
        export.contains("error: bad key"),
        "the export holds the events"
    );
    assert_no_secret("ee telemetry export", &export);
    let o = e.ee(&["telemetry", "export", "--format", "csv"]);
    assert_no_secret("ee telemetry export --format csv", &text(&o));
    let o = e.ee(&["telemetry", "export-learned"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let learned = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(learned.contains("cmd:mysql"), "{learned}");
    assert_no_secret("ee telemetry export-learned", &learned);
    // Command keys carry no argument value that could be a secret.
    assert!(learned.contains(r#""cmd:curl""#), "{learned}");
    assert!(!learned.contains("cmd:curl admin"), "{learned}");
}

#[test]
fn no_secret_of_the_corpus_reaches_the_spool() {
    let e = Env::new();
    // Create the database, then hold its write lock so that runs are spooled.
    assert_eq!(e.ee(&["--", "true"]).status.code(), Some(0));
    let conn = rusqlite::Connection::open(e.db()).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    for f in CORPUS {
        e.fake(f.argv[0]);
        e.fake("mysql");
        if f.argv[0] == "env" {
            e.fake(f.argv[2]);
        }
        e.output_of(
            if f.argv[0] == "env" {
                f.argv[2]
            } else {
                f.argv[0]
            },
            f.lines,
        );
        let mut args = vec!["run", "--"];
        args.extend(f.argv.iter().copied());
        let o = e
            .cmd()
            .env("EARLYEXIT_DB_TIMEOUT", "0.05")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    }
    let spool: String = ["telemetry.db.spool", "telemetry.db.spool.merging"]
        .iter()
        .map(|n| std::fs::read_to_string(e.path(n)).unwrap_or_default())
        .collect();
    assert!(
        spool.contains("shopdb"),
        "the runs were spooled: {spool:.300}"
    );
    assert_no_secret("the spool", &spool);
    conn.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn names_that_are_not_secret_keep_their_values() {
    let e = Env::new();
    e.fake("pytest");
    e.output_of("pytest", &["FAILED test_x"]);
    let o = e.ee(&["run", "--", "pytest", "-o", "log_cli=true", "-k", "test_x"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let conn = rusqlite::Connection::open(e.db()).unwrap();
    let cmd: String = conn
        .query_row("SELECT command FROM executions", [], |r| r.get(0))
        .unwrap();
    assert!(cmd.contains("log_cli=true"), "{cmd}");
}

#[test]
fn environment_options_never_add_or_replace_the_command() {
    let e = Env::new();
    for (opts, args) in [
        ("-- touch X", vec!["run", "--", "true"]),
        ("touch X", vec!["run", "--", "true"]),
        ("-t 5 -- touch X", vec!["run", "true"]),
        ("-- touch X", vec!["x", "--", "true"]),
        ("PAT -- touch X", vec!["--", "true"]),
        ("-e", vec!["run", "--", "touch", "X"]),
    ] {
        let o = e
            .cmd()
            .env("EARLYEXIT_OPTIONS", opts)
            .args(&args)
            .output()
            .unwrap();
        let want = if args[0] == "run" { 125 } else { 3 };
        assert_eq!(
            o.status.code(),
            Some(want),
            "{opts:?} {args:?}: {}",
            text(&o)
        );
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("ee: EARLYEXIT_OPTIONS: "), "{err}");
        assert!(!e.path("X").exists(), "{opts:?} ran a command");
    }
    // Options alone still work.
    let o = e
        .cmd()
        .env("EARLYEXIT_OPTIONS", "-t 5 --no-learn")
        .args(["run", "--", "echo", "hi"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(o.stdout, b"hi\n");
}

#[test]
fn before_context_is_bounded() {
    let e = Env::new();
    let o = e.ee(&["-B", "100000000", "x", "--", "true"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("at most 10000"), "{err}");
    let o = e.ee(&["run", "-B", "10001", "--", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    let o = e.ee(&["-B", "10000", "x", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

/// No raw ESC, BEL or C1 control in what a user sees.
fn assert_no_control(what: &str, o: &Output) {
    for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let t = String::from_utf8_lossy(bytes);
        let bad: Vec<char> = t.chars().filter(|c| c.is_control() && *c != '\n').collect();
        assert!(bad.is_empty(), "{what}: {name} has {bad:?}: {t:?}");
    }
}

#[test]
fn stored_and_user_text_is_printed_with_control_characters_escaped() {
    let e = Env::new();
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";
    // A recorded command line holding escapes reaches `ee stats` and `ee suggest`.
    let script = format!("echo '{hostile}' >/dev/null; echo FAILED; exit 1");
    let pattern = "FAILED|x\u{1b}\u{7}\u{9b}y".to_string();
    for _ in 0..2 {
        let o = e.ee(&["run", "--", "sh", "-c", &script]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let o = e.ee(&[&pattern, "--", "sh", "-c", &script]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let o = e.ee(&["stats"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("x\\e\\a"), "{}", text(&o));
    assert_no_control("ee stats", &o);
    let o = e.ee(&["suggest", "--", "sh", "-c", &script]);
    assert_no_control("ee suggest", &o);
    assert!(text(&o).contains("\\e[2J"), "{}", text(&o));
    let o = e.ee(&["run", "--dry-run", "--", "echo", hostile]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_no_control("ee run --dry-run", &o);
    assert!(text(&o).contains("\\a"), "{}", text(&o));
    // Import errors: the file name and the values in it.
    let bad = format!("bad{hostile}.json");
    std::fs::write(
        e.path(&bad),
        format!(r#"{{"format":"x{hostile}","version":1,"scopes":[],"patterns":[]}}"#),
    )
    .unwrap();
    let o = e.ee(&["telemetry", "import-learned", &bad]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_no_control("import error", &o);
    let o = e.ee(&["telemetry", "import-learned", &format!("missing{hostile}")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_no_control("import error (missing)", &o);
    // Routes-file errors.
    std::fs::create_dir_all(e.path("config")).unwrap();
    std::fs::write(
        e.path("config").join("routes"),
        format!("pytest\nbad{hostile} x\n"),
    )
    .unwrap();
    let o = e.ee(&["route", "list"]);
    assert!(text(&o).contains("pytest"), "{}", text(&o));
    assert!(
        text(&o).contains("\\e"),
        "the error is reported: {}",
        text(&o)
    );
    assert_no_control("ee route list", &o);
    let o = e.ee(&["init", "bash"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("\\e"), "{err}");
    assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "{err:?}");
    // Usage errors quoting the user's words.
    let o = e.ee(&[&format!("--bogus{hostile}"), "x", "--", "true"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_no_control("usage error", &o);
    let o = e.ee(&["run", "--", &format!("./missing{hostile}")]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o));
    assert_no_control("command not found", &o);
}
