//! The statistics behind every recommendation: Welford running mean/variance, the Wilson score
//! interval, the pattern score and the timeout formula. Pure functions, no I/O.

/// z for a one-sided 95 % bound.
pub const Z: f64 = 1.645;

/// Running mean and variance (Welford), as stored in the aggregate rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Welford {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Welford {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Sample standard deviation (0 with fewer than two samples).
    pub fn stddev(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2.max(0.0) / (self.n - 1) as f64).sqrt()
        }
    }
}

/// Lower and upper bounds of the Wilson score interval for `k` successes out of `n`.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n;
    let centre = p + z2 / (2.0 * n);
    let spread = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    (
        ((centre - spread) / denom).clamp(0.0, 1.0),
        ((centre + spread) / denom).clamp(0.0, 1.0),
    )
}

/// Judgement counts of one pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Matched in a run that failed.
    pub tp: u64,
    /// Matched in a run that succeeded.
    pub fp: u64,
    /// Did not match in a run that failed.
    pub fneg: u64,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fneg)
    }
    /// Score = Wilson lower bound (z = 1.645) of precision × recall.
    pub fn score(&self) -> f64 {
        wilson(self.tp, self.tp + self.fp).0 * self.recall()
    }
    /// A profile pattern has proven bad when even the upper Wilson bound of its precision is
    /// below `PROFILE_MIN_PRECISION`.
    pub fn proven_bad(&self) -> bool {
        self.tp + self.fp > 0 && wilson(self.tp, self.tp + self.fp).1 < PROFILE_MIN_PRECISION
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// A pattern stops runs of a project and command identity only once confirmed there: it caught
/// this many failed runs that ended by themselves ...
pub const CONFIRM_TP: u64 = 2;
/// ... and was watched in this many passing runs in which it did not match, with no match in a
/// passing run at all (one withdraws it).
pub const CONFIRM_TN: u64 = 2;
/// An applied pattern is checked in shadow (the run it would stop is let finish and judged)
/// after this many stops since its last check ...
pub const CHECK_EVERY: u64 = 5;
/// ... or when it stopped a run and was last checked longer ago than this (seconds: 7 days).
pub const CHECK_AGE: f64 = 7.0 * 86_400.0;
/// A confirmed pattern is applied only when it matches early enough to be worth a stop: on
/// average at least this long (seconds) before the end of failed runs, and at least
/// `MIN_LEAD_SHARE` of their mean runtime. One that matches in the final summary would save
/// nothing and could cut the failure's details short.
pub const MIN_LEAD: f64 = 0.5;
pub const MIN_LEAD_SHARE: f64 = 0.1;
/// See `Counts::proven_bad`.
pub const PROFILE_MIN_PRECISION: f64 = 0.8;
/// A learned timeout (hang detector) needs this many normal (successful, not stopped) runs.
pub const MIN_TIMEOUT_SAMPLES: u64 = 5;
/// The hang limit: max(HANG_FACTOR × base, base + HANG_MARGIN) where base is the second-longest
/// of the recent normal runtimes (one slow run never decides) ...
pub const HANG_FACTOR: f64 = 3.0;
pub const HANG_MARGIN: f64 = 5.0;
/// ... and past it, a run is stopped only once its output has been quiet this long (at least
/// HANG_QUIET_MIN seconds, or a quarter of the limit when that is longer).
pub const HANG_QUIET_MIN: f64 = 5.0;
/// The learned timeout is not applied after it stopped this many runs of the command in a row,
/// until a run ends by itself.
pub const MAX_TIMEOUT_STOPS: u64 = 2;
/// A learned quiet gap needs this many observed post-match bursts.
pub const MIN_BURST_SAMPLES: u64 = 3;
/// The learned quiet gap stays within these bounds (seconds).
pub const QUIET_MIN: f64 = 0.2;
pub const QUIET_MAX: f64 = 3.0;

/// The learned hang detector of a project and command identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Hang {
    /// A run is stopped only after this long (seconds) ...
    pub seconds: f64,
    /// ... and once its output has been quiet this long.
    pub quiet: f64,
    /// The base runtime: second-longest of the samples.
    pub base: f64,
    /// Which term decided, e.g. `3 × 1.02s` or `1.02s + 5s`, and `× 2` per false stop.
    pub term: String,
}

/// The hang detector from recent normal runtimes (`None` with fewer than
/// `MIN_TIMEOUT_SAMPLES`); each of the user's `--false-positive` on its stops doubles it.
pub fn hang_from(samples: &[f64], false_stops: u64) -> Option<Hang> {
    if (samples.len() as u64) < MIN_TIMEOUT_SAMPLES {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let base = v[1];
    let (t, mut term) = if HANG_FACTOR * base >= base + HANG_MARGIN {
        (HANG_FACTOR * base, format!("{HANG_FACTOR} × {base:.2}s"))
    } else {
        (base + HANG_MARGIN, format!("{base:.2}s + {HANG_MARGIN}s"))
    };
    let mult = 2f64.powi(false_stops.min(16) as i32);
    if false_stops > 0 {
        term.push_str(&format!(" × {mult} ({false_stops} false stop(s))"));
    }
    let seconds = round_up(t * mult);
    Some(Hang {
        seconds,
        quiet: round_up((seconds / 4.0).max(HANG_QUIET_MIN)),
        base,
        term,
    })
}

/// Round down to two decimals: what is shown never reaches a bound the value did not.
pub fn floor2(x: f64) -> f64 {
    (x * 100.0 + 1e-9).floor() / 100.0
}

/// Round up: to 0.1 s below 10 s, to 1 s below 2 min, to 5 s below 10 min, then to 30 s.
pub fn round_up(t: f64) -> f64 {
    // Per step: (multiplier, divisor), so that 0.1-steps divide by 10 and stay exact.
    let (mul, div) = if t < 10.0 {
        (10.0, 10.0)
    } else if t < 120.0 {
        (1.0, 1.0)
    } else if t < 600.0 {
        (0.2, 0.2)
    } else {
        (1.0 / 30.0, 1.0 / 30.0)
    };
    (t * mul - 1e-9).ceil() / div
}

/// Confidence of a mean estimated from `n` samples: 1 − 1/√n.
pub fn sample_confidence(n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        1.0 - 1.0 / (n as f64).sqrt()
    }
}

/// Quiet gap after a match (seconds) from the largest gaps seen inside post-match bursts:
/// mean + 2σ + 0.1 s, within [QUIET_MIN, QUIET_MAX].
pub fn quiet_from(w: &Welford) -> f64 {
    let q = w.mean + 2.0 * w.stddev() + 0.1;
    (q.clamp(QUIET_MIN, QUIET_MAX) * 100.0).ceil() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_two_pass() {
        let xs = [0.21, 0.19, 0.2, 0.25, 0.18];
        let mut w = Welford::default();
        xs.iter().for_each(|&x| w.push(x));
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!((w.mean - mean).abs() < 1e-12);
        assert!((w.stddev() - var.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn wilson_bounds() {
        let (lo, hi) = wilson(5, 5);
        assert!((lo - 0.649).abs() < 0.01, "{lo}");
        assert!(hi > 0.999);
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        let (lo, hi) = wilson(50, 100);
        assert!(lo < 0.5 && hi > 0.5 && lo > 0.4 && hi < 0.6);
    }

    #[test]
    fn scores() {
        let five = Counts {
            tp: 5,
            fp: 0,
            fneg: 0,
        };
        let noisy = Counts {
            tp: 5,
            fp: 5,
            fneg: 0,
        };
        assert!(noisy.score() < five.score());
        assert!(Counts {
            tp: 0,
            fp: 1,
            fneg: 0
        }
        .proven_bad());
        assert!(!Counts::default().proven_bad());
        assert_eq!(floor2(0.5965), 0.59);
        assert_eq!(floor2(0.6), 0.6);
    }

    #[test]
    fn hang_formula() {
        assert_eq!(hang_from(&[1.0; 4], 0), None);
        let h = hang_from(&[1.0, 1.1, 0.9, 1.0, 1.05], 0).unwrap();
        assert_eq!((h.seconds, h.quiet), (6.1, 5.0));
        assert!(h.term.contains("+ 5s"), "{h:?}");
        // One slow run does not decide; the second-longest does.
        let h = hang_from(&[1.0, 1.1, 30.0, 1.0, 1.05], 0).unwrap();
        assert_eq!(h.seconds, 6.1);
        let h = hang_from(&[100.0, 110.0, 90.0, 100.0, 105.0], 0).unwrap();
        assert_eq!((h.seconds, h.quiet), (315.0, 79.0));
        assert!(h.term.starts_with("3 × 105"), "{h:?}");
        let h = hang_from(&[1.0; 5], 1).unwrap();
        assert_eq!(h.seconds, 12.0);
    }

    #[test]
    fn quiet_bounds() {
        let mut w = Welford::default();
        w.push(0.0);
        w.push(0.01);
        assert_eq!(quiet_from(&w), QUIET_MIN);
        let mut w = Welford::default();
        w.push(0.5);
        w.push(0.7);
        let q = quiet_from(&w);
        assert!(q > 0.7 && q < QUIET_MAX);
    }
}
