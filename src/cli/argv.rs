//! Helpers that read argv words against the clap definitions (which words an option takes) and
//! parse option values (durations, context line counts).

use std::time::Duration;

/// Does this option take values (not a flag, not a positional)?
pub fn takes_value(a: &clap::Arg) -> bool {
    a.get_action().takes_values() && !a.is_positional()
}

/// How many words an option's value takes (`--fd-pattern N PAT`: 2).
pub fn nvalues(a: &clap::Arg) -> usize {
    a.get_num_args().map(|r| r.min_values()).unwrap_or(1).max(1)
}

/// The option with this long name (or alias).
pub fn find_long(cmd: &clap::Command, name: &str) -> Option<clap::Arg> {
    cmd.get_arguments()
        .find(|a| {
            a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
        })
        .cloned()
}

/// The option with this short name.
pub fn find_short(cmd: &clap::Command, c: char) -> Option<clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_short() == Some(c))
        .cloned()
}

/// For a word on the command line: `None` when it is not an option (a positional), else how many
/// of the following words its value takes (`-t 5`: 1, `-t5`, `--timeout=5`, `-i`: 0).
pub fn option_words(cmd: &clap::Command, word: &str) -> Option<usize> {
    option_value(cmd, word).map(|(_, n)| n)
}

/// As [`option_words`], with the option whose value takes those following words (`None` when it
/// takes none of them).
pub fn option_value(cmd: &clap::Command, word: &str) -> Option<(Option<clap::Arg>, usize)> {
    let with_arg = |a: clap::Arg, n: usize| Some(((n > 0).then_some(a), n));
    if let Some(long) = word.strip_prefix("--") {
        let (name, attached) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        return match find_long(cmd, name).filter(takes_value) {
            Some(a) => {
                let n = nvalues(&a);
                with_arg(a, if attached { n.saturating_sub(1) } else { n })
            }
            None => Some((None, 0)),
        };
    }
    if word.len() < 2 || !word.starts_with('-') {
        return None;
    }
    let chars: Vec<char> = word[1..].chars().collect();
    for (k, c) in chars.iter().enumerate() {
        if let Some(a) = find_short(cmd, *c).filter(takes_value) {
            let n = nvalues(&a);
            return with_arg(a, if k + 1 == chars.len() { n } else { n - 1 });
        }
    }
    Some((None, 0))
}

/// Most lines of context kept before a match (`-B`): each is capped at 1000 bytes, so the
/// context costs at most about 10 MB whatever the output.
pub const MAX_BEFORE: usize = 10_000;

/// Parse `-B N`, refusing more than [`MAX_BEFORE`] lines.
pub fn parse_before(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number of lines", crate::escape::escape(s)))?;
    if n > MAX_BEFORE {
        return Err(format!("at most {MAX_BEFORE} lines of context (got {n})"));
    }
    Ok(n)
}

/// Parse a duration: plain seconds (fractions allowed) or a number with `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = t.strip_suffix('d') {
        (n, 86400.0)
    } else {
        (t, 1.0)
    };
    let ok_chars = !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.chars().filter(|&c| c == '.').count() <= 1
        && num != ".";
    let bad =
        || format!("invalid duration '{s}' (expected seconds or a number with ms, s, m, h, d)");
    if !ok_chars {
        return Err(bad());
    }
    let secs = num.parse::<f64>().map_err(|_| bad())? * mult;
    if !secs.is_finite() || secs > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("0.25").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        for bad in ["", "abc", "1x", "-1", "1..2", "ms", ".", "1 s s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
