//! Answering the shell: the engine's reply in the line protocol the scripts read, each candidate
//! quoted for its shell and never shell code.

use super::bash;
use super::engine::Reply;
use super::line::Line;
use crate::cli::Shell;

/// Can this value be shown and inserted as it is? Not with control characters (a newline would
/// end the candidate, ESC would reach the terminal) nor invisible direction or format marks.
fn displayable(v: &str) -> bool {
    !v.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2028}' | '\u{2029}')
            || matches!(c, '\u{2060}'..='\u{206f}' | '\u{feff}')
    })
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The engine's answer in the line protocol the scripts read: a directive line (`values`,
/// `command INDEX OFFSET`, `files`, `dirs`), then for `values` one candidate per line
/// (`INSERT<TAB>DESCRIPTION` for zsh/fish, the quoted word for bash) and for `command` the text of
/// the command part up to the cursor.
pub fn render(shell: Shell, line: &Line, reply: &Reply) -> String {
    let mut out = String::new();
    match reply {
        Reply::Values { items, prefix } => {
            let cur = &line.words[line.cword];
            out.push_str("values");
            if shell == Shell::Zsh && !prefix.is_empty() {
                out.push('\t');
                out.push_str(prefix);
            }
            out.push('\n');
            let mut seen = std::collections::HashSet::new();
            let items: Vec<&(String, String)> = items
                .iter()
                .filter(|(v, _)| !v.is_empty() && displayable(v) && seen.insert(v.clone()))
                .collect();
            if shell == Shell::Bash {
                let region = bash::region(&line.text, line.point, line.bash_word.as_deref());
                let full: Vec<String> = items.iter().map(|(v, _)| format!("{prefix}{v}")).collect();
                for w in bash::replies(&line.text, line.point, region, cur.start, &cur.value, &full)
                {
                    out.push_str(&w);
                    out.push('\n');
                }
                return out;
            }
            for (v, d) in items {
                match shell {
                    Shell::Zsh => {
                        out.push_str(v);
                        out.push('\t');
                        out.push_str(&clean(d));
                    }
                    _ => {
                        out.push_str(prefix);
                        out.push_str(v);
                        out.push('\t');
                        out.push_str(&clean(d));
                    }
                }
                out.push('\n');
            }
        }
        Reply::Command { index } => {
            let (offset, text) = match line.words.get(*index) {
                Some(w) => (
                    w.start,
                    line.text[w.start..line.point.max(w.start)].to_string(),
                ),
                None => (line.point, String::new()),
            };
            let offset = line.text[..offset.min(line.text.len())].chars().count();
            out.push_str(&format!("command {index} {offset}\n"));
            out.push_str(&text.replace('\n', " "));
            out.push('\n');
        }
        Reply::Files => out.push_str("files\n"),
        Reply::Dirs => out.push_str("dirs\n"),
    }
    out
}
