//! The exit code, decided in one place from how a command ended. The "Exit codes" tables
//! of README.md and docs/cli.md, and `--help`, document these; `tests/it/exit_codes.rs`
//! drives each through the binary.

use crate::reap::cancel::Interrupt;
use crate::reap::record::{Report, Status};

pub const SUCCESS: u8 = 0;
/// Stale apps are left, or the program could not do its work for a reason that is not
/// the user's input.
pub const FAILED: u8 = 1;
/// Bad usage, configuration or credentials, found before any DELETE: nothing was deleted.
pub const USAGE: u8 = 2;
/// Stopped at `--reserve-rate-limit`.
pub const RESERVE: u8 = 3;
/// Another reaper held the lock past `--lock-timeout`.
pub const LOCK_TIMEOUT: u8 = 4;
/// Stopped at `--deadline`: stale apps may be left.
pub const DEADLINE: u8 = 5;
/// What a shell reports for a process that a signal ended: 128 + its number.
pub const SIGHUP: u8 = 129;
pub const SIGINT: u8 = 130;
pub const SIGTERM: u8 = 143;

/// How a command ended, as far as its exit code goes.
#[derive(Debug, Clone, Copy)]
pub enum Ending<'a> {
    /// `--help` or `--version` printed.
    Help,
    /// Refused before any request: bad usage, configuration or credentials.
    Usage,
    /// Something that is not the user's input went wrong before the run (no runtime).
    Broken,
    /// A reap ran, or stopped at the lock, and this is its report.
    Run(&'a Report),
    /// As `Run`, but the `--report` could not be written: a run that was otherwise
    /// fine fails, one that was not keeps its own code.
    Unreported(&'a Report),
    /// A second signal: the process ends at once, with no report.
    Signal(Interrupt),
    /// `demo`: whether the sandbox's record shows every stale app gone and no other.
    Demo { right: bool },
}

pub fn code(ending: Ending) -> u8 {
    match ending {
        Ending::Help | Ending::Demo { right: true } => SUCCESS,
        Ending::Usage => USAGE,
        Ending::Broken | Ending::Demo { right: false } => FAILED,
        Ending::Signal(signal) => of_signal(signal),
        Ending::Run(report) => of_run(report),
        Ending::Unreported(report) => match of_run(report) {
            SUCCESS => FAILED,
            code => code,
        },
    }
}

fn of_run(report: &Report) -> u8 {
    match report.status {
        Status::Done | Status::DryRun | Status::UnderLimit | Status::LockBusy => SUCCESS,
        Status::Failed | Status::LimitHeld => FAILED,
        Status::Refused => USAGE,
        // Exit 2 promises that nothing was deleted; a key rejected after some deletes
        // (revoked mid-run) is a failure whose deletes the report lists.
        Status::Unauthorized if report.deleted_any() => FAILED,
        Status::Unauthorized => USAGE,
        Status::ReserveReached => RESERVE,
        Status::LockTimeout => LOCK_TIMEOUT,
        Status::DeadlineReached => DEADLINE,
        Status::Interrupted => of_signal(report.signal.unwrap_or(Interrupt::Sigint)),
    }
}

fn of_signal(signal: Interrupt) -> u8 {
    match signal {
        Interrupt::Sigint => SIGINT,
        Interrupt::Sigterm => SIGTERM,
        Interrupt::Sighup => SIGHUP,
        // Not a signal: only a run's status (`DeadlineReached`) says the deadline passed.
        Interrupt::Deadline => DEADLINE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reap::plan::Verdict;
    use crate::reap::record::Outcome;
    use crate::reap::record::tests::entry;

    fn report(status: Status) -> Report {
        let mut report = Report::new(String::new(), String::new(), None, false);
        report.status = status;
        report
    }

    #[test]
    fn each_status_has_its_code() {
        let cases = [
            (Status::Done, 0),
            (Status::DryRun, 0),
            (Status::UnderLimit, 0),
            (Status::LockBusy, 0),
            (Status::Failed, 1),
            (Status::LimitHeld, 1),
            (Status::Refused, 2),
            (Status::Unauthorized, 2),
            (Status::ReserveReached, 3),
            (Status::LockTimeout, 4),
            (Status::DeadlineReached, 5),
            (Status::Interrupted, 130),
        ];
        for (status, expected) in cases {
            assert_eq!(code(Ending::Run(&report(status))), expected, "{status:?}");
        }
        let mut stopped = report(Status::Interrupted);
        stopped.signal = Some(Interrupt::Sigterm);
        assert_eq!(code(Ending::Run(&stopped)), 143);
        stopped.signal = Some(Interrupt::Sighup);
        assert_eq!(code(Ending::Run(&stopped)), 129);
        assert_eq!(code(Ending::Signal(Interrupt::Sigint)), 130);
        assert_eq!(code(Ending::Usage), 2);
        assert_eq!(code(Ending::Help), 0);
        assert_eq!(code(Ending::Demo { right: false }), 1);
    }

    #[test]
    fn a_report_not_written_fails_a_run_that_was_fine_and_keeps_any_other_code() {
        for (status, expected) in [
            (Status::Done, 1),
            (Status::DryRun, 1),
            (Status::LockBusy, 1),
            (Status::Failed, 1),
            (Status::ReserveReached, 3),
            (Status::DeadlineReached, 5),
        ] {
            assert_eq!(
                code(Ending::Unreported(&report(status))),
                expected,
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_key_rejected_after_a_delete_is_a_failure_not_bad_usage() {
        for (outcome, expected) in [
            (Outcome::Deleted, 1),
            (Outcome::DeletedResponseLost, 1),
            (Outcome::Unknown, 1),
            (Outcome::Failed, 2),
            (Outcome::NotAttempted, 2),
            (Outcome::Conflict, 2),
        ] {
            let mut rejected = report(Status::Unauthorized);
            rejected.apps = vec![entry("hatchet-t-1", 60, Verdict::Delete, "", Some(outcome))];
            assert_eq!(code(Ending::Run(&rejected)), expected, "{outcome:?}");
        }
    }
}
