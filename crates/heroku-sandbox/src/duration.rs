//! Durations in the sandbox's options (`150ms`, `2s`, `30m`, `2h`, `1d`; a bare number is
//! minutes, as in heroku-reaper's own options) and in what it prints.

use std::time::Duration;

/// Whole numbers with a unit: `ms`, `s` (`sec`, `secs`), `m` (`min`, `mins`, or none), `h`,
/// `d`: the grammar of heroku-reaper's own options, held to it by a test of heroku-reaper's
/// (`src/duration.rs`) that reads one table of cases with both parsers.
pub fn parse(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "`{text}` is not a duration; write a whole number with a unit, such as `150ms`, `2s`, `30m` or `2h`"
        )
    };
    let too_long = || format!("`{text}` is too long; give one under a few centuries");
    let trimmed = text.trim();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = trimmed.split_at(digits);
    if number.is_empty() {
        return Err(invalid());
    }
    let value: u64 = number.parse().map_err(|_| too_long())?;
    let millis: u64 = match unit.trim() {
        "ms" => 1,
        "s" | "sec" | "secs" => 1_000,
        "" | "m" | "min" | "mins" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(invalid()),
    };
    value
        .checked_mul(millis)
        .map(Duration::from_millis)
        .ok_or_else(too_long)
}

/// Short and coarse: `150ms`, `45s`, `12m`, `3h07m`, `2d04h`.
pub fn format(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 if duration.subsec_millis() > 0 => format!("{}ms", duration.subsec_millis()),
        0..120 => format!("{secs}s"),
        120..7_200 => format!("{}m", secs / 60),
        7_200..172_800 => format!("{}h{:02}m", secs / 3_600, secs % 3_600 / 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_coarsely() {
        let secs = Duration::from_secs;
        assert_eq!(format(Duration::from_millis(150)), "150ms");
        assert_eq!(format(secs(0)), "0s");
        assert_eq!(format(secs(60)), "60s");
        assert_eq!(format(secs(30 * 60)), "30m");
        assert_eq!(format(secs(3 * 3_600 + 7 * 60)), "3h07m");
        assert_eq!(format(secs(2 * 86_400 + 4 * 3_600)), "2d04h");
    }
}
