//! Reading the command line: the words of the line as the shell would split them (quotes,
//! backslashes, `$'…'`), where the cursor is, and which words belong to `ee`.

use crate::cli::Shell;

/// One shell word: its text as typed, its value once unquoted, and where it is in the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub raw: String,
    pub value: String,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The words of the simple command under the cursor, from `ee` on, and which one the cursor is in
/// (its `raw`/`value` cut at the cursor; it may be an empty word).
#[derive(Debug, Clone)]
pub struct Line {
    pub words: Vec<Word>,
    pub cword: usize,
    /// The whole line (used to hand the command part to the shell).
    pub(super) text: String,
    pub(super) point: usize,
    /// Bash's `$2`: the text readline replaces (see `bash::region`).
    pub bash_word: Option<String>,
}

/// Split `line` (cursor at byte `point`) into words with POSIX-like quoting (fish: single quotes
/// also take `\'` and `\\`). Unquoted `; & | ( )` end a command, `< >` and the word after them
/// are redirections and skipped.
pub fn split_line(shell: Shell, line: &str, point: usize) -> Line {
    let mut point = point.min(line.len());
    while !line.is_char_boundary(point) {
        point -= 1;
    }
    let mut words = command_words(shell, line, point);
    // The word under the cursor, cut at the cursor; or a new empty word.
    let cword = match words
        .iter()
        .position(|w| w.start <= point && point <= w.end)
    {
        Some(k) => {
            let w = &words[k];
            let raw = line[w.start..point].to_string();
            let value = split_line_value(shell, &raw);
            words[k] = Word {
                raw,
                value,
                start: w.start,
                end: point,
            };
            k
        }
        None => {
            let k = words
                .iter()
                .position(|w| w.start > point)
                .unwrap_or(words.len());
            words.insert(
                k,
                Word {
                    raw: String::new(),
                    value: String::new(),
                    start: point,
                    end: point,
                },
            );
            k
        }
    };
    // Start at the ee word (after `sudo`, `VAR=x`, `time`, ...).
    let first = words[..cword]
        .iter()
        .position(|w| is_ee(&w.value))
        .unwrap_or(0);
    let words = words.split_off(first);
    Line {
        cword: cword - first,
        words,
        text: line.to_string(),
        point,
        bash_word: None,
    }
}

/// The words of the simple command under the cursor: a separator before the cursor starts a new
/// command, the first one after it ends the one we want. Redirections are left out.
fn command_words(shell: Shell, line: &str, point: usize) -> Vec<Word> {
    let b: Vec<char> = line.chars().collect();
    // Byte offsets of each char.
    let offs: Vec<usize> = line.char_indices().map(|(i, _)| i).collect();
    let off = |ci: usize| offs.get(ci).copied().unwrap_or(line.len());
    let mut words: Vec<Word> = Vec::new();
    let mut skip_next = false;
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let c = b[i];
        if matches!(c, ';' | '&' | '|' | '(' | ')') {
            if off(i) >= point {
                break;
            }
            i += 1;
            words.clear();
            skip_next = false;
            continue;
        }
        if matches!(c, '<' | '>') {
            while i < b.len() && matches!(b[i], '<' | '>' | '&') {
                i += 1;
            }
            skip_next = true;
            continue;
        }
        let start = i;
        let mut u = Unquote::default();
        while i < b.len() {
            let c = b[i];
            match u.quote {
                // An unterminated quote under the cursor ends there: the rest is more words.
                Some(q) if off(i) == point && i > start && !b[i..].contains(&q) => break,
                None if matches!(
                    c,
                    ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
                ) =>
                {
                    break
                }
                _ => i += u.take(shell, c, b.get(i + 1).copied()),
            }
        }
        let (s, e) = (off(start), off(i));
        if skip_next {
            skip_next = false;
        } else {
            words.push(Word {
                raw: line[s..e].to_string(),
                value: u.value,
                start: s,
                end: e,
            });
        }
    }
    words
}

/// Shell unquoting, one character at a time: the quote open so far and the value read.
#[derive(Default)]
struct Unquote {
    quote: Option<char>,
    value: String,
}

impl Unquote {
    /// Read `c` (`next` is the character after it); returns how many characters were used (2 when
    /// `c` escapes `next`). A backslash-newline outside quotes is a line continuation: nothing.
    fn take(&mut self, shell: Shell, c: char, next: Option<char>) -> usize {
        match self.quote {
            None if c == '\'' || c == '"' => self.quote = Some(c),
            None if c == '\\' => {
                if let Some(n) = next {
                    if n != '\n' {
                        self.value.push(n);
                    }
                    return 2;
                }
            }
            Some('\'') if c == '\'' => self.quote = None,
            Some('\'')
                if shell == Shell::Fish && c == '\\' && matches!(next, Some('\'' | '\\')) =>
            {
                self.value.push(next.unwrap_or(c));
                return 2;
            }
            Some('"') if c == '"' => self.quote = None,
            Some('"') if c == '\\' && matches!(next, Some('"' | '\\' | '$' | '`')) => {
                self.value.push(next.unwrap_or(c));
                return 2;
            }
            _ => self.value.push(c),
        }
        1
    }
}

/// The unquoted value of a single (possibly unterminated) word.
pub(super) fn split_line_value(shell: Shell, raw: &str) -> String {
    let b: Vec<char> = raw.chars().collect();
    let mut u = Unquote::default();
    let mut i = 0;
    while i < b.len() {
        i += u.take(shell, b[i], b.get(i + 1).copied());
    }
    u.value
}

fn is_ee(w: &str) -> bool {
    matches!(crate::context::basename(w), "ee" | "earlyexit")
}

/// Build a line from words already split by the shell (zsh): `cword` is the index of the word
/// under the cursor, which holds only the text before the cursor.
pub fn from_words(shell: Shell, raw: &[String], cword: usize) -> Line {
    let mut words = Vec::new();
    let mut text = String::new();
    let mut point = 0;
    for (k, r) in raw.iter().enumerate() {
        if k > 0 {
            text.push(' ');
        }
        let start = text.len();
        text.push_str(r);
        if k == cword {
            point = text.len();
        }
        words.push(Word {
            raw: r.clone(),
            value: split_line_value(shell, r),
            start,
            end: text.len(),
        });
    }
    let cword = cword.min(words.len());
    if cword == words.len() {
        text.push(' ');
        point = text.len();
        words.push(Word {
            raw: String::new(),
            value: String::new(),
            start: point,
            end: point,
        });
    }
    Line {
        words,
        cword,
        text,
        point,
        bash_word: None,
    }
}
