//! What the engine and its ledger find, as facts with their numbers and no words: how
//! the rounds end (`Ended`), what stops them early (`Stop`, and the rule in `Halt`), and
//! what is worth a line on the way (`Note`). `report::words` words them.

use std::time::Duration;

use super::cancel::Interrupt;
use crate::heroku::ApiError;

/// How the rounds of deletes ended, when nothing stopped them early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every stale app is gone, left to a reaper seen deleting nearby, or failed (the
    /// report's counts say which); with `--app-limit`, there is room under it.
    Done,
    /// `--dry-run`: the plan is made, nothing was deleted.
    DryRun,
}

/// What stopped the rounds before their end.
#[derive(Debug)]
pub enum Stop {
    /// A rule of the run's.
    Halted(Halt),
    /// The API: the key rejected, the reserve reached, a listing that failed.
    Api(ApiError),
    /// A signal, or `--deadline`.
    Interrupted(Interrupt),
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Stop {
        Stop::Api(error)
    }
}

impl From<Halt> for Stop {
    fn from(halt: Halt) -> Stop {
        Stop::Halted(halt)
    }
}

/// The rule that stopped a run, with the numbers that tripped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// `--max-deletes`: the first plan would delete `stale` apps, more than `cap`, so
    /// nothing was deleted.
    Refused { stale: usize, cap: usize },
    /// `--max-deletes`: a later round's `more` stale apps would take the run past `cap`.
    PastCap { more: usize, cap: usize },
    /// `--max-deletes`: the apps deleted (or planned) and the pipelines to delete
    /// together are more than `cap`.
    PipelinesPastCap(PipelinesOverCap),
    /// This many deletes failed in a row; `last` is the last one's error.
    FailuresInARow { failures: usize, last: String },
    /// `--on-conflict stop-if-under-limit`: a conflict, and `present` matching apps are
    /// under `limit`.
    UnderLimit { present: usize, limit: usize },
    /// `--app-limit`: `present` matching apps remain, at or over `limit`.
    LimitHeld {
        present: usize,
        limit: usize,
        why: WhyHeld,
    },
}

/// `--max-deletes` counts apps and pipelines together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelinesOverCap {
    pub apps: usize,
    pub pipelines: usize,
    pub cap: usize,
}

/// Why no room will come under `--app-limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhyHeld {
    /// With no TTL, no app grows old enough: what may be deleted is gone.
    NothingAges,
    /// No young app of the account's is left to grow old: the rest are kept (team apps,
    /// other owners').
    RestKept,
    /// The oldest young app, `oldest`, passes the TTL in `wait`: after
    /// `--wait-for-room` runs out.
    WaitTooLong { oldest: String, wait: Duration },
}

/// Something worth a line while the run goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// `--dry-run`: a real run would refuse this plan ([`Halt::Refused`]).
    WouldRefuse { stale: usize, cap: usize },
    /// `--dry-run`: a real run would stop before the pipelines.
    WouldStopBeforePipelines(PipelinesOverCap),
    /// `--app-limit`: the rounds wait for room.
    WaitingForRoom(Waiting),
}

/// `present` matching apps, at or over `limit`: the rounds wait `wait` for the oldest
/// young app, `oldest`, to pass the TTL, and list again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub present: usize,
    pub limit: usize,
    pub wait: Duration,
    pub oldest: String,
}
