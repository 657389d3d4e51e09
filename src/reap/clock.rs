//! Whose clock ages are measured by. Apps' `created_at` is Heroku's time, and the `Date`
//! header of each listing's answer tells Heroku's "now"; the runner has its own. An app
//! is old only when it is old by both: "now" is the earlier of the two clocks, so
//! neither a runner nor a server whose clock runs ahead can make a young app look old.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::duration;

/// A skew larger than this is a warning: on stderr, in the report, on a runner. Clocks
/// kept by NTP agree within a second; minutes apart, one of them is wrong.
const WARN_SKEW_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Heroku's, from the `Date` header of a listing's answer: the local clock was not
    /// behind it.
    Heroku,
    /// The local clock: it was behind Heroku's, or no listing had a readable `Date`.
    Local,
}

/// The earlier of Heroku's clock (as the last readable `Date` showed it) and the local
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    /// How far the local clock runs ahead of Heroku's (negative when behind), from the
    /// last readable `Date`; `None` while no listing had one.
    ahead: Option<chrono::Duration>,
    /// A listing was answered.
    listed: bool,
    /// The skew's warning was given.
    warned: bool,
}

impl ClockReport {
    /// Which clock, and what is worth knowing about it, in a few words.
    pub fn words(&self) -> String {
        let which = match self.source {
            Source::Heroku => "Heroku's, from the listings' `Date` header",
            Source::Local => "the local one",
        };
        match &self.note {
            Some(note) => format!("{which}; {note}"),
            None => which.to_string(),
        }
    }
}

impl Clock {
    /// Learns from one listing's `Date` header, read when the local clock said
    /// `received`. A missing or unreadable one teaches nothing: the clock keeps what an
    /// earlier listing showed, or the local clock when none did. Gives a warning the
    /// first time the clocks are found minutes apart.
    pub fn observe(&mut self, date: Option<&str>, received: DateTime<Utc>) -> Option<String> {
        self.listed = true;
        if let Some(heroku) = date.and_then(parse_http_date) {
            // `Date` has whole seconds and is stamped before the answer travels, so
            // Heroku's "now" comes out a little early: ages a little young, never old.
            self.ahead = Some(received - heroku);
        }
        let skew = self.ahead?.num_seconds();
        if skew.abs() <= WARN_SKEW_SECONDS || self.warned {
            return None;
        }
        self.warned = true;
        Some(skew_words(skew))
    }

    /// Now, by the earlier clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    /// The time on this clock when the local clock says `local`: Heroku's when the local
    /// clock runs ahead of it, else `local`.
    pub fn at(&self, local: DateTime<Utc>) -> DateTime<Utc> {
        let ahead = self.ahead.unwrap_or_default().max(chrono::Duration::zero());
        // A `Date` in year 1 is readable, and as far behind as a `Date` can be.
        local
            .checked_sub_signed(ahead)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// What the report says of the clock; `None` before any listing.
    pub fn report(&self) -> Option<ClockReport> {
        if !self.listed {
            return None;
        }
        let Some(ahead) = self.ahead else {
            return Some(ClockReport {
                source: Source::Local,
                skew_seconds: None,
                note: Some(
                    "the API's answers had no readable `Date` header, so ages are by the local clock"
                        .to_string(),
                ),
            });
        };
        let skew = ahead.num_seconds();
        // Within a second the two agree, as far as a `Date` of whole seconds can tell.
        let source = if skew < 0 {
            Source::Local
        } else {
            Source::Heroku
        };
        Some(ClockReport {
            source,
            skew_seconds: Some(skew),
            note: (skew.abs() > WARN_SKEW_SECONDS).then(|| skew_words(skew)),
        })
    }
}

/// How far apart the clocks are, and which one ages are measured by.
fn skew_words(skew: i64) -> String {
    // To the minute: a `Date` of whole seconds, read a moment after it was stamped,
    // makes two hours come out as 1h59m59s.
    let minutes = skew.unsigned_abs().saturating_add(30) / 60;
    let by = duration::format(std::time::Duration::from_secs(minutes * 60));
    if skew > 0 {
        format!("the local clock is {by} ahead of Heroku's")
    } else {
        format!(
            "the local clock is {by} behind Heroku's, so ages are by the local clock, the earlier of the two"
        )
    }
}

/// Which clock a run measured ages by, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockReport {
    pub source: Source,
    /// How far the local clock ran ahead of Heroku's (negative: behind), whole seconds;
    /// absent when no listing had a readable `Date`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew_seconds: Option<i64>,
    /// Said when the local clock was used for want of a `Date`, or the clocks are more
    /// than 5 minutes apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An HTTP `Date` (`Sun, 06 Nov 1994 08:49:37 GMT`), which RFC 2822's form covers.
fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn local() -> DateTime<Utc> {
        time("2026-11-27T12:00:00Z")
    }

    #[test]
    fn a_runner_ahead_measures_by_herokus_clock_and_warns_once() {
        let mut clock = Clock::default();
        let warning = clock.observe(Some("Thu, 26 Nov 2026 12:00:00 GMT"), local());
        assert_eq!(
            warning.as_deref(),
            Some("the local clock is 24h00m ahead of Heroku's")
        );
        assert_eq!(clock.at(local()), time("2026-11-26T12:00:00Z"));
        let report = clock.report().unwrap();
        assert_eq!(report.source, Source::Heroku);
        assert_eq!(report.skew_seconds, Some(86_400));
        assert_eq!(report.note, warning);
        assert_eq!(
            clock.observe(Some("Thu, 26 Nov 2026 12:00:00 GMT"), local()),
            None
        );
    }

    #[test]
    fn a_server_ahead_measures_by_the_local_clock() {
        for (date, words) in [
            ("Fri, 27 Nov 2026 14:00:00 GMT", "2h00m"),
            ("Sat, 27 Nov 2027 12:00:00 GMT", "365d00h"),
            ("Fri, 31 Dec 9999 23:59:59 GMT", "2912112d12h"),
            ("Fri, 31 Dec 99999 23:59:59 GMT", "35783937d12h"),
        ] {
            let mut clock = Clock::default();
            let warning = clock.observe(Some(date), local()).expect("a warning");
            assert_eq!(clock.at(local()), local(), "{date}");
            let report = clock.report().unwrap();
            assert_eq!(report.source, Source::Local, "{date}");
            assert!(report.skew_seconds.unwrap() < -7_000, "{date}");
            assert_eq!(
                warning,
                format!(
                    "the local clock is {words} behind Heroku's, so ages are by the local clock, the earlier of the two"
                )
            );
        }
    }

    #[test]
    fn a_skew_of_minutes_goes_unremarked() {
        let mut clock = Clock::default();
        assert_eq!(
            clock.observe(Some("Fri, 27 Nov 2026 11:56:00 GMT"), local()),
            None
        );
        assert_eq!(clock.report().unwrap().skew_seconds, Some(240));
        assert_eq!(clock.report().unwrap().note, None);
        assert_eq!(
            clock.observe(Some("Fri, 27 Nov 2026 12:04:00 GMT"), local()),
            None
        );
        let report = clock.report().unwrap();
        assert_eq!((report.source, report.note), (Source::Local, None));
        assert_eq!(clock.at(local()), local());
    }

    #[test]
    fn no_listing_no_clock_to_report() {
        assert_eq!(Clock::default().report(), None);
    }

    #[test]
    fn no_readable_date_falls_back_to_the_local_clock() {
        for date in [
            None,
            Some(""),
            Some("garbled"),
            Some("2026-11-27T12:00:00Z"),
            Some("Fri, 31 Dec 999999999999 23:59:59 GMT"),
        ] {
            let mut clock = Clock::default();
            assert_eq!(clock.observe(date, local()), None);
            assert_eq!(clock.at(local()), local(), "{date:?}");
            let report = clock.report().unwrap();
            assert_eq!(report.source, Source::Local, "{date:?}");
            assert_eq!(report.skew_seconds, None);
            assert!(report.note.unwrap().contains("by the local clock"));
        }
    }

    #[test]
    fn a_listing_without_a_date_keeps_what_an_earlier_one_showed() {
        let mut clock = Clock::default();
        clock.observe(Some("Thu, 26 Nov 2026 12:00:00 GMT"), local());
        clock.observe(None, local());
        assert_eq!(clock.report().unwrap().source, Source::Heroku);
        assert_eq!(clock.at(local()), time("2026-11-26T12:00:00Z"));
    }

    #[test]
    fn a_date_in_year_one_is_as_early_as_it_gets() {
        let mut clock = Clock::default();
        clock.observe(Some("Mon, 01 Jan 0001 00:00:00 GMT"), local());
        assert_eq!(clock.at(local()), time("0001-01-01T00:00:00Z"));
    }
}
