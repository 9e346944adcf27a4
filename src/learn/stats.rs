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

/// A learned pattern is applied automatically from this score on (5 caught failures, none false).
pub const APPLY_SCORE: f64 = 0.6;
/// ... and with at least this many true positives.
pub const MIN_TP: u64 = 3;
/// See `Counts::proven_bad`.
pub const PROFILE_MIN_PRECISION: f64 = 0.8;
/// A learned timeout needs this many normal (successful, not stopped) runs.
pub const MIN_TIMEOUT_SAMPLES: u64 = 8;
/// The learned timeout is not applied after it stopped this many runs of the command in a row,
/// until a run ends by itself.
pub const MAX_TIMEOUT_STOPS: u64 = 2;
/// A learned quiet gap needs this many observed post-match bursts.
pub const MIN_BURST_SAMPLES: u64 = 3;
/// The learned quiet gap stays within these bounds (seconds).
pub const QUIET_MIN: f64 = 0.2;
pub const QUIET_MAX: f64 = 3.0;

/// Recommended timeout (seconds) from the runtimes of normal runs:
/// max(mean + 2σ, 1.5 × mean, mean + 1 s), rounded up to a readable value.
pub fn timeout_from(w: &Welford) -> f64 {
    let t = (w.mean + 2.0 * w.stddev())
        .max(1.5 * w.mean)
        .max(w.mean + 1.0);
    round_up(t)
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
    fn scores_and_thresholds() {
        let five = Counts {
            tp: 5,
            fp: 0,
            fneg: 0,
        };
        let four = Counts {
            tp: 4,
            fp: 0,
            fneg: 0,
        };
        assert!(five.score() >= APPLY_SCORE);
        assert!(four.score() < APPLY_SCORE);
        let noisy = Counts {
            tp: 5,
            fp: 5,
            fneg: 0,
        };
        assert!(noisy.score() < five.score());
        let missing = Counts {
            tp: 5,
            fp: 0,
            fneg: 5,
        };
        assert!(missing.score() < APPLY_SCORE);
        assert!(Counts {
            tp: 0,
            fp: 1,
            fneg: 0
        }
        .proven_bad());
        assert!(!Counts::default().proven_bad());
        assert!(!Counts {
            tp: 5,
            fp: 1,
            fneg: 0
        }
        .proven_bad());
    }

    #[test]
    fn timeout_formula() {
        let mut w = Welford::default();
        for x in [0.2, 0.21, 0.19, 0.2, 0.22, 0.2, 0.18, 0.2, 0.21, 0.2] {
            w.push(x);
        }
        let t = timeout_from(&w);
        assert!(t >= w.mean + 2.0 * w.stddev());
        assert!((1.2..=1.31).contains(&t), "{t}");
        let mut w = Welford::default();
        for x in [100.0, 140.0, 60.0, 100.0] {
            w.push(x);
        }
        let t = timeout_from(&w);
        assert!(t >= w.mean + 2.0 * w.stddev() && t <= 200.0, "{t}");
        assert_eq!(round_up(1.21), 1.3);
        assert_eq!(round_up(1.2), 1.2);
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
