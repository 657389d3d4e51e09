//! Whose clock ages are measured by. Apps' `created_at` is Heroku's time, so "now" is
//! Heroku's too: the `Date` header of each listing's answer. A runner whose clock is a
//! day ahead would otherwise see every app as a day old.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::duration;

/// A skew larger than this is worth a line in the report.
const NOTABLE_SKEW_SECONDS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The `Date` header of a listing's answer.
    Heroku,
    /// No listing had a readable `Date` header.
    Local,
}

/// Heroku's clock, as the local clock less the offset the last readable `Date` showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// How far the local clock runs ahead of Heroku's; negative when behind.
    ahead: chrono::Duration,
    /// `None` until a listing was answered.
    source: Option<Source>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock {
            ahead: chrono::Duration::zero(),
            source: None,
        }
    }
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
    /// earlier listing showed, or the local clock when none did.
    pub fn observe(&mut self, date: Option<&str>, received: DateTime<Utc>) {
        match date.and_then(parse_http_date) {
            Some(heroku) => {
                // `Date` has whole seconds and is stamped before the answer travels, so
                // it runs a little behind: ages come out a little young, never too old.
                self.ahead = received - heroku;
                self.source = Some(Source::Heroku);
            }
            None => {
                self.source.get_or_insert(Source::Local);
            }
        }
    }

    /// Now, by Heroku's clock when known.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    /// The time on this clock when the local clock says `local`.
    pub fn at(&self, local: DateTime<Utc>) -> DateTime<Utc> {
        local - self.ahead
    }

    /// What the report says of the clock; `None` before any listing.
    pub fn report(&self) -> Option<ClockReport> {
        let source = self.source?;
        let skew = self.ahead.num_seconds();
        let note = match source {
            Source::Local => Some(
                "the API's answers had no readable `Date` header, so ages are by the local clock"
                    .to_string(),
            ),
            Source::Heroku if skew.abs() > NOTABLE_SKEW_SECONDS => {
                let by = duration::format(std::time::Duration::from_secs(skew.unsigned_abs()));
                let way = if skew > 0 { "ahead of" } else { "behind" };
                Some(format!("the local clock is {by} {way} Heroku's"))
            }
            Source::Heroku => None,
        };
        Some(ClockReport {
            source,
            skew_seconds: (source == Source::Heroku).then_some(skew),
            note,
        })
    }
}

/// Which clock a run measured ages by, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockReport {
    pub source: Source,
    /// How far the local clock ran ahead of Heroku's (negative: behind), whole seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew_seconds: Option<i64>,
    /// Said when the local clock was used, or is off by more than a minute.
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
    fn a_date_header_sets_now_to_herokus_clock() {
        let mut clock = Clock::default();
        clock.observe(Some("Thu, 26 Nov 2026 12:00:00 GMT"), local());
        assert_eq!(clock.at(local()), time("2026-11-26T12:00:00Z"));
        let report = clock.report().unwrap();
        assert_eq!(report.source, Source::Heroku);
        assert_eq!(report.skew_seconds, Some(86_400));
        assert_eq!(
            report.note.as_deref(),
            Some("the local clock is 24h00m ahead of Heroku's")
        );
    }

    #[test]
    fn a_small_skew_goes_unremarked_and_a_behind_clock_says_so() {
        let mut clock = Clock::default();
        clock.observe(Some("Fri, 27 Nov 2026 11:59:30 GMT"), local());
        assert_eq!(clock.report().unwrap().skew_seconds, Some(30));
        assert_eq!(clock.report().unwrap().note, None);
        clock.observe(Some("Fri, 27 Nov 2026 12:05:00 GMT"), local());
        assert_eq!(
            clock.report().unwrap().note.as_deref(),
            Some("the local clock is 5m behind Heroku's")
        );
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
        ] {
            let mut clock = Clock::default();
            clock.observe(date, local());
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
}
