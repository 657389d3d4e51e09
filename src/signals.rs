//! What stops a reap from outside: SIGINT, SIGTERM and SIGHUP (Ctrl-C on Windows), and
//! `--deadline`. The first stops the run gently (no new DELETE, a grace for those in
//! flight, then the report); a signal after that ends the process at once.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::console;
use crate::duration;
use crate::exit::{self, Ending};
use crate::reap::cancel::{Cancel, Interrupt};

/// Starts watching; call from inside the runtime. Until this runs, a signal ends the
/// process the operating system's way, which is right while nothing has been sent.
pub fn watch(cancel: Cancel, grace: Duration) -> std::io::Result<()> {
    let mut signals = Signals::register()?;
    tokio::spawn(async move {
        loop {
            let signal = signals.next().await;
            if let Some(first) = cancel.interrupted() {
                let when = match first {
                    Interrupt::Deadline => " while stopping at `--deadline`",
                    _ => " again",
                };
                console::err(&format!(
                    "error: {}{when}: exiting at once, without the report",
                    signal.name()
                ));
                std::process::exit(exit::code(Ending::Signal(signal)).into());
            }
            console::err(&format!(
                "{}: sending no new DELETE; those in flight have {} to answer, then the report follows (send it again to exit at once)",
                signal.name(),
                duration::format(grace)
            ));
            cancel.interrupt(signal);
        }
    });
    Ok(())
}

/// At `at`, `deadline` after the run started, stops it as a signal would. Call from
/// inside the runtime; dropping what it returns ends the wait.
pub fn deadline(cancel: Cancel, at: Instant, deadline: Duration, grace: Duration) -> JoinSet<()> {
    let mut timer = JoinSet::new();
    timer.spawn(async move {
        tokio::time::sleep_until(at.into()).await;
        if cancel.interrupted().is_none() {
            console::err(&format!(
                "`--deadline {}` passed: sending no new request; DELETEs in flight have {} to answer, then the report follows",
                duration::format_exact(deadline),
                duration::format(grace)
            ));
            cancel.interrupt(Interrupt::Deadline);
        }
    });
    timer
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn register() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Interrupt {
        tokio::select! {
            _ = self.interrupt.recv() => Interrupt::Sigint,
            _ = self.terminate.recv() => Interrupt::Sigterm,
            _ = self.hangup.recv() => Interrupt::Sighup,
        }
    }
}

/// Windows has Ctrl-C only.
#[cfg(windows)]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
}

#[cfg(windows)]
impl Signals {
    fn register() -> std::io::Result<Signals> {
        Ok(Signals {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    async fn next(&mut self) -> Interrupt {
        self.ctrl_c.recv().await;
        Interrupt::Sigint
    }
}
