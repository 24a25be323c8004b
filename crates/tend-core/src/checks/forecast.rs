//! When a filesystem will be full at its current trend: a least-squares line through the used
//! bytes of the recent past, and the `disk_full_forecast` verdict on it.
//!
//! This module owns the arithmetic and its refusals (too little history, no growth); which
//! points to pass is the caller's, who reads them from the stored series.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::catalogue::{DISK_FULL_FORECAST, HISTORY_HOURS};
use super::{CheckSettings, Finding};

/// Fewer points than this say nothing about a trend.
const MIN_POINTS: usize = 4;
/// Points closer together than this see a download or a log rotation, not a trend.
const MIN_SPAN: SignedDuration = SignedDuration::from_hours(1);

/// When the used bytes reach `total` if they keep growing as the least-squares line through
/// `points` (in any order) says, to the second; `now` when that is already past. `None` without
/// at least 4 finite points spanning an hour, when the line is flat or falling, or when it
/// reaches `total` only after the year 9999.
pub fn forecast_full(points: &[(Timestamp, f64)], total: f64, now: Timestamp) -> Option<Timestamp> {
    let points: Vec<(Timestamp, f64)> = points.iter().copied().filter(|(_, used)| used.is_finite()).collect();
    let first = points.iter().map(|(at, _)| *at).min()?;
    let last = points.iter().map(|(at, _)| *at).max()?;
    let span = last.duration_since(first);
    if points.len() < MIN_POINTS || span < MIN_SPAN || !(total.is_finite() && total > 0.0) {
        return None;
    }
    // Seconds since the first point keep the sums small enough for f64 to stay exact.
    let xy: Vec<(f64, f64)> = points.iter().map(|(at, used)| (at.duration_since(first).as_secs_f64(), *used)).collect();
    let (slope, intercept) = least_squares(&xy)?;
    // Less than a byte of growth over the whole history is rounding, not growth.
    if slope * span.as_secs_f64() < 1.0 {
        return None;
    }
    let full_after = ((total - intercept) / slope).round();
    // `as` saturates absurdly distant answers, which `checked_add` then refuses.
    let full_at = first.checked_add(SignedDuration::from_secs(full_after as i64)).ok()?;
    Some(full_at.max(now))
}

/// Slope and intercept of the least-squares line through the points; `None` when all points
/// share one x.
fn least_squares(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    (sxx > 0.0).then(|| {
        let slope = sxy / sxx;
        (slope, mean_y - slope * mean_x)
    })
}

/// The `disk_full_forecast` verdict on one filesystem: the forecast over the points of the
/// last `history_hours` (all points without that param), compared with the thresholds in days
/// until full, fewer being worse. The caller skips a disabled check.
pub fn forecast_finding(
    settings: &CheckSettings,
    mountpoint: &str,
    points: &[(Timestamp, f64)],
    total: f64,
    now: Timestamp,
) -> Finding {
    let history =
        settings.param(HISTORY_HOURS).and_then(|hours| SignedDuration::try_from_secs_f64(hours * 3600.0).ok());
    let since = history.and_then(|history| now.checked_sub(history).ok()).unwrap_or(Timestamp::MIN);
    let recent: Vec<(Timestamp, f64)> = points.iter().copied().filter(|(at, _)| *at >= since).collect();
    let (problem, summary, full_at) = match forecast_full(&recent, total, now) {
        None => (None, "no growth toward full".to_owned(), None),
        Some(full_at) => {
            let days = full_at.duration_since(now).as_secs_f64() / 86_400.0;
            (
                settings.level_at_most(days),
                format!("full in {days:.1} days at this trend, around {full_at}"),
                Some(full_at),
            )
        }
    };
    Finding {
        check: DISK_FULL_FORECAST.to_owned(),
        target: mountpoint.to_owned(),
        problem,
        summary,
        evidence: json!({ "full_at": full_at, "total_bytes": total, "points": recent.len() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Level, default_checks};

    const GB: f64 = 1e9;

    fn at(hours: f64) -> Timestamp {
        Timestamp::from_second(1_800_000_000)
            .unwrap()
            .checked_add(SignedDuration::from_secs_f64(hours * 3600.0))
            .unwrap()
    }

    /// Used bytes every `step` hours for `count` points, from `start` GB, growing `per_hour` GB,
    /// plus the noise of each point in turn.
    fn series(count: usize, step: f64, start: f64, per_hour: f64, noise: &[f64]) -> Vec<(Timestamp, f64)> {
        (0..count)
            .map(|i| {
                let hours = i as f64 * step;
                let jitter = if noise.is_empty() { 0.0 } else { noise[i % noise.len()] };
                (at(hours), (start + per_hour * hours + jitter) * GB)
            })
            .collect()
    }

    #[test]
    fn linear_growth_gives_the_exact_date() {
        // 50 GB used, +1 GB an hour, 100 GB disk: full 50 hours after the first point.
        let points = series(10, 1.0, 50.0, 1.0, &[]);
        assert_eq!(forecast_full(&points, 100.0 * GB, at(9.0)), Some(at(50.0)));
        let mut shuffled = points.clone();
        shuffled.reverse();
        assert_eq!(forecast_full(&shuffled, 100.0 * GB, at(9.0)), Some(at(50.0)), "order does not matter");
    }

    #[test]
    fn noise_moves_the_date_only_a_little() {
        let points = series(48, 0.5, 50.0, 1.0, &[0.4, -0.3, 0.1, -0.5, 0.3]);
        let full_at = forecast_full(&points, 100.0 * GB, at(24.0)).unwrap();
        let off = full_at.duration_since(at(50.0)).abs();
        assert!(off < SignedDuration::from_mins(30), "{full_at} is {off:?} off");
    }

    #[test]
    fn refusals() {
        let cases = [
            // (what, points, total)
            ("flat", series(10, 1.0, 50.0, 0.0, &[]), 100.0 * GB),
            ("shrinking", series(10, 1.0, 50.0, -1.0, &[]), 100.0 * GB),
            ("three points", series(3, 1.0, 50.0, 1.0, &[]), 100.0 * GB),
            ("under an hour", series(4, 0.3, 50.0, 1.0, &[]), 100.0 * GB),
            ("no total", series(10, 1.0, 50.0, 1.0, &[]), 0.0),
            ("infinite total", series(10, 1.0, 50.0, 1.0, &[]), f64::INFINITY),
            ("past year 9999", series(10, 1.0, 50.0, 1e-9, &[]), 1e30),
            ("no points", vec![], 100.0 * GB),
        ];
        for (what, points, total) in cases {
            assert_eq!(forecast_full(&points, total, at(9.0)), None, "{what}");
        }
    }

    #[test]
    fn a_flat_series_of_inexact_values_is_still_flat() {
        let points: Vec<(Timestamp, f64)> = (0..10).map(|i| (at(f64::from(i)), 0.1)).collect();
        assert_eq!(forecast_full(&points, 1.0, at(9.0)), None);
    }

    #[test]
    fn non_finite_points_are_ignored() {
        let mut points = series(10, 1.0, 50.0, 1.0, &[]);
        points.push((at(3.5), f64::NAN));
        assert_eq!(forecast_full(&points, 100.0 * GB, at(9.0)), Some(at(50.0)));
    }

    #[test]
    fn a_trend_already_past_full_is_full_now() {
        let points = series(10, 1.0, 95.0, 1.0, &[]);
        assert_eq!(forecast_full(&points, 100.0 * GB, at(9.0)), Some(at(9.0)));
    }

    fn forecast_settings() -> CheckSettings {
        default_checks().into_iter().find(|check| check.name == DISK_FULL_FORECAST).unwrap().defaults
    }

    #[test]
    fn verdicts_walk_toward_full() {
        // A 100 GB disk growing 1 GB a day, watched for two days; warning at 14 days, critical at 3.
        let cases = [
            // (GB used two days ago, level, summary)
            (50.0, None, "full in 48.0 days"),
            (85.0, Some(Level::Warning), "full in 13.0 days"),
            (96.0, Some(Level::Critical), "full in 2.0 days"),
        ];
        for (start, expected, summary) in cases {
            let points = series(48, 1.0, start, 1.0 / 24.0, &[]);
            let finding = forecast_finding(&forecast_settings(), "/var", &points, 100.0 * GB, at(47.0));
            assert_eq!(finding.problem, expected, "{start}: {}", finding.summary);
            assert!(finding.summary.starts_with(summary), "{start}: {}", finding.summary);
            assert_eq!((finding.check.as_str(), finding.target.as_str()), ("disk_full_forecast", "/var"));
        }
    }

    #[test]
    fn only_the_history_window_counts() {
        // Fast growth long ago, flat for the last two days: no forecast with the 48 h window.
        let mut points = series(10, 1.0, 10.0, 5.0, &[]);
        points.extend((0..48).map(|i| (at(100.0 + f64::from(i)), 60.0 * GB)));
        let settings = forecast_settings();
        let finding = forecast_finding(&settings, "/", &points, 100.0 * GB, at(147.0));
        assert_eq!((finding.problem, finding.summary.as_str()), (None, "no growth toward full"));
        assert_eq!(finding.evidence["points"], 48);
        let mut everything = settings;
        everything.params.clear();
        assert!(forecast_finding(&everything, "/", &points, 100.0 * GB, at(147.0)).evidence["full_at"].is_string());
    }
}
