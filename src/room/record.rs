//! What the wait for room saw and decided: the gate fills it, the formatters read it.

use serde::Serialize;

use super::count::Room;
use super::leases::Lease;
use super::settings::Settings;
use crate::reap::record::Message;

/// How the wait for room ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// There was room, or this run held its room already.
    Admitted,
    /// No room in time, and `--if-no-room proceed`: the tests run anyway.
    Proceeded,
    /// No room in time (`--if-no-room fail`): exit 1.
    NoRoom,
    /// The reservation is more than the account holds beside its other apps: exit 1 at once.
    TooLarge,
    /// A signal, `--deadline`, or an error of Heroku's ended the wait.
    Stopped,
    /// Not looked at: a dry run, or a reaping that did not end well.
    NotChecked,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Admitted => "admitted",
            Outcome::Proceeded => "no room in time; proceeding",
            Outcome::NoRoom => "no room in time",
            Outcome::TooLarge => "the reservation never fits",
            Outcome::Stopped => "stopped while waiting",
            Outcome::NotChecked => "not counted",
        }
    }
}

/// What the gate saw and decided, for the report, the log and the job summary.
#[derive(Debug, Clone, Serialize)]
pub struct RoomReport {
    pub outcome: Outcome,
    /// Whether the run may start its tests with room for them: the `admitted` output.
    pub admitted: bool,
    /// The apps this run reserves.
    pub reserve_apps: usize,
    pub waited_seconds: f64,
    /// Looks at the account (and GitHub) taken.
    pub looks: u32,
    /// The count at the last look; absent when none was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<Room>,
    /// The runs that held room at the last look.
    pub held_by: Vec<Lease>,
    /// Why the leases were not read from GitHub at the last look, which then counted the
    /// apps alone (the plain wait) or the leases last read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_warning: Option<String>,
    /// In a sentence: why it ended so (worded by `report::words`, as the report's
    /// message is).
    pub reason: Message,
}

impl RoomReport {
    /// The gate did not look: `why` says so.
    pub fn not_checked(settings: &Settings, why: String) -> RoomReport {
        RoomReport {
            outcome: Outcome::NotChecked,
            admitted: false,
            reserve_apps: settings.reserve,
            waited_seconds: 0.0,
            looks: 0,
            room: None,
            held_by: Vec::new(),
            github_warning: None,
            reason: Message::Text(why),
        }
    }
}
