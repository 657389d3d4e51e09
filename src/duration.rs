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

/// Parses `N`, `Ns`, `Nm`, `Nh`, `Nd` and `Nms` (whole numbers; a bare number is minutes;
/// `sec`, `secs`, `min` and `mins` too). The sandbox's options read the same grammar: a
/// test below holds both parsers to one table of cases.
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

/// In the largest unit that divides it, as it would be typed: `90s`, `10m`, `1h`, `7d`.
pub fn format_exact(duration: Duration) -> String {
    let millis = duration.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    match units
        .iter()
        .find(|(size, _)| millis > 0 && millis.is_multiple_of(*size))
    {
        Some((size, unit)) => format!("{}{unit}", millis / size),
        None => format!("{millis}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a text means: its milliseconds, or why it is refused.
    #[derive(Debug, PartialEq)]
    enum Read {
        Millis(u128),
        Invalid,
        TooLong,
    }
    use Read::{Invalid, Millis, TooLong};

    /// One grammar for the product and the sandbox: the sandbox's options
    /// (`heroku_sandbox::parse_duration`) read every case as heroku-reaper's do.
    #[test]
    fn reads_each_case_as_the_sandbox_does() {
        let cases = [
            ("10", Millis(600_000)),
            ("30", Millis(1_800_000)),
            ("0ms", Millis(0)),
            ("150ms", Millis(150)),
            ("250ms", Millis(250)),
            ("2s", Millis(2_000)),
            ("90s", Millis(90_000)),
            ("90sec", Millis(90_000)),
            ("90secs", Millis(90_000)),
            ("7m", Millis(420_000)),
            ("30m", Millis(1_800_000)),
            ("10min", Millis(600_000)),
            ("10mins", Millis(600_000)),
            ("2h", Millis(7_200_000)),
            ("1d", Millis(86_400_000)),
            (" 2h ", Millis(7_200_000)),
            (" 3 m ", Millis(180_000)),
            ("", Invalid),
            ("m", Invalid),
            ("ms", Invalid),
            ("-5m", Invalid),
            ("-1s", Invalid),
            ("1.5s", Invalid),
            ("1.5h", Invalid),
            ("10 minutes", Invalid),
            ("2 weeks", Invalid),
            ("5w", Invalid),
            ("10x", Invalid),
            ("1e3", Invalid),
            ("2M", Invalid),
            ("99999999999999999d", TooLong),
            ("999999999999999999d", TooLong),
            ("99999999999999999999d", TooLong),
            ("99999999999999999999", TooLong),
        ];
        for (text, expected) in cases {
            let ours = match parse(text) {
                Ok(duration) => Millis(duration.as_millis()),
                Err(DurationError::Invalid(_)) => Invalid,
                Err(DurationError::TooLong(_)) => TooLong,
            };
            let sandbox = match heroku_sandbox::parse_duration(text) {
                Ok(duration) => Millis(duration.as_millis()),
                Err(error) if error.contains("is not a duration") => Invalid,
                Err(error) if error.contains("too long") => TooLong,
                Err(error) => panic!("{text:?}: {error}"),
            };
            assert_eq!(ours, expected, "{text:?}");
            assert_eq!(sandbox, expected, "the sandbox's {text:?}");
        }
    }

    #[test]
    fn formats_exactly_in_the_largest_unit() {
        for (millis, text) in [
            (0, "0ms"),
            (250, "250ms"),
            (90_000, "90s"),
            (600_000, "10m"),
            (3_600_000, "1h"),
            (7 * 86_400_000, "7d"),
        ] {
            let duration = Duration::from_millis(millis);
            assert_eq!(format_exact(duration), text);
            assert_eq!(parse(text), Ok(duration));
        }
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
