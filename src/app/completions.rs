//! `ee completions SHELL` prints the completion script; the hidden `ee __complete` is the engine
//! the scripts call on TAB (see `crate::complete`).

use crate::app::{CmdResult, Fail};
use crate::cli::{CompleteArgs, CompletionsArgs};
use crate::complete::{self, Sources};

pub fn run(a: CompletionsArgs) -> CmdResult {
    match (a.shell.engine(), crate::complete::scripts::script(a.shell)) {
        (Some(shell), _) => print(&complete::script(shell)),
        (None, Some(script)) => print(&script),
        (None, None) => Err(Fail::usage("no completion script for this shell")),
    }
}

pub fn complete(a: CompleteArgs) -> CmdResult {
    let line = match (a.line, a.cword) {
        (Some(text), _) => {
            let chars = a.point.unwrap_or(usize::MAX);
            let point = text
                .char_indices()
                .nth(chars)
                .map(|(i, _)| i)
                .unwrap_or(text.len());
            let mut line = complete::split_line(a.shell, &text, point);
            line.bash_word = a.word;
            line
        }
        (None, Some(cword)) if !a.words.is_empty() => {
            complete::from_words(a.shell, &a.words, cword)
        }
        _ => return Err(Fail::usage("__complete needs --line or --cword with words")),
    };
    let src = Sources {
        patterns: &complete::learned_patterns,
    };
    let reply = complete::complete(&line, &src);
    print(&complete::render(a.shell, &line, &reply))
}

fn print(s: &str) -> CmdResult {
    crate::output::write_bytes(s.as_bytes());
    Ok(0)
}
