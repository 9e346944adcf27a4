//! Project identity: the same repository gets the same identity on every machine although its
//! path differs. It is the SHA-256 (first 16 bytes, hex) of the normalized `origin` remote URL
//! (`git@github.com:Org/Repo.git`, `https://user@github.com/Org/Repo` and
//! `ssh://git@github.com/Org/Repo.git` all become `github.com/Org/Repo`), else of the
//! repository's first commit, else there is none (a directory outside git shares nothing).
//! Computed by `ee team sync` (it runs `git`), never on a run's hot path.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

/// Normalize a remote URL so that its spellings agree.
pub fn normalize_remote(url: &str) -> String {
    let mut u = url.trim().to_string();
    if let Some((_, rest)) = u.split_once("://") {
        u = rest.to_string();
        // user info
        if let Some(at) = u.find('@').filter(|&at| u[..at].find('/').is_none()) {
            u = u[at + 1..].to_string();
        }
    } else if let Some(at) = u.find('@').filter(|&at| u[..at].find('/').is_none()) {
        // scp-like: git@host:path
        u = u[at + 1..].replacen(':', "/", 1);
    } else if !u.starts_with('/') && u.contains(':') && !u.contains("//") {
        u = u.replacen(':', "/", 1);
    }
    let u = u.trim_end_matches('/');
    let u = u.strip_suffix(".git").unwrap_or(u).trim_end_matches('/');
    let (host, path) = u.split_once('/').unwrap_or((u, ""));
    let host = host.to_ascii_lowercase();
    let host = host
        .strip_suffix(":22")
        .or_else(|| host.strip_suffix(":443"))
        .or_else(|| host.strip_suffix(":80"))
        .unwrap_or(&host);
    if path.is_empty() {
        host.to_string()
    } else {
        format!("{host}/{path}")
    }
}

/// The identity of a text: 32 hex digits.
pub fn hash(kind: &str, text: &str) -> String {
    let d = Sha256::digest(format!("{kind}:{text}").as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// The repository's top-level directory and identity, when `dir` is inside one.
pub fn of_dir(dir: &Path) -> Option<(PathBuf, String)> {
    if !dir.is_dir() {
        return None;
    }
    let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
    if let Some(url) = git(&top, &["config", "--get", "remote.origin.url"]) {
        return Some((top, hash("remote", &normalize_remote(&url))));
    }
    let roots = git(&top, &["rev-list", "--max-parents=0", "HEAD"])?;
    let first = roots.lines().min()?.to_string();
    Some((top, hash("commit", &first)))
}

/// True for a string that is an identity.
pub fn valid(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_spellings_agree() {
        let want = "github.com/Org/Repo";
        for u in [
            "git@github.com:Org/Repo.git",
            "https://github.com/Org/Repo",
            "https://user:tok@GitHub.com/Org/Repo.git/",
            "ssh://git@github.com/Org/Repo.git",
            "ssh://git@github.com:22/Org/Repo",
            "github.com:Org/Repo",
        ] {
            assert_eq!(normalize_remote(u), want, "{u}");
        }
        assert_ne!(normalize_remote("git@gitlab.com:Org/Repo"), want);
        let h = hash("remote", want);
        assert!(valid(&h));
        assert_eq!(
            h,
            hash("remote", &normalize_remote("git@github.com:Org/Repo"))
        );
    }
}
