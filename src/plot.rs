//! Terminal pictures of what ee recorded and learned: `ee suggest --plot` (a histogram of a
//! command's runtimes with the hang limit marked) and `ee stats --plot` (runs per day, time saved
//! per week, the commands that saved most).
//!
//! Owns: reading the plotted data from the executions table, and rendering it width-aware, with
//! Unicode blocks (ASCII when the locale is not UTF-8) and colour only on a terminal without
//! `NO_COLOR`. `--json` prints the plotted data instead. The rendering functions are pure (data,
//! width, style in; text out) so the pictures are testable.

use rusqlite::Connection;
use serde::Serialize;

use crate::engine::printer::{is_tty, no_color};

/// How the picture is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub width: usize,
    pub unicode: bool,
    pub color: bool,
}

impl Style {
    /// For stdout: its width, the locale's charset, colour when it is a terminal.
    pub fn for_stdout() -> Style {
        Style {
            width: terminal_width().clamp(30, 400),
            unicode: utf8_locale(),
            color: is_tty(1) && !no_color(),
        }
    }

    fn ch(&self, unicode: &'static str, ascii: &'static str) -> &'static str {
        if self.unicode {
            unicode
        } else {
            ascii
        }
    }

    /// `n` cells of a bar of `kind`, coloured when asked.
    fn bar(&self, kind: Kind, n: usize) -> String {
        if n == 0 {
            return String::new();
        }
        let (u, a, sgr) = match kind {
            Kind::Passed => ("█", "#", "32"),
            Kind::Failed => ("▒", "x", "31"),
            Kind::Stopped => ("░", ".", "33"),
            Kind::Saved => ("█", "#", "36"),
        };
        let cells = self.ch(u, a).repeat(n);
        if self.color {
            format!("\x1b[{sgr}m{cells}\x1b[0m")
        } else {
            cells
        }
    }

    fn legend(&self, kinds: &[(Kind, &str)]) -> String {
        kinds
            .iter()
            .map(|(k, name)| format!("{} {name}", self.bar(*k, 1)))
            .collect::<Vec<_>>()
            .join("  ")
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Passed,
    Failed,
    Stopped,
    Saved,
}

/// The width of stdout's terminal, else `COLUMNS`, else 80.
fn terminal_width() -> usize {
    let mut ws = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a winsize; fd 1 is open (or the call fails harmlessly).
    let ok = unsafe { nix::libc::ioctl(1, nix::libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        return ws.ws_col as usize;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &usize| c > 0)
        .unwrap_or(80)
}

/// Is the character set UTF-8 (LC_ALL, else LC_CTYPE, else LANG)?
pub fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// Seconds as a short label: `850ms`, `12.5s`, `3m20s`, `1h05m`.
pub fn short_duration(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 60.0 {
        let t = format!("{s:.1}");
        format!("{}s", t.strip_suffix(".0").unwrap_or(&t))
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

/// Cells for `v` of `max` in `cells`, at least one for a non-zero value.
fn scale(v: f64, max: f64, cells: usize) -> usize {
    if v <= 0.0 || max <= 0.0 {
        return 0;
    }
    ((v / max * cells as f64).round() as usize).clamp(1, cells)
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.chars().take(w).collect()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

// ---------------------------------------------------------------------------------------------
// ee suggest --plot

/// One bin of the runtime histogram.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bin {
    pub from_s: f64,
    pub to_s: f64,
    pub normal: u64,
    pub failed: u64,
}

/// The plotted data of `ee suggest --plot`.
#[derive(Debug, Clone, Serialize)]
pub struct Runtimes {
    pub key: String,
    /// Runtimes of runs that ended by themselves and passed.
    pub normal_s: Vec<f64>,
    /// Runtimes of runs that failed or were stopped.
    pub failed_s: Vec<f64>,
    /// The hang limit ee learned for the command, and whether it is applied.
    pub hang_limit_s: Option<f64>,
    pub hang_limit_applied: bool,
    pub bins: Vec<Bin>,
}

/// Most recent runs plotted.
const MAX_RUNS: u32 = 2000;

/// The runtimes of a command key's newest runs (none without a database).
pub fn runtimes(conn: Option<&Connection>, key: &str) -> (Vec<f64>, Vec<f64>) {
    let (mut normal, mut failed) = (Vec::new(), Vec::new());
    let Some(conn) = conn else {
        return (normal, failed);
    };
    let q = conn.prepare(
        "SELECT total_s, stopped_early = 0 AND detached = 0 AND coalesce(child_exit, -1) = 0
         FROM executions WHERE command_key = ?1 ORDER BY id DESC LIMIT ?2",
    );
    let Ok(mut q) = q else {
        return (normal, failed);
    };
    let rows = q.query_map(rusqlite::params![key, MAX_RUNS], |r| {
        Ok((r.get::<_, f64>(0)?, r.get::<_, bool>(1)?))
    });
    if let Ok(rows) = rows {
        for (t, ok) in rows.flatten() {
            if ok {
                normal.push(t);
            } else {
                failed.push(t);
            }
        }
    }
    (normal, failed)
}

/// Bin the runtimes: equal bins from 0 to past the longest run and the limit.
pub fn histogram(
    key: &str,
    normal: Vec<f64>,
    failed: Vec<f64>,
    limit: Option<f64>,
    applied: bool,
    nbins: usize,
) -> Runtimes {
    let top = normal
        .iter()
        .chain(&failed)
        .chain(limit.iter())
        .fold(0.0f64, |a, &b| a.max(b));
    let mut bins = Vec::new();
    if top > 0.0 && nbins > 0 {
        let step = nice_step(top * 1.0001 / nbins as f64);
        let n = ((top / step).floor() as usize + 1).min(nbins + 1);
        for i in 0..n {
            bins.push(Bin {
                from_s: round3(i as f64 * step),
                to_s: round3((i + 1) as f64 * step),
                normal: 0,
                failed: 0,
            });
        }
        let idx = |t: f64| ((t / step).floor() as usize).min(n - 1);
        for &t in &normal {
            bins[idx(t)].normal += 1;
        }
        for &t in &failed {
            bins[idx(t)].failed += 1;
        }
    }
    Runtimes {
        key: key.to_string(),
        normal_s: normal,
        failed_s: failed,
        hang_limit_s: limit,
        hang_limit_applied: applied,
        bins,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is at least `x`.
fn nice_step(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= x * 0.9999)
        .unwrap_or(10.0 * p)
}

/// Draw the runtime histogram.
pub fn render_runtimes(r: &Runtimes, st: Style) -> String {
    let title = format!(
        "Runtimes of `{}`: {} normal, {} failed or stopped",
        r.key,
        r.normal_s.len(),
        r.failed_s.len()
    );
    let mut s = format!("{}\n", pad(&title, st.width).trim_end());
    if r.bins.is_empty() {
        s.push_str("No runs recorded for this command yet.\n");
        return s;
    }
    let labels: Vec<String> = r
        .bins
        .iter()
        .map(|b| {
            let from = if b.from_s == 0.0 {
                "0".to_string()
            } else {
                short_duration(b.from_s)
            };
            format!("{from}-{}", short_duration(b.to_s))
        })
        .collect();
    let lw = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let counts: Vec<String> = r
        .bins
        .iter()
        .map(|b| format!("{}+{}", b.normal, b.failed))
        .collect();
    let cw = counts.iter().map(String::len).max().unwrap_or(0);
    let mark = st.ch(" ◀ hang limit", " <- hang limit");
    let limit_label = r.hang_limit_s.map(|l| {
        format!(
            "{mark} {}{}",
            short_duration(l),
            if r.hang_limit_applied {
                ""
            } else {
                " (not applied yet)"
            }
        )
    });
    let tail = limit_label.as_ref().map_or(0, |l| l.chars().count());
    let bar_w = st.width.saturating_sub(lw + 3 + cw + 1 + tail).max(5);
    let max = r
        .bins
        .iter()
        .map(|b| b.normal + b.failed)
        .max()
        .unwrap_or(0) as f64;
    let axis = st.ch("│", "|");
    for (i, b) in r.bins.iter().enumerate() {
        let total = scale((b.normal + b.failed) as f64, max, bar_w);
        let n = scale(b.normal as f64, max, bar_w).min(total);
        let f = total - n;
        let mut line = format!(
            "{} {axis} {}{}",
            pad(&labels[i], lw),
            st.bar(Kind::Passed, n),
            st.bar(Kind::Failed, f)
        );
        line.push_str(&" ".repeat(bar_w - total + 1));
        line.push_str(&pad(&counts[i], cw));
        if let (Some(l), Some(lbl)) = (r.hang_limit_s, &limit_label) {
            if l >= b.from_s && l < b.to_s {
                line.push_str(lbl);
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push_str(&format!(
        "{}  (n+f)\n",
        st.legend(&[
            (Kind::Passed, "normal"),
            (Kind::Failed, "failed or stopped")
        ])
    ));
    match r.hang_limit_s {
        Some(l) => s.push_str(&format!(
            "Still running at {}: stopped as hung.\n",
            short_duration(l)
        )),
        None => s.push_str("No hang limit learned yet.\n"),
    }
    s
}

/// Print a picture's data: as JSON (`--json`), else drawn by `render` for stdout.
pub fn print<T: Serialize>(json: bool, data: &T, render: impl FnOnce(&T, Style) -> String) {
    let out = if json {
        format!("{}\n", serde_json::to_string(data).unwrap_or_default())
    } else {
        render(data, Style::for_stdout())
    };
    crate::output::write_bytes(out.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// ee stats --plot

/// Runs of one day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub passed: u64,
    pub failed: u64,
    pub stopped: u64,
}

/// Time saved in one week.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Week {
    /// The week's first day, `YYYY-MM-DD`.
    pub from: String,
    pub time_saved_s: f64,
}

/// A command and the time early exits saved on it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Saver {
    pub command: String,
    pub runs: u64,
    pub time_saved_s: f64,
}

/// The plotted data of `ee stats --plot`.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub days: Vec<Day>,
    pub weeks: Vec<Week>,
    pub top_commands: Vec<Saver>,
}

/// Days plotted: the four weeks up to the newest run.
pub const DAYS: i64 = 28;
const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` of a day number since the epoch (civil-from-days, proleptic Gregorian).
pub fn date_of(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Read the activity of the four weeks up to the newest run.
pub fn activity(conn: &Connection) -> rusqlite::Result<Activity> {
    let newest: Option<i64> =
        conn.query_row("SELECT max(started_at) FROM executions", [], |r| r.get(0))?;
    let Some(newest) = newest else {
        return Ok(Activity {
            days: Vec::new(),
            weeks: Vec::new(),
            top_commands: Vec::new(),
        });
    };
    let last = newest.div_euclid(DAY_MS);
    let first = last - DAYS + 1;
    let mut days: Vec<Day> = (first..=last)
        .map(|d| Day {
            date: date_of(d),
            passed: 0,
            failed: 0,
            stopped: 0,
        })
        .collect();
    let mut weeks: Vec<Week> = (0..DAYS / 7)
        .map(|w| Week {
            from: date_of(first + w * 7),
            time_saved_s: 0.0,
        })
        .collect();
    let mut q = conn.prepare(
        "SELECT started_at / 86400000, stopped_early, coalesce(child_exit, -1) = 0,
                coalesce(time_saved_s, 0)
         FROM executions WHERE started_at >= ?1",
    )?;
    let rows = q.query_map([first * DAY_MS], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })?;
    for row in rows {
        let (day, stopped, passed, saved) = row?;
        let i = (day - first) as usize;
        let Some(d) = days.get_mut(i) else { continue };
        match (stopped, passed) {
            (true, _) => d.stopped += 1,
            (false, true) => d.passed += 1,
            (false, false) => d.failed += 1,
        }
        if let Some(w) = weeks.get_mut(i / 7) {
            w.time_saved_s += saved.max(0.0);
        }
    }
    for w in &mut weeks {
        w.time_saved_s = round3(w.time_saved_s);
    }
    let mut q = conn.prepare(
        "SELECT command_key, count(*), coalesce(sum(time_saved_s), 0) AS saved
         FROM executions WHERE started_at >= ?1 GROUP BY command_key
         HAVING saved > 0 ORDER BY saved DESC, command_key LIMIT 10",
    )?;
    let top_commands = q
        .query_map([first * DAY_MS], |r| {
            Ok(Saver {
                command: r.get(0)?,
                runs: r.get::<_, i64>(1)? as u64,
                time_saved_s: round3(r.get(2)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Activity {
        days,
        weeks,
        top_commands,
    })
}

/// Rows of the runs-per-day chart.
const HEIGHT: usize = 8;

/// Draw the three charts.
pub fn render_activity(a: &Activity, st: Style) -> String {
    let mut s = String::new();
    if a.days.is_empty() {
        s.push_str("No executions recorded yet.\n");
        return s;
    }
    // Runs per day: stacked columns, passed at the bottom, then failed, then stopped.
    let max = a
        .days
        .iter()
        .map(|d| d.passed + d.failed + d.stopped)
        .max()
        .unwrap_or(0);
    let yw = max.to_string().len().max(1);
    let cols = a.days.len();
    let room = st.width.saturating_sub(yw + 2);
    let cw = (room / cols).clamp(1, 6);
    let bw = if cw >= 3 { cw - 1 } else { cw };
    let title = format!(
        "Runs per day, {} to {} (UTC)",
        a.days[0].date,
        a.days[cols - 1].date
    );
    if title.chars().count() <= st.width {
        s.push_str(&title);
    } else {
        s.push_str("Runs per day (UTC)");
    }
    s.push('\n');
    let heights: Vec<[usize; 3]> = a
        .days
        .iter()
        .map(|d| {
            let m = max as f64;
            let p = scale(d.passed as f64, m, HEIGHT);
            let pf = scale((d.passed + d.failed) as f64, m, HEIGHT).max(p);
            let all = scale((d.passed + d.failed + d.stopped) as f64, m, HEIGHT).max(pf);
            [p, pf, all]
        })
        .collect();
    let (tick, axis) = (st.ch("┤", "|"), st.ch("│", "|"));
    let (corner, rule) = (st.ch("└", "+"), st.ch("─", "-"));
    for row in (1..=HEIGHT).rev() {
        let mut line = if row == HEIGHT {
            format!("{max:>yw$}{tick}")
        } else {
            format!("{}{axis}", " ".repeat(yw))
        };
        for h in &heights {
            let kind = if row <= h[0] {
                Some(Kind::Passed)
            } else if row <= h[1] {
                Some(Kind::Failed)
            } else if row <= h[2] {
                Some(Kind::Stopped)
            } else {
                None
            };
            match kind {
                Some(k) => line.push_str(&st.bar(k, bw)),
                None => line.push_str(&" ".repeat(bw)),
            }
            line.push_str(&" ".repeat(cw - bw));
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push_str(&format!("{:>yw$}{corner}{}\n", 0, rule.repeat(cols * cw)));
    let first = &a.days[0].date[5..];
    let last = &a.days[cols - 1].date[5..];
    let gap = (cols * cw).saturating_sub(first.len() + last.len()).max(1);
    s.push_str(&format!(
        "{}{first}{}{last}\n",
        " ".repeat(yw + 1),
        " ".repeat(gap)
    ));
    s.push_str(&format!(
        "{}\n\n",
        st.legend(&[
            (Kind::Passed, "passed"),
            (Kind::Failed, "failed"),
            (Kind::Stopped, "stopped early")
        ])
    ));

    // Time saved per week, and the commands that saved most: horizontal bars.
    s.push_str("Time saved per week\n");
    let rows: Vec<(String, f64, String)> = a
        .weeks
        .iter()
        .map(|w| {
            (
                format!("week of {}", &w.from[5..]),
                w.time_saved_s,
                short_duration(w.time_saved_s),
            )
        })
        .collect();
    hbars(&mut s, &rows, st);
    s.push('\n');
    s.push_str("Most time saved, by command\n");
    if a.top_commands.is_empty() {
        s.push_str("  (no early exit saved time yet)\n");
    } else {
        let rows: Vec<(String, f64, String)> = a
            .top_commands
            .iter()
            .map(|c| {
                (
                    c.command.clone(),
                    c.time_saved_s,
                    format!("{} in {} runs", short_duration(c.time_saved_s), c.runs),
                )
            })
            .collect();
        hbars(&mut s, &rows, st);
    }
    s
}

/// Labelled horizontal bars scaled to the widest value.
fn hbars(s: &mut String, rows: &[(String, f64, String)], st: Style) {
    let lw = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .min(st.width / 3);
    let vw = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
    let bar_w = st.width.saturating_sub(lw + 3 + 1 + vw).max(5);
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    let axis = st.ch("│", "|");
    for (label, v, text) in rows {
        let n = scale(*v, max, bar_w);
        let line = format!(
            "{} {axis} {}{} {text}",
            pad(label, lw),
            st.bar(Kind::Saved, n),
            " ".repeat(bar_w - n)
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Style = Style {
        width: 60,
        unicode: true,
        color: false,
    };

    #[test]
    fn dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(20_454), "2026-01-01");
        assert_eq!(date_of(19_782), "2024-02-29");
    }

    #[test]
    fn histogram_marks_the_limit_in_its_bin() {
        let r = histogram(
            "make",
            vec![1.0, 1.2, 1.4, 2.2],
            vec![0.3, 9.0],
            Some(4.1),
            true,
            10,
        );
        assert_eq!(r.bins.len(), 10);
        assert_eq!(r.bins.iter().map(|b| b.normal).sum::<u64>(), 4);
        let text = render_runtimes(&r, PLAIN);
        let marked: Vec<&str> = text.lines().filter(|l| l.contains('◀')).collect();
        assert_eq!(marked.len(), 1, "{text}");
        assert!(marked[0].starts_with("4s-5s "), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 60, "{line}");
        }
        let ascii = render_runtimes(
            &r,
            Style {
                unicode: false,
                ..PLAIN
            },
        );
        assert!(ascii.is_ascii(), "{ascii}");
        assert!(ascii.contains("<- hang limit 4.1s"), "{ascii}");
        let colour = render_runtimes(
            &r,
            Style {
                color: true,
                ..PLAIN
            },
        );
        assert!(colour.contains("\x1b[32m"), "{colour}");
    }

    #[test]
    fn durations() {
        assert_eq!(short_duration(0.25), "250ms");
        assert_eq!(short_duration(12.0), "12s");
        assert_eq!(short_duration(12.34), "12.3s");
        assert_eq!(short_duration(200.0), "3m20s");
        assert_eq!(short_duration(3900.0), "1h05m");
    }
}
