//! What a run is told: which apps, how many it may delete, how many may remain, and how
//! to go about it. `config` builds them from the command line; the engine and its ledger
//! read them.

use std::time::Duration;

use super::plan::{OnConflict, Policy};

#[derive(Debug, Clone)]
pub struct Options {
    pub policy: Policy,
    pub app_limit: Option<AppLimit>,
    pub on_conflict: OnConflict,
    pub dry_run: bool,
    /// `None`: no cap.
    pub max_deletes: Option<usize>,
    pub concurrency: usize,
    /// `--pipelines`: also reap orphaned pipelines, after the apps.
    pub pipelines: bool,
}

/// `--app-limit` and `--wait-for-room`.
#[derive(Debug, Clone, Copy)]
pub struct AppLimit {
    pub limit: usize,
    pub wait_for_room: Duration,
}
