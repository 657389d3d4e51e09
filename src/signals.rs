//! SIGINT and SIGTERM (Ctrl-C on Windows) during a reap: the first stops the run
//! gently (no new DELETE, a grace for those in flight, then the report); a second ends
//! the process at once.

use std::time::Duration;

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
            if cancel.interrupted().is_some() {
                eprintln!(
                    "error: {} again: exiting at once, without the report",
                    signal.name()
                );
                std::process::exit(exit::code(Ending::Signal(signal)).into());
            }
            eprintln!(
                "{}: sending no new DELETE; those in flight have {} to answer, then the report follows (send it again to exit at once)",
                signal.name(),
                duration::format(grace)
            );
            cancel.interrupt(signal);
        }
    });
    Ok(())
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn register() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Interrupt {
        tokio::select! {
            _ = self.interrupt.recv() => Interrupt::Sigint,
            _ = self.terminate.recv() => Interrupt::Sigterm,
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
