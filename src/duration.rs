//! Durations as people type them on a command line: `90s`, `10m`, `2h`, `1d`.
//! A bare number means minutes, as in `hatchet destroy --older-than 10`.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "`{0}` is not a duration; write a number with a unit, such as `90s`, `10m`, `2h` or `1d`"
    )]
    Invalid(String),
    #[error("`{0}` is too long a duration; give one under a few centuries, such as `30d`")]
    TooLong(String),
}

/// Parses `N`, `Ns`, `Nm`, `Nh`, `Nd` and `Nms` (whole numbers; a bare number is minutes).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(text.to_string());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    if digits.is_empty() {
        return Err(invalid());
    }
    let value: u64 = digits
        .parse()
        .map_err(|_| DurationError::TooLong(text.to_string()))?;
    let millis_per_unit: u64 = match unit.trim() {
        "ms" => 1,
        "s" | "sec" | "secs" => 1_000,
        "" | "m" | "min" | "mins" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(invalid()),
    };
    value
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| DurationError::TooLong(text.to_string()))
}

/// Short human form, coarse on purpose: `45s`, `12m`, `3h07m`, `2d04h`.
pub fn format(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 if duration.subsec_millis() > 0 => format!("{}ms", duration.subsec_millis()),
        0..=119 => format!("{secs}s"),
        120..=7_199 => format!("{}m", secs / 60),
        7_200..=172_799 => format!("{}h{:02}m", secs / 3_600, secs % 3_600 / 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_numbers_are_minutes() {
        assert_eq!(parse("10"), Ok(Duration::from_secs(600)));
    }

    #[test]
    fn units() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("7m"), Ok(Duration::from_secs(420)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse(" 3 m "), Ok(Duration::from_secs(180)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "m", "-5m", "1.5h", "10 minutes", "5w", "1e3"] {
            assert!(
                matches!(parse(bad), Err(DurationError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse("99999999999999999999d"),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            parse("999999999999999999d"),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn formats_coarsely() {
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format(Duration::from_secs(45)), "45s");
        assert_eq!(format(Duration::from_secs(12 * 60 + 5)), "12m");
        assert_eq!(format(Duration::from_secs(3 * 3600 + 7 * 60)), "3h07m");
        assert_eq!(format(Duration::from_secs(2 * 86_400 + 4 * 3600)), "2d04h");
    }
}
