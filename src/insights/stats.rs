//! Sample mean with a two-sided 95 % confidence interval (Student's t).

/// A mean with its sample size and 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    /// Arithmetic mean.
    pub mean: f64,
    /// How many values.
    pub n: u32,
    /// Lower bound of the 95 % interval.
    pub low: f64,
    /// Upper bound of the 95 % interval.
    pub high: f64,
}

/// t(0.975, df) for df = 1..=30, the usual table values.
const T_TABLE: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// z(0.975), the normal quantile the t quantile tends to.
const Z_975: f64 = 1.959_963_984_540_054;

/// The 0.975 quantile of Student's t with `df` degrees of freedom.
///
/// Table values up to 30; beyond, the Cornish–Fisher expansion in 1/df
/// (three terms), which is within 1e-4 of the exact value from df = 30 on.
/// `df = 0` has no t distribution; it returns infinity.
pub fn t_975(df: u32) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_TABLE[(df - 1) as usize],
        _ => {
            let z = Z_975;
            let v = f64::from(df);
            z + (z.powi(3) + z) / (4.0 * v)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z)
                    / (384.0 * v * v * v)
        }
    }
}

/// Mean and 95 % interval `mean ± t(0.975, n−1) · s / √n`, with `s` the
/// sample standard deviation (n − 1 denominator). `None` for no values.
///
/// With one value the spread is unknown; the interval collapses to the mean
/// (low = high = mean) rather than being infinite, and `n = 1` tells the
/// reader it carries no confidence. Bounds are not clamped to 0..100: the
/// interval is the statistic, and clamping would hide how wide it is.
pub fn mean_ci(values: &[f64]) -> Option<MeanCi> {
    let n = u32::try_from(values.len()).ok().filter(|&n| n > 0)?;
    let count = f64::from(n);
    let mean = values.iter().sum::<f64>() / count;
    if n == 1 {
        return Some(MeanCi {
            mean,
            n,
            low: mean,
            high: mean,
        });
    }
    // Two passes: numerically stable for the thousands of values a trend sees.
    let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (count - 1.0);
    let half_width = t_975(n - 1) * variance.sqrt() / count.sqrt();
    Some(MeanCi {
        mean,
        n,
        low: mean - half_width,
        high: mean + half_width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn three_scores_use_t_with_two_degrees_of_freedom() {
        let m = mean_ci(&[60.0, 80.0, 100.0]).expect("mean");
        assert_eq!(m.n, 3);
        assert!(close(m.mean, 80.0));
        // sd = 20, t(0.975, 2) = 4.303.
        let half = 4.303 * 20.0 / 3f64.sqrt();
        assert!(close(m.low, 80.0 - half), "{m:?}");
        assert!(close(m.high, 80.0 + half), "{m:?}");
    }

    #[test]
    fn one_score_has_a_collapsed_interval() {
        let m = mean_ci(&[72.5]).expect("mean");
        assert_eq!((m.mean, m.n, m.low, m.high), (72.5, 1, 72.5, 72.5));
    }

    #[test]
    fn no_scores_have_no_mean() {
        assert_eq!(mean_ci(&[]), None);
    }

    #[test]
    fn equal_scores_have_zero_width() {
        let m = mean_ci(&[50.0, 50.0, 50.0, 50.0]).expect("mean");
        assert!(close(m.low, 50.0) && close(m.high, 50.0));
    }

    #[test]
    fn two_scores_use_the_wide_df1_quantile() {
        // mean 50, sd = √((50² + 50²)/1) = 70.7107, half = 12.706 · 70.7107 / √2 = 635.3.
        let m = mean_ci(&[0.0, 100.0]).expect("mean");
        assert!(close(m.high - m.mean, 12.706 * 50.0));
    }

    #[test]
    fn the_expansion_continues_the_table_smoothly() {
        assert!((t_975(30) - 2.042).abs() < 1e-3);
        assert!((t_975(31) - 2.0395).abs() < 1e-3);
        assert!((t_975(60) - 2.0003).abs() < 1e-3);
        assert!((t_975(120) - 1.9799).abs() < 1e-3);
        assert!((t_975(1_000_000) - Z_975).abs() < 1e-5);
        assert!(t_975(0).is_infinite());
    }
}
