//! Distributions, percentiles and the tests the reports use.

use hdrhistogram::Histogram;

/// Values kept exactly before a distribution switches to a histogram.
const EXACT_LIMIT: usize = 100_000;

/// Significant decimal digits of the histogram: values are kept within
/// 0.1% (relative error of a reported percentile at most 0.1%).
const SIGNIFICANT_DIGITS: u8 = 3;

/// Durations (nanoseconds, or any non-negative integers): exact while
/// small, an HDR histogram (0.1% relative error, a few tens of KB whatever
/// the count) once past 100,000 values. Mergeable.
#[derive(Clone, Debug, Default)]
pub struct Distribution {
    exact: Vec<u64>,
    sketch: Option<Histogram<u64>>,
    count: u64,
    max: u64,
}

impl Distribution {
    /// Adds one value.
    pub fn add(&mut self, value: u64) {
        self.count += 1;
        self.max = self.max.max(value);
        match &mut self.sketch {
            Some(sketch) => record(sketch, value),
            None => {
                self.exact.push(value);
                if self.exact.len() > EXACT_LIMIT {
                    self.switch_to_sketch();
                }
            }
        }
    }

    fn switch_to_sketch(&mut self) {
        let mut sketch =
            Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid setting");
        for value in self.exact.drain(..) {
            record(&mut sketch, value);
        }
        self.exact.shrink_to_fit();
        self.sketch = Some(sketch);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Distribution) {
        match &other.sketch {
            Some(theirs) => {
                if self.sketch.is_none() {
                    self.switch_to_sketch();
                }
                if let Some(ours) = &mut self.sketch {
                    // Auto-resizing histograms of the same precision merge.
                    let _ = ours.add(theirs);
                }
                self.count += other.count;
                self.max = self.max.max(other.max);
            }
            None => {
                for &value in &other.exact {
                    self.add(value);
                }
            }
        }
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest value (exact).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Whether percentiles are exact (not yet a histogram).
    pub fn is_exact(&self) -> bool {
        self.sketch.is_none()
    }

    /// The `q`-quantile (0..=1) by the nearest-rank method: the smallest
    /// value with at least `q` of the values at or below it. `None` when
    /// empty.
    pub fn quantile(&mut self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        match &self.sketch {
            Some(sketch) => Some(sketch.value_at_quantile(q).min(self.max)),
            None => {
                self.exact.sort_unstable();
                let rank = ((q * self.exact.len() as f64).ceil() as usize).max(1);
                Some(self.exact[rank - 1])
            }
        }
    }

    /// How many values are below `bound` (exact while exact; within the
    /// histogram's precision after).
    pub fn count_below(&self, bound: u64) -> u64 {
        match &self.sketch {
            Some(sketch) => sketch
                .iter_recorded()
                .filter(|bucket| bucket.value_iterated_to() < bound)
                .map(|bucket| bucket.count_at_value())
                .sum(),
            None => self.exact.iter().filter(|&&value| value < bound).count() as u64,
        }
    }
}

/// Records `value`, growing the histogram's range as needed (it starts
/// small and auto-resizes, so memory follows the values seen).
fn record(sketch: &mut Histogram<u64>, value: u64) {
    if sketch.record(value).is_err() {
        sketch.saturating_record(value);
    }
}

/// A uniform sample of at most `capacity` values (reservoir sampling, with
/// a fixed seed so that reports are repeatable).
#[derive(Clone, Debug)]
pub struct Reservoir {
    capacity: usize,
    seen: u64,
    values: Vec<f64>,
    state: u64,
}

impl Reservoir {
    /// A reservoir of `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Reservoir {
            capacity,
            seen: 0,
            values: Vec::new(),
            state: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Offers one value.
    pub fn add(&mut self, value: f64) {
        self.seen += 1;
        if self.values.len() < self.capacity {
            self.values.push(value);
            return;
        }
        // xorshift64*: repeatable, uniform enough for sampling.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let random = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let slot = random % self.seen;
        if (slot as usize) < self.capacity {
            self.values[slot as usize] = value;
        }
    }

    /// The sample.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

/// The Mann-Whitney U test of two samples: U of the first, and the
/// two-sided p-value by the normal approximation with tie correction.
/// `None` when a sample is empty.
pub fn mann_whitney(first: &[f64], second: &[f64]) -> Option<(f64, f64)> {
    let (n1, n2) = (first.len() as f64, second.len() as f64);
    if first.is_empty() || second.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = first
        .iter()
        .map(|&value| (value, true))
        .chain(second.iter().map(|&value| (value, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let (mut rank_sum_first, mut ties) = (0.0, 0.0);
    let mut index = 0;
    while index < n {
        let mut end = index;
        while end + 1 < n && all[end + 1].0 == all[index].0 {
            end += 1;
        }
        // Tied values share the mean of their ranks (1-based).
        let rank = (index + end) as f64 / 2.0 + 1.0;
        let tied = (end - index + 1) as f64;
        ties += tied * tied * tied - tied;
        rank_sum_first += rank * all[index..=end].iter().filter(|(_, first)| *first).count() as f64;
        index = end + 1;
    }
    let u = rank_sum_first - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let total = n1 + n2;
    let variance = n1 * n2 / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    if variance <= 0.0 {
        return Some((u, 1.0));
    }
    let z = (u - mean).abs() / variance.sqrt();
    Some((u, (2.0 * normal_upper_tail(z)).min(1.0)))
}

/// P(Z > z) for a standard normal Z (Abramowitz and Stegun 7.1.26 for
/// erfc; absolute error below 1.5e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    erfc / 2.0
}

/// Pearson's correlation of pairs, accumulated one pair at a time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Correlation {
    n: f64,
    mean_x: f64,
    mean_y: f64,
    m2_x: f64,
    m2_y: f64,
    c_xy: f64,
}

impl Correlation {
    /// Adds one pair (Welford's update: stable over millions of pairs).
    pub fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        let dx = x - self.mean_x;
        self.mean_x += dx / self.n;
        let dy = y - self.mean_y;
        self.mean_y += dy / self.n;
        self.m2_x += dx * (x - self.mean_x);
        self.m2_y += dy * (y - self.mean_y);
        self.c_xy += dx * (y - self.mean_y);
    }

    /// The coefficient, `None` with fewer than two pairs or no spread.
    pub fn coefficient(&self) -> Option<f64> {
        (self.n >= 2.0 && self.m2_x > 0.0 && self.m2_y > 0.0)
            .then(|| self.c_xy / (self.m2_x * self.m2_y).sqrt())
    }

    /// How many pairs.
    pub fn count(&self) -> u64 {
        self.n as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_percentiles_use_the_nearest_rank() {
        let mut distribution = Distribution::default();
        for value in 1..=100 {
            distribution.add(value);
        }
        assert_eq!(distribution.quantile(0.5), Some(50));
        assert_eq!(distribution.quantile(0.95), Some(95));
        assert_eq!(distribution.quantile(0.99), Some(99));
        assert_eq!(distribution.quantile(1.0), Some(100));
        assert_eq!(distribution.count_below(11), 10);
        assert!(distribution.is_exact());
    }

    #[test]
    fn large_inputs_switch_to_a_histogram_within_its_error() {
        let mut distribution = Distribution::default();
        for value in 1..=1_000_000u64 {
            distribution.add(value * 1_000);
        }
        assert!(!distribution.is_exact());
        let p99 = distribution.quantile(0.99).unwrap() as f64;
        assert!((p99 / 990_000_000.0 - 1.0).abs() < 0.001, "{p99}");
        assert_eq!(distribution.max(), 1_000_000_000);
        assert_eq!(distribution.count(), 1_000_000);
    }

    #[test]
    fn mann_whitney_tells_shifted_samples_apart() {
        let a: Vec<f64> = (0..200).map(f64::from).collect();
        let shifted: Vec<f64> = (0..200).map(|x| f64::from(x) + 60.0).collect();
        let same: Vec<f64> = (0..200).map(|x| f64::from(x) + 0.5).collect();
        let (_, p_shifted) = mann_whitney(&a, &shifted).unwrap();
        let (_, p_same) = mann_whitney(&a, &same).unwrap();
        assert!(p_shifted < 1e-6, "{p_shifted}");
        assert!(p_same > 0.5, "{p_same}");
        // Known small case: U of [1, 2] against [3, 4] is 0.
        assert_eq!(mann_whitney(&[1.0, 2.0], &[3.0, 4.0]).unwrap().0, 0.0);
        assert!((normal_upper_tail(1.959_964) - 0.025).abs() < 1e-6);
    }

    #[test]
    fn correlation_of_known_pairs() {
        let mut perfect = Correlation::default();
        let mut opposite = Correlation::default();
        for x in 0..100 {
            perfect.add(f64::from(x), 2.0 * f64::from(x) + 1.0);
            opposite.add(f64::from(x), -f64::from(x));
        }
        assert!((perfect.coefficient().unwrap() - 1.0).abs() < 1e-12);
        assert!((opposite.coefficient().unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(Correlation::default().coefficient(), None);
    }
}
